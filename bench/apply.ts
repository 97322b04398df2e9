// apply against the kernel's how-tos and against hand-typed configfs work, on the fake kernel:
// 1. the mutating operations (mkdir, write, ln -s, rm, rmdir) apply issues for each how-to
//    config, over the how-to's own steps (aim 1.00: nothing more than a person types);
// 2. probe + plan + apply of a large config (LX2160A: six controllers, 6 linked and 60 unlinked
//    functions) over replaying the same mutating operations straight into a fresh fake kernel,
//    timed in this run (target ≤ 4×: reading the board first and every read-back cost that much at most).
import { createFakeKernel, type FakeKernel } from '../src/fake/index.js';
import { loadConfig } from '../src/config/load.js';
import { configSchema, type Config } from '../src/config/schema.js';
import { planFor } from '../src/plan/converge.js';
import { apply } from '../src/plan/apply.js';
import { median } from './lib/timing.js';

const MUTATING = new Set(['write', 'mkdir', 'rmdir', 'symlink', 'unlink']);

/** The how-tos' own steps (Documentation/PCI/endpoint/*-howto.rst), counted from their text. */
const HOWTOS: { file: string; board: string; steps: number; what: string }[] = [
  { file: 'examples/pci-epf-test.yaml', board: 'qemu-virt', steps: 7, what: 'pci-test-howto: mkdir, 4 attributes, ln -s, start' },
  { file: 'examples/pci-epf-vntb.yaml', board: 'qemu-virt', steps: 13, what: 'pci-vntb-howto: mkdir, 10 attributes, ln -s, start' },
  { file: 'examples/ntb-pair.yaml', board: 'ls1028a', steps: 12, what: 'pci-ntb-howto: mkdir, 7 attributes, 2 ln -s, 2 starts' },
];

async function applied(k: FakeKernel, config: Config): Promise<number> {
  const from = k.opLog.length;
  const { plan } = await planFor(k, config, new Set());
  const r = await apply(k, plan);
  if (!r.ok) throw new Error(`apply failed: ${r.failure?.message}`);
  return k.opLog.slice(from).filter((e) => MUTATING.has(e.op)).length;
}

function largeConfig(): Config {
  const epcs = ['3400000', '3500000', '3600000', '3700000', '3800000', '3900000'].map((a) => `${a}.pcie-ep`);
  const header = { vendorid: 0x1957, deviceid: 0x8d80 };
  return configSchema.parse({
    version: 1,
    controllers: Object.fromEntries(epcs.map((e) => [e, { start: true }])),
    functions: [
      ...epcs.map((e, i) => ({ driver: 'pci_epf_test', name: `linked${i}`, controller: e, header, msi_interrupts: 32, msix_interrupts: 64 })),
      ...Array.from({ length: 60 }, (_, i) => ({ driver: 'pci_epf_test', name: `spare${i}`, header, msi_interrupts: 1 + (i % 32) })),
    ],
  });
}

export async function run(): Promise<{ name: string; ratio: number; target: number; detail: string }[]> {
  const rows = [];
  for (const h of HOWTOS) {
    const n = await applied(createFakeKernel({ board: h.board }), await loadConfig(h.file));
    rows.push({ name: `apply of ${h.file}: configfs operations over the how-to's steps`, ratio: n / h.steps, target: 1, detail: `${n} mutating operations; ${h.what} = ${h.steps}` });
  }

  const config = largeConfig();
  // The hand-typed baseline: the same mutating operations, replayed without reading anything.
  const reference = createFakeKernel({ board: 'lx2160a' });
  const from = reference.opLog.length;
  await applied(reference, config);
  const script = reference.opLog.slice(from).filter((e) => MUTATING.has(e.op));
  const replay = async (): Promise<void> => {
    const k = createFakeKernel({ board: 'lx2160a' });
    await k.exists('/'); // booted
    for (const e of script) {
      if (e.op === 'mkdir') await k.mkdir(e.path);
      else if (e.op === 'write') await k.write(e.path, e.data ?? '');
      else if (e.op === 'symlink') await k.symlink(e.dest!, e.path);
      else if (e.op === 'unlink') await k.unlink(e.path);
      else await k.rmdir(e.path);
    }
  };
  const ours = async (): Promise<void> => {
    const k = createFakeKernel({ board: 'lx2160a' });
    await k.exists('/');
    await applied(k, config);
  };
  for (let i = 0; i < 3; i++) {
    await replay();
    await ours();
  }
  const base: number[] = [];
  const mine: number[] = [];
  for (let i = 0; i < 11; i++) {
    let t = process.hrtime.bigint();
    await replay();
    base.push(Number(process.hrtime.bigint() - t) / 1e6);
    t = process.hrtime.bigint();
    await ours();
    mine.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const b = median(base);
  const m = median(mine);
  rows.push({
    name: 'probe + plan + apply of a 66-function LX2160A config over replaying its operations by hand',
    ratio: m / b,
    target: 4,
    detail: `${m.toFixed(1)} ms vs ${b.toFixed(1)} ms for ${script.length} mutating operations (median of 11)`,
  });
  return rows;
}
