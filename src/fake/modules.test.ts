// The NVMe endpoint's modules in the fake (modules.ts): nvmet, nvmet_pci_epf and null_blk built
// in or as modules, modprobe with its dependency, the Kconfig bound of NVME_TARGET_PCI_EPF, and
// loaded modules kept across --mock-state.
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createFakeKernel, loadFakeKernel } from './index.js';
import type { FakeKernel } from './api.js';
import { fakeStateSchema } from './state-schema.js';
import { boardNames, getBoard } from '../boards/index.js';
import { parseKernelConfig } from '../procfs/kconfig.js';

const CFS = '/sys/kernel/config';
const MODULAR = { NVME_TARGET: 'm', NVME_TARGET_PCI_EPF: 'm', BLK_DEV_NULL_BLK: 'm' } as const;

const config = async (k: FakeKernel): Promise<Map<string, string>> => parseKernelConfig(gunzipSync(await k.read('/proc/config.gz')).toString('latin1'));
const code = async (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));

async function logOf(fake: FakeKernel, call: () => Promise<unknown>): Promise<string[]> {
  const before = fake.dmesg().length;
  await call();
  return fake.dmesg().slice(before);
}

describe('nvmet, nvmet_pci_epf and null_blk as modules', () => {
  it('modprobe nvmet makes /sys/kernel/config/nvmet appear, silently', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', config: MODULAR });
    expect(await k.readdir(CFS)).not.toContain('nvmet');
    expect(await logOf(k, () => k.loadModule('nvmet'))).toEqual([]);
    expect(await k.readdir(`${CFS}/nvmet`)).toEqual(['discovery_nqn', 'hosts', 'ports', 'subsystems']);
    expect(k.changedBoard()).toBe(true);
  });

  it('modprobe null_blk creates /dev/nullb0 and logs what null_init and null_add_dev print', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', config: MODULAR });
    expect(await k.exists('/dev/nullb0')).toBe(false);
    expect(await logOf(k, () => k.loadModule('null_blk'))).toEqual(['null_blk: disk nullb0 created', 'null_blk: module loaded']);
    expect((await k.lstat('/dev/nullb0')).mode).toBe(0o600);
    // Loaded already: modprobe does nothing and says nothing.
    expect(await logOf(k, () => k.loadModule('null_blk'))).toEqual([]);
  });

  it('modprobe nvmet_pci_epf loads nvmet first; its function group and the nvmet tree appear', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', config: MODULAR });
    expect(await k.readdir(`${CFS}/pci_ep/functions`)).not.toContain('nvmet_pci_epf');
    await k.loadModule('nvmet_pci_epf');
    expect(await k.readdir(`${CFS}/pci_ep/functions`)).toContain('nvmet_pci_epf');
    expect(await k.readdir(CFS)).toContain('nvmet');
    expect(await k.lstat('/sys/bus/pci-epf/drivers/nvmet_pci_epf/module')).toMatchObject({ kind: 'symlink' });
  });

  it('a namespace on /dev/nullb0 enables only once null_blk is loaded', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', config: MODULAR });
    await k.loadModule('nvmet');
    const ns = `${CFS}/nvmet/subsystems/nqn.test/namespaces/1`;
    await k.mkdir(`${CFS}/nvmet/subsystems/nqn.test`);
    await k.mkdir(ns);
    await k.write(`${ns}/device_path`, '/dev/nullb0\n');
    expect(await code(k.write(`${ns}/enable`, '1\n'))).toBe('ENOENT');
    await k.loadModule('null_blk');
    expect(await code(k.write(`${ns}/enable`, '1\n'))).toBe('ok');
  });

  it('built in (=y, qemu-virt as the lane builds it): modprobe succeeds and changes nothing', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' });
    for (const m of ['nvmet', 'null_blk', 'nvmet_pci_epf']) expect(await logOf(k, () => k.loadModule(m))).toEqual([]);
    expect(k.changedBoard()).toBe(false);
  });

  it('not built (=n): modprobe says the module is not found', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', config: { BLK_DEV_NULL_BLK: 'n', NVME_TARGET: 'n' } });
    for (const m of ['null_blk', 'nvmet', 'nvmet_pci_epf'])
      await expect(k.loadModule(m)).rejects.toMatchObject({ code: 'ENOENT', hint: `modprobe: FATAL: Module ${m} not found in directory /lib/modules/7.3.4` });
  });

  it('loaded modules survive the --mock-state round trip, and the state passes its schema', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', config: MODULAR });
    await k.loadModule('nvmet_pci_epf');
    await k.loadModule('null_blk');
    const state = JSON.parse(JSON.stringify(k.toState()));
    expect(fakeStateSchema(boardNames()).safeParse(state).success).toBe(true);
    const again = loadFakeKernel(state);
    expect(await again.readdir(CFS)).toContain('nvmet');
    expect(await again.exists('/dev/nullb0')).toBe(true);
    expect(await again.readdir(`${CFS}/pci_ep/functions`)).toContain('nvmet_pci_epf');
    // Loaded already in the saved board: nothing new is logged.
    expect(await logOf(again, () => again.loadModule('null_blk'))).toEqual([]);
  });

  it('a state file naming a module the fake does not model is refused', () => {
    const state = JSON.parse(JSON.stringify(createFakeKernel({ board: 'qemu-virt' }).toState()));
    state.model.modules = ['nvme_loop'];
    expect(fakeStateSchema(boardNames()).safeParse(state).success).toBe(false);
  });
});

describe('kernelConfig keeps NVME_TARGET_PCI_EPF within NVME_TARGET (drivers/nvme/target/Kconfig)', () => {
  it('NVME_TARGET=m bounds a =y nvmet_pci_epf to =m', async () => {
    const c = await config(createFakeKernel({ board: 'qemu-virt', config: { NVME_TARGET: 'm' } }));
    expect([c.get('NVME_TARGET'), c.get('NVME_TARGET_PCI_EPF')]).toEqual(['m', 'm']);
  });

  it('NVME_TARGET=n leaves no nvmet_pci_epf', async () => {
    const c = await config(createFakeKernel({ board: 'qemu-virt', config: { NVME_TARGET: 'n' } }));
    expect(c.get('NVME_TARGET_PCI_EPF')).toBe('n');
  });

  it('NVME_TARGET unset follows what nvmet_pci_epf needed', async () => {
    const board = getBoard('qemu-virt');
    const kernelConfig = { ...board.kernelConfig };
    delete (kernelConfig as Record<string, unknown>)['NVME_TARGET'];
    for (const epf of ['y', 'm'] as const) {
      const c = await config(createFakeKernel({ board: { ...board, kernelConfig }, config: { NVME_TARGET_PCI_EPF: epf } }));
      expect(c.get('NVME_TARGET')).toBe(epf);
    }
  });

  it('a release before 6.14 has no NVME_TARGET_PCI_EPF, whatever an override says', async () => {
    const c = await config(createFakeKernel({ board: 'qemu-virt', kernel: '6.12', config: { NVME_TARGET_PCI_EPF: 'y' } }));
    expect(c.has('NVME_TARGET_PCI_EPF')).toBe(false);
  });
});
