// The NVMe endpoint in the fake (nvmet-configfs.ts, functions/nvmet-pci-epf.ts): the set-up the
// lane ran on 7.3.4 (its recorded trace replays in src/lane/fixture.test.ts) read here as
// behaviours — the echo -n trap, mdts_kb's edges, each epc_init failure and its log lines, EBUSY
// while the controller lives, the shared header, the two observed oopses, the teardown order —
// plus what only the source shows, version gating and --mock-state round trips.
import { describe, expect, it } from 'vitest';
import { createFakeKernel, loadFakeKernel } from './index.js';
import type { FakeKernel } from './api.js';
import { getBoard } from '../boards/index.js';
import type { BoardProfile } from '../boards/types.js';
import { fakeStateSchema } from './state-schema.js';
import { boardNames } from '../boards/index.js';
import { KernelOops } from '../kernel/errors.js';

const CFS = '/sys/kernel/config';
const NQN = 'nqn.2026-11.io.epctl:test';
const SUB = `${CFS}/nvmet/subsystems/${NQN}`;
const PORT = `${CFS}/nvmet/ports/1`;
const FN = `${CFS}/pci_ep/functions/nvmet_pci_epf/f0`;
const LINK = `${CFS}/pci_ep/controllers/7e000000.pcie-ep/f0`;
const DEV = 'nvmet_pci_epf nvmet_pci_epf.0: ';

const text = async (fake: FakeKernel, p: string): Promise<string> => Buffer.from(await fake.read(p)).toString('latin1');
const code = async (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));

/** The log lines a call printed. */
async function logOf(fake: FakeKernel, call: () => Promise<unknown>): Promise<string[]> {
  const before = fake.dmesg().length;
  await call();
  return fake.dmesg().slice(before);
}

/** The documented nvmet side: subsystem (any host, vendor ids, 4 queue pairs), namespace on nullb0, port 1 of trtype pci. */
async function nvmetSide(fake: FakeKernel, opts: { link?: boolean; anyHost?: boolean } = {}): Promise<void> {
  await fake.mkdir(SUB);
  if (opts.anyHost !== false) await fake.write(`${SUB}/attr_allow_any_host`, '1\n');
  await fake.write(`${SUB}/attr_vendor_id`, '0x1b36\n');
  await fake.write(`${SUB}/attr_subsys_vendor_id`, '0x1af4\n');
  await fake.write(`${SUB}/attr_qid_max`, '4\n');
  await fake.mkdir(`${SUB}/namespaces/1`);
  await fake.write(`${SUB}/namespaces/1/device_path`, '/dev/nullb0\n');
  await fake.write(`${SUB}/namespaces/1/enable`, '1\n');
  await fake.mkdir(PORT);
  await fake.write(`${PORT}/addr_trtype`, 'pci\n');
  if (opts.link !== false) await fake.symlink(SUB, `${PORT}/subsystems/${NQN}`);
}

/** The pci_ep side: f0 with 8 MSI-X vectors, portid 1 and the NQN written with its newline. */
async function epfSide(fake: FakeKernel, opts: { msix?: string; msi?: string; nqn?: string } = {}): Promise<void> {
  await fake.mkdir(FN);
  await fake.write(`${FN}/msix_interrupts`, opts.msix ?? '8\n');
  if (opts.msi) await fake.write(`${FN}/msi_interrupts`, opts.msi);
  await fake.write(`${FN}/nvme/portid`, '1\n');
  await fake.write(`${FN}/nvme/subsysnqn`, opts.nqn ?? `${NQN}\n`);
}

const boot = (kernel = '7.3'): FakeKernel => createFakeKernel({ board: 'qemu-virt', kernel });

