// Regenerates test/fixtures/sysroot/: each built-in board recorded with `epctl snapshot`'s own
// code from the fake kernel, plus variants for the failure classes probe must report well.
// Run: node scripts/run-ts.mjs scripts/fixtures.ts
import fs from 'node:fs/promises';
import path from 'node:path';
import { BOARDS } from '../src/boards/index.js';
import type { BoardProfile } from '../src/boards/types.js';
import { createFakeKernel } from '../src/fake/index.js';
import type { FakeKernelOptions } from '../src/fake/api.js';
import { snapshot } from '../src/snapshot/record.js';
import { str } from '../src/devicetree/spec.js';

export const FIXTURES = path.resolve('test/fixtures/sysroot');

/** The i.MX95 as first boot usually finds it: EP nodes disabled, so no controller probes. */
function withDisabledEpNodes(board: BoardProfile): BoardProfile {
  const soc = board.dt.children['soc']!;
  const children = Object.fromEntries(
    Object.entries(soc.children).map(([name, n]) => [name, name.startsWith('pcie-ep@') ? { ...n, props: { ...n.props, status: str('disabled') } } : n]),
  );
  return { ...board, name: `${board.name}-ep-disabled`, controllers: [], dt: { ...board.dt, children: { ...board.dt.children, soc: { ...soc, children } } } };
}

export const VARIANTS: Record<string, FakeKernelOptions> = {
  ...Object.fromEntries(Object.keys(BOARDS).map((name) => [name, { board: name }])),
  // Debian's 6.12 arm64 kernel: configfs mounts, but there is no pci_ep (observed; PCI_ENDPOINT_CONFIGFS unset).
  'qemu-virt-6.12-no-pci-ep': { board: 'qemu-virt', kernel: '6.12', config: { PCI_ENDPOINT_CONFIGFS: 'n', PCI_ENDPOINT_MSI_DOORBELL: 'n' } },
  'qemu-virt-configfs-unmounted': { board: 'qemu-virt', configfsMounted: false },
  'imx95-ep-disabled': { board: withDisabledEpNodes(BOARDS['imx95']!) },
  'rk3588-6.12': { board: 'rk3588-msi-map', kernel: '6.12' },
};

export async function main(args: string[]): Promise<number> {
  const only = new Set(args);
  await fs.mkdir(FIXTURES, { recursive: true });
  for (const [name, opts] of Object.entries(VARIANTS)) {
    if (only.size && !only.has(name)) continue;
    const file = path.join(FIXTURES, `${name}.tar.gz`);
    await fs.rm(file, { force: true });
    const r = await snapshot(createFakeKernel(opts), file);
    console.log(`${name}: ${r.files} files, ${r.symlinks} symlinks, ${r.directories} directories`);
  }
  return 0;
}