describe('nvmet configfs (drivers/nvme/target/configfs.c, observed 7.3.4)', () => {
  it('a subsystem, a namespace and a port read back as the lane saw them', async () => {
    const fake = boot();
    expect(await fake.readdir(`${CFS}/nvmet`)).toEqual(['discovery_nqn', 'hosts', 'ports', 'subsystems']);
    expect((await fake.lstat('/dev/nullb0')).mode).toBe(0o600);
    await fake.mkdir(SUB);
    expect(await text(fake, `${SUB}/attr_vendor_id`)).toBe('0x0\n');
    expect(await text(fake, `${SUB}/attr_model`)).toBe('Linux\n');
    expect(await text(fake, `${SUB}/attr_qid_max`)).toBe('128\n');
    expect(await text(fake, `${SUB}/attr_firmware`)).toBe('7.3.4\n');
    expect(await code(fake.read(`${SUB}/attr_pi_enable`))).toBe('ENOENT');
    expect(await code(fake.write(`${SUB}/attr_qid_max`, '0\n'))).toBe('EINVAL');
    expect(await logOf(fake, () => fake.mkdir(`${SUB}/namespaces/1`))).toEqual([`nvmet: adding nsid 1 to subsystem ${NQN}`]);
    expect(await text(fake, `${SUB}/namespaces/1/device_path`)).toBe('(null)\n');
    expect(await code(fake.write(`${SUB}/namespaces/1/enable`, '1\n'))).toBe('EINVAL');
    await fake.write(`${SUB}/namespaces/1/device_path`, '/dev/nullb0\n');
    await fake.write(`${SUB}/namespaces/1/enable`, '1\n');
    expect(await code(fake.write(`${SUB}/namespaces/1/device_path`, '/dev/nullb0\n'))).toBe('EBUSY');
    await fake.mkdir(PORT);
    expect(await text(fake, `${PORT}/addr_trtype`)).toBe('\n');
    expect(await text(fake, `${PORT}/addr_treq`)).toBe('not specified\n');
    expect(await logOf(fake, () => code(fake.write(`${PORT}/addr_trtype`, 'nonsense\n')))).toEqual(["nvmet: Invalid value 'nonsense\n' for trtype"]);
    await fake.write(`${PORT}/addr_trtype`, 'pci\n');
    await fake.symlink(SUB, `${PORT}/subsystems/${NQN}`);
    expect(await fake.readlink(`${PORT}/subsystems/${NQN}`)).toBe(`../../../../nvmet/subsystems/${NQN}`);
    // An enabled port refuses its attributes, with the caller named.
    expect(await logOf(fake, () => code(fake.write(`${PORT}/addr_trtype`, 'pci\n')))).toEqual(["nvmet: Disable port '1' before changing attribute in nvmet_addr_trtype_store"]);
    expect(await code(fake.write(`${PORT}/addr_trtype`, 'pci\n'))).toBe('EACCES');
  });

  it('a namespace on a device that does not exist is refused [source]', async () => {
    const fake = boot();
    await fake.mkdir(SUB);
    await fake.mkdir(`${SUB}/namespaces/1`);
    await fake.write(`${SUB}/namespaces/1/device_path`, '/dev/nullb7\n');
    expect(await code(fake.write(`${SUB}/namespaces/1/enable`, '1\n'))).toBe('ENOENT');
  });

  it('a namespace on a path that exists but is no block device: the file open fails with its own errno, one log line (observed 7.3.4)', async () => {
    const fake = boot();
    await fake.mkdir(SUB);
    await fake.mkdir(`${SUB}/namespaces/1`);
    const tries: [string, string, string[]][] = [
      ['/dev/nullb7', 'ENOENT', ['nvmet: failed to open block device /dev/nullb7: (-2)', 'nvmet: failed to open file /dev/nullb7: (-2)']],
      // lookup_bdev's ENOTBLK is not logged; filp_open(O_RDWR) of a directory is EISDIR.
      [CFS, 'EISDIR', [`nvmet: failed to open file ${CFS}: (-21)`]],
      // A character device opens, then fails the O_DIRECT check (fs/open.c do_dentry_open).
      ['/dev/kmsg', 'EINVAL', ['nvmet: failed to open file /dev/kmsg: (-22)']],
    ];
    for (const [dev, errno, log] of tries) {
      await fake.write(`${SUB}/namespaces/1/device_path`, `${dev}\n`);
      let got = '';
      expect(await logOf(fake, async () => (got = await code(fake.write(`${SUB}/namespaces/1/enable`, '1\n'))))).toEqual(log);
      expect(got).toBe(errno);
      expect(await text(fake, `${SUB}/namespaces/1/enable`)).toBe('0\n');
    }
  });

  it('rmdir in the wrong order: a linked subsystem is EBUSY, a port holding a link ENOTEMPTY', async () => {
    const fake = boot();
    await nvmetSide(fake);
    expect(await code(fake.rmdir(SUB))).toBe('EBUSY');
    expect(await code(fake.rmdir(PORT))).toBe('ENOTEMPTY');
    await fake.unlink(`${PORT}/subsystems/${NQN}`);
    expect(await code(fake.rmdir(SUB))).toBe('ENOTEMPTY'); // namespaces/1
    await fake.rmdir(`${SUB}/namespaces/1`);
    await fake.rmdir(PORT);
    await fake.rmdir(SUB);
    expect(await fake.readdir(`${CFS}/nvmet/subsystems`)).toEqual([]);
  });

  it('a port without a transport is not enabled by a link; 6.12 has no pci trtype (observed 6.12.117)', async () => {
    const fake = boot();
    await fake.mkdir(SUB);
    await fake.mkdir(PORT);
    expect(await code(fake.symlink(SUB, `${PORT}/subsystems/${NQN}`))).toBe('EINVAL');
    const old = boot('6.12');
    expect(await old.readdir(`${CFS}/pci_ep/functions`)).not.toContain('nvmet_pci_epf');
    await old.mkdir(SUB);
    await old.mkdir(PORT);
    expect(await logOf(old, () => code(old.write(`${PORT}/addr_trtype`, 'pci\n')))).toEqual(["nvmet: Invalid value 'pci\n' for trtype"]);
    expect(await logOf(old, () => code(old.symlink(SUB, `${PORT}/subsystems/${NQN}`)))).toEqual(['nvmet: transport type 0 not supported']);
    // Nor the vendor-id attributes, param_mdts, resv_enable; version 1.3.
    expect(await code(old.read(`${SUB}/attr_vendor_id`))).toBe('ENOENT');
    expect(await text(old, `${SUB}/attr_version`)).toBe('1.3\n');
    expect(await code(old.read(`${PORT}/param_mdts`))).toBe('ENOENT');
  });

  it('hosts and allowed_hosts: links of the right kind only, and not beside allow_any_host [source]', async () => {
    const fake = boot();
    const HOST = `${CFS}/nvmet/hosts/nqn.2026-11.io.epctl:host`;
    await fake.mkdir(SUB);
    await fake.mkdir(HOST);
    await fake.mkdir(PORT);
    await fake.write(`${PORT}/addr_trtype`, 'pci\n');
    expect(await logOf(fake, () => code(fake.symlink(HOST, `${PORT}/subsystems/h`)))).toEqual(['nvmet: can only link subsystems into the subsystems dir.!']);
    await fake.symlink(HOST, `${SUB}/allowed_hosts/h`);
    expect(await fake.readlink(`${SUB}/allowed_hosts/h`)).toBe('../../../../nvmet/hosts/nqn.2026-11.io.epctl:host');
    expect(await logOf(fake, () => code(fake.write(`${SUB}/attr_allow_any_host`, '1\n')))).toEqual(["nvmet: Can't set allow_any_host when explicit hosts are set!"]);
    expect(await code(fake.rmdir(HOST))).toBe('EBUSY');
    expect(await code(fake.rmdir(SUB))).toBe('ENOTEMPTY');
    await fake.unlink(`${SUB}/allowed_hosts/h`);
    await fake.rmdir(HOST);
    await fake.rmdir(SUB);
    expect(await code(fake.mkdir(`${CFS}/nvmet/subsystems/nqn.2014-08.org.nvmexpress.discovery`))).toBe('EINVAL');
    expect(await code(fake.mkdir(`${CFS}/nvmet/ports/x`))).toBe('EINVAL');
  });

  it('boards without CONFIG_NVME_TARGET have no nvmet tree', async () => {
    const fake = createFakeKernel({ board: 'imx95', kernel: '7.3' });
    expect(await fake.readdir(CFS)).toEqual(['pci_ep']);
  });
});

describe('nvmet_pci_epf functions (drivers/nvme/target/pci-epf.c, observed 7.3.4)', () => {
  it('the nvme/ group: defaults, the echo -n trap and mdts_kb edges', async () => {
    const fake = boot();
    await fake.mkdir(FN);
    expect(await fake.readdir(`${FN}/nvme`)).toEqual(['mdts_kb', 'portid', 'subsysnqn']);
    expect(await text(fake, `${FN}/baseclass_code`)).toBe('0x0001\n');
    expect(await text(fake, `${FN}/progif_code`)).toBe('0x0002\n');
    expect(await text(fake, `${FN}/nvme/subsysnqn`)).toBe('\n');
    expect(await code(fake.write(`${FN}/nvme/portid`, '65536\n'))).toBe('EINVAL');
    await fake.write(`${FN}/nvme/subsysnqn`, NQN);
    expect(await text(fake, `${FN}/nvme/subsysnqn`)).toBe(`${NQN.slice(0, -1)}\n`);
    await fake.write(`${FN}/nvme/subsysnqn`, `${NQN}\n`);
    expect(await text(fake, `${FN}/nvme/subsysnqn`)).toBe(`${NQN}\n`);
    const mdts = async (v: string): Promise<string> => ((await code(fake.write(`${FN}/nvme/mdts_kb`, v))) === 'ok' ? text(fake, `${FN}/nvme/mdts_kb`) : code(fake.write(`${FN}/nvme/mdts_kb`, v)));
    expect([await mdts('0\n'), await mdts('4\n'), await mdts('3\n'), await mdts('4096\n'), await mdts('-1\n')]).toEqual(['512\n', '4\n', 'EINVAL', '2048\n', 'EINVAL']);
  });

  it('each epc_init failure returns 0 from ln -s and only logs', async () => {
    const fake = boot();
    await nvmetSide(fake, { link: false });
    await epfSide(fake);
    // The port exists but has no subsystem: never added to the transport.
    expect(await logOf(fake, () => fake.symlink(FN, LINK))).toEqual([`${DEV}PCI endpoint controller supports MSI-X, 8 vectors`, `${DEV}Port not found`, `${DEV}Failed to create NVMe PCI target controller (err=-22)`]);
    await fake.write(`${FN}/nvme/portid`, '1\n'); // no controller: no EBUSY
    await fake.unlink(LINK);
    await fake.symlink(SUB, `${PORT}/subsystems/${NQN}`);
    await fake.write(`${FN}/msix_interrupts`, '1\n');
    expect(await logOf(fake, () => fake.symlink(FN, LINK))).toEqual([`${DEV}PCI endpoint controller supports MSI-X, 1 vectors`, `${DEV}Invalid maximum number of queues 1`]);
    await fake.unlink(LINK);
    await fake.write(`${FN}/msix_interrupts`, '8\n');
    await fake.write(`${FN}/nvme/subsysnqn`, NQN); // echo -n
    expect(await logOf(fake, () => fake.symlink(FN, LINK))).toEqual([
      `${DEV}PCI endpoint controller supports MSI-X, 8 vectors`,
      `nvmet: connect request for invalid subsystem ${NQN.slice(0, -1)}!`,
      `${DEV}Failed to create target controller`,
      `${DEV}Failed to create NVMe PCI target controller (err=-12)`,
    ]);
    await fake.unlink(LINK);
  });

  it('a subsystem that does not allow any host refuses the random host NQN [source]', async () => {
    const fake = boot();
    await nvmetSide(fake, { anyHost: false });
    await epfSide(fake);
    const log = await logOf(fake, () => fake.symlink(FN, LINK));
    expect(log[1]).toMatch(new RegExp(`^nvmet: connect by host nqn\\.2014-08\\.org\\.nvmexpress:uuid:[0-9a-f-]{36} for subsystem ${NQN} not allowed$`));
    expect(log.slice(2)).toEqual([`${DEV}Failed to create target controller`, `${DEV}Failed to create NVMe PCI target controller (err=-12)`]);
  });

  it('the working controller: its log, the shared header overwritten, EBUSY, and the teardown', async () => {
    const fake = boot();
    await nvmetSide(fake);
    await epfSide(fake);
    const log = await logOf(fake, () => fake.symlink(FN, LINK));
    expect(log[1]).toMatch(new RegExp(`^nvmet: Created nvm controller 1 for subsystem ${NQN} for NQN nqn\\.2014-08\\.org\\.nvmexpress:uuid:[0-9a-f-]{36}\\.$`));
    expect([log[0], ...log.slice(2)]).toEqual([
      `${DEV}PCI endpoint controller supports MSI-X, 8 vectors`,
      `${DEV}New PCI ctrl "${NQN}", 4 I/O queues, mdts 524288 B`,
      `${DEV}DMA not supported, falling back to MMIO`,
      `${DEV}PCI link up`,
    ]);
    for (const a of ['portid', 'subsysnqn', 'mdts_kb']) expect(await code(fake.write(`${FN}/nvme/${a}`, '1\n'))).toBe('EBUSY');
    expect(await text(fake, `${FN}/vendorid`)).toBe('0x1b36\n');
    expect(await text(fake, `${FN}/subsys_vendor_id`)).toBe('0x1af4\n');
    // Every nvmet_pci_epf function shares the one header.
    await fake.mkdir(`${CFS}/pci_ep/functions/nvmet_pci_epf/f1`);
    expect(await text(fake, `${CFS}/pci_ep/functions/nvmet_pci_epf/f1/vendorid`)).toBe('0x1b36\n');
    expect(await code(fake.rmdir(FN))).toBe('EBUSY');
    expect(await logOf(fake, () => fake.unlink(LINK))).toEqual([`${DEV}Destroying PCI ctrl "${NQN}"`, `${DEV}PCI link down`]);
    await fake.write(`${FN}/nvme/portid`, '1\n');
    // The controller id went back: a second controller is 1 again.
    expect((await logOf(fake, () => fake.symlink(FN, LINK)))[1]).toMatch(/Created nvm controller 1 /);
  });

  it('MSI when MSI-X is not asked for; no vectors at all caps nothing [source]', async () => {
    const fake = boot();
    await nvmetSide(fake);
    await epfSide(fake, { msix: '0\n', msi: '2\n' });
    expect((await logOf(fake, () => fake.symlink(FN, LINK))).filter((l) => l.startsWith(DEV)).slice(0, 2)).toEqual([`${DEV}PCI endpoint controller supports MSI, 2 vectors`, `${DEV}New PCI ctrl "${NQN}", 1 I/O queues, mdts 524288 B`]);
    await fake.unlink(LINK);
    await fake.write(`${FN}/msi_interrupts`, '0\n');
    expect((await logOf(fake, () => fake.symlink(FN, LINK))).filter((l) => l.startsWith(DEV))[0]).toBe(`${DEV}New PCI ctrl "${NQN}", 4 I/O queues, mdts 524288 B`);
  });

  it('the two observed oopses: attr_qid_max and the port→subsystem unlink while the controller lives', async () => {
    for (const call of [(f: FakeKernel) => f.write(`${SUB}/attr_qid_max`, '2\n'), (f: FakeKernel) => f.unlink(`${PORT}/subsystems/${NQN}`)]) {
      const fake = boot();
      await nvmetSide(fake);
      await epfSide(fake);
      await fake.symlink(FN, LINK);
      const e = await call(fake).then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(KernelOops);
      expect(fake.dmesg()).toContain('Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000');
    }
    // Without a controller both are ordinary.
    const fake = boot();
    await nvmetSide(fake);
    await fake.write(`${SUB}/attr_qid_max`, '2\n');
    await fake.unlink(`${PORT}/subsystems/${NQN}`);
  });

  it('BAR 0 must be the first free BAR, and a fixed BAR 0 must hold the registers and MSI-X table [source]', async () => {
    const withBar0 = (bar0: BoardProfile['controllers'][number]['features']['bars'][0]): BoardProfile => {
      const b = structuredClone(getBoard('qemu-virt')) as BoardProfile;
      const c = b.controllers[0]!;
      (b.controllers as unknown[])[0] = { ...c, features: { ...c.features, bars: [bar0, ...c.features.bars.slice(1)] } };
      return b;
    };
    const reserved = createFakeKernel({ board: withBar0({ type: 'reserved' }), kernel: '7.3' });
    await epfSide(reserved);
    expect(await logOf(reserved, () => code(reserved.symlink(FN, LINK)))).toEqual([`${DEV}BAR 0 is not free`]);
    expect(await code(reserved.symlink(FN, LINK))).toBe('ENODEV');
    const small = createFakeKernel({ board: withBar0({ type: 'fixed', fixedSize: 4096 }), kernel: '7.3' });
    await epfSide(small);
    // 0x1000 + 128 × 2 × 4 registers, 8 × 16 B of MSI-X table, 8 B of PBA.
    expect(await logOf(small, () => code(small.symlink(FN, LINK)))).toEqual([`${DEV}BAR 0 size 4096 B too small, need 5256 B`]);
  });

  it('a --mock-state round trip keeps the tree and the live controller', async () => {
    const fake = boot();
    await nvmetSide(fake);
    await epfSide(fake);
    await fake.symlink(FN, LINK);
    const state = JSON.parse(JSON.stringify(fake.toState()));
    const r = fakeStateSchema(boardNames()).safeParse(state);
    expect(r.success, JSON.stringify(r.error?.issues)).toBe(true);
    const again = loadFakeKernel(r.data!);
    expect(await code(again.write(`${FN}/nvme/portid`, '1\n'))).toBe('EBUSY');
    expect(await again.readdir(`${PORT}/subsystems`)).toEqual([NQN]);
    expect(await text(again, `${SUB}/namespaces/1/enable`)).toBe('1\n');
    expect(await logOf(again, () => again.unlink(LINK))).toEqual([`${DEV}Destroying PCI ctrl "${NQN}"`, `${DEV}PCI link down`]);
  });
});
