// The NVMe endpoint, planned and applied over both configfs trees on the fake kernel: the
// order the kernel needs, idempotence, rollback after a fault at every operation, the
// log-verified bind, changes made without ever touching a subsystem under a live controller
// (the fake oopses where the real 7.3.4 kernel did), removal, and each preflight refusal.
import { describe, it, expect } from 'vitest';
import { createFakeKernel, type FakeKernel } from '../fake/index.js';
import { parseConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { observePciEp } from '../configfs/observe.js';
import { observeNvmet } from '../configfs/nvmet.js';
import { planFor } from './converge.js';
import { apply } from './apply.js';
import { describeOp } from '../cli/render/plan.js';
import { status } from '../status/status.js';
import { readText } from '../kernel/port.js';
import { probe } from '../probe/probe.js';
import { plan } from './plan.js';
import { parseRelease } from '../kernel/version.js';

const cfg = (yaml: string): Config => parseConfig(yaml, 'test.yaml');
const NQN = 'nqn.2026-11.io.epctl:test';
const nvmeConfig = () =>
  cfg(`
version: 1
controllers: { auto: { start: true } }
functions:
  - driver: nvmet_pci_epf
    name: nvme0
    controller: auto
    header: { deviceid: 0xbeef }
    msix_interrupts: 2
    nvme:
      nqn: ${NQN}
      queue_pairs: 1
      model: epctl test
      vendor_id: 0x1b96
      subsys_vendor_id: 0x1b96
      namespaces: [{ null_blk: true }]
`);

async function converge(k: FakeKernel, config: Config, owned: Set<string> = new Set(), force = false) {
  const { plan } = await planFor(k, config, owned, force ? { force: true } : {});
  expect(plan.refusals).toEqual([]);
  const r = await apply(k, plan, { own: async (fn, on) => void (on ? owned.add(fn) : owned.delete(fn)) });
  if (r.ok) {
    owned.clear();
    for (const f of plan.owned) owned.add(f);
  }
  return { plan, result: r, owned };
}

/** Both trees as a person sees them, and the shared headers. */
async function boardView(k: FakeKernel) {
  const pciEp = await observePciEp(k, (fn) => fn());
  const nvmet = await observeNvmet(k, (fn) => fn());
  const model = k.toState().model as { drivers: Record<string, { header: unknown }>; controllers: unknown };
  return { pciEp, nvmet, headers: model.drivers, controllers: model.controllers };
}

const lines = (ops: { kind: string }[]) => ops.map((o) => describeOp(o as never).text);

describe('an NVMe endpoint on the fake 7.3 Cadence board', () => {
  it('is made over both trees in the order the kernel needs, verified from the log, and a second apply changes nothing', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', kernel: '7.3' });
    const { plan, result, owned } = await converge(k, nvmeConfig());
    expect(result.failure).toBeUndefined();
    expect(lines(plan.ops)).toEqual([
      `mkdir ../nvmet/subsystems/${NQN}`,
      `echo 1 > ../nvmet/subsystems/${NQN}/attr_allow_any_host`,
      `echo epctl test > ../nvmet/subsystems/${NQN}/attr_model`,
      `echo 0x1b96 > ../nvmet/subsystems/${NQN}/attr_vendor_id`,
      `echo 0x1b96 > ../nvmet/subsystems/${NQN}/attr_subsys_vendor_id`,
      `echo 1 > ../nvmet/subsystems/${NQN}/attr_qid_max`,
      `mkdir ../nvmet/subsystems/${NQN}/namespaces/1`,
      `echo /dev/nullb0 > ../nvmet/subsystems/${NQN}/namespaces/1/device_path`,
      `echo 1 > ../nvmet/subsystems/${NQN}/namespaces/1/enable`,
      'mkdir ../nvmet/ports/1',
      'echo pci > ../nvmet/ports/1/addr_trtype',
      `ln -s ../nvmet/subsystems/${NQN} ../nvmet/ports/1/subsystems/${NQN}`,
      'mkdir functions/nvmet_pci_epf/nvme0',
      'echo 0xbeef > functions/nvmet_pci_epf/nvme0/deviceid',
      'echo 2 > functions/nvmet_pci_epf/nvme0/msix_interrupts',
      'echo 1 > functions/nvmet_pci_epf/nvme0/<type-group>/portid',
      `echo ${NQN} > functions/nvmet_pci_epf/nvme0/<type-group>/subsysnqn`,
      'ln -s functions/nvmet_pci_epf/nvme0 controllers/7e000000.pcie-ep/nvme0',
      'echo 1 > controllers/7e000000.pcie-ep/start',
    ]);
    expect([...owned].sort()).toEqual(['nvmet/ports/1', `nvmet/subsystems/${NQN}`, 'nvmet_pci_epf/nvme0']);
    // The header the host sees takes the subsystem's vendor IDs (epc_init), which the config never declared in pci_ep.
    const st = await status(k);
    expect(st.nvme).toHaveLength(1);
    expect(st.nvme[0]).toMatchObject({ function: 'nvmet_pci_epf/nvme0', epc: '7e000000.pcie-ep', nqn: NQN, port: 1, problem: null, nvmetPort: { present: true, trtype: 'pci', exports: true } });
    expect(st.nvme[0]!.controller).toMatchObject({ ioQueues: 1, mdtsBytes: 512 * 1024, link: 'up' });
    expect(st.nvme[0]!.subsystem.namespaces).toEqual([{ nsid: 1, device: '/dev/nullb0', enabled: true }]);
    const again = await planFor(k, nvmeConfig(), owned);
    expect(again.plan.refusals).toEqual([]);
    expect(lines(again.plan.ops)).toEqual([]);
    expect(k.tainted).toBe(false);
  });

  it('after a fault at each operation, the board is exactly as before (both trees)', async () => {
    const probe = createFakeKernel({ board: 'qemu-virt', kernel: '7.3' });
    const { plan } = await planFor(probe, nvmeConfig(), new Set());
    const ops = plan.ops.filter((o) => o.kind !== 'wait');
    expect(ops.length).toBeGreaterThan(15);
    for (const [i, op] of ops.entries()) {
      const k = createFakeKernel({ board: 'qemu-virt', kernel: '7.3' });
      const before = await boardView(k);
      const fop = op.kind === 'start' || op.kind === 'write' ? 'write' : op.kind === 'link' || op.kind === 'nvmet-link' ? 'symlink' : op.kind;
      k.injectFault({ op: fop as 'write', path: ('path' in op ? op.path : op.appears).replace('<type-group>', '*'), errno: 'EIO' });
      const r = await apply(k, (await planFor(k, nvmeConfig(), new Set())).plan);
      expect(r.ok, `fault at op ${i}: ${describeOp(op).text}`).toBe(false);
      expect(r.rollback!.errors).toEqual([]);
      expect(await boardView(k), `after rollback of op ${i}: ${describeOp(op).text}`).toEqual(before);
      expect(k.tainted).toBe(false);
    }
  });

  it('writes nvme/subsysnqn with its newline (strscpy drops the last byte) and reads it back whole', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', kernel: '7.3' });
    const { plan } = await converge(k, nvmeConfig());
    const w = plan.ops.find((o) => o.kind === 'write' && o.path.endsWith('/subsysnqn'));
    expect(w).toMatchObject({ value: `${NQN}\n` });
    expect(await readText(k, '/sys/kernel/config/pci_ep/functions/nvmet_pci_epf/nvme0/nvme/subsysnqn')).toBe(`${NQN}\n`);
  });

  it('a subsysnqn written without its newline (echo -n) is caught at its read-back, before the link, and rolled back', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', kernel: '7.3' });
    const before = await boardView(k);
    const { plan } = await planFor(k, nvmeConfig(), new Set());
    Object.assign(plan.ops.find((o) => o.kind === 'write' && o.path.endsWith('/subsysnqn'))!, { value: NQN });
    const r = await apply(k, plan);
    expect(r.failure).toMatchObject({ code: 'MISMATCH', message: expect.stringContaining(`reads back "${NQN.slice(0, -1)}"`) });
    expect(await boardView(k)).toEqual(before);
  });

  it.each([
    ['one vector', 'msix_interrupts', '1', 'Invalid maximum number of queues 1', 'at least 2 interrupt vectors'],
    ['a port nothing made', 'portid', '9', 'Port not found', 'nvmet port 1 is missing'],
    ['a subsystem that lets no host in', 'attr_allow_any_host', '0', 'not allowed', 'set attr_allow_any_host to 1'],
  ])('a bind whose controller fails (%s) is caught from the log, with the fix, and rolled back', async (_what, attr, value, line, fix) => {
    const k = createFakeKernel({ board: 'qemu-virt', kernel: '7.3' });
    const before = await boardView(k);
    const { plan } = await planFor(k, nvmeConfig(), new Set());
    Object.assign(plan.ops.find((o) => o.kind === 'write' && o.path.endsWith(`/${attr}`))!, { value: `${value}\n`, declared: value });
    const r = await apply(k, plan);
    expect(r.failure).toMatchObject({ code: 'LOGGED' });
    expect(r.failure!.message).toContain(line);
    expect(r.failure!.message).toContain(fix);
    expect(r.rollback!.errors).toEqual([]);
    expect(await boardView(k)).toEqual(before);
  });

  it('a subsystem that does not let any host in (allow_any_host 0) is made again with it on', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', kernel: '7.3' });
    const { owned } = await converge(k, nvmeConfig());
    await k.write('/sys/kernel/config/pci_ep/controllers/7e000000.pcie-ep/start', '0');
    await k.unlink('/sys/kernel/config/pci_ep/controllers/7e000000.pcie-ep/nvme0');
    await k.write(`/sys/kernel/config/nvmet/subsystems/${NQN}/attr_allow_any_host`, '0');
    // A host allowed by hand: its link must go before the subsystem's rmdir (configfs: ENOTEMPTY).
    await k.mkdir('/sys/kernel/config/nvmet/hosts/nqn.2026-11.io.epctl:host');
    await k.symlink('/sys/kernel/config/nvmet/hosts/nqn.2026-11.io.epctl:host', `/sys/kernel/config/nvmet/subsystems/${NQN}/allowed_hosts/nqn.2026-11.io.epctl:host`);
    const { plan, result } = await converge(k, nvmeConfig(), owned);
    expect(result.failure).toBeUndefined();
    expect(plan.notes.join('\n')).toContain('attr_allow_any_host reads "0"');
    expect(lines(plan.ops)).toContain(`rm ../nvmet/subsystems/${NQN}/allowed_hosts/nqn.2026-11.io.epctl:host`);
    expect((await status(k)).nvme[0]!.controller).not.toBeNull();
  });

  it('a changed model makes the subsystem again only after the function is unlinked (no oops), and comes back up', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', kernel: '7.3' });
    const { owned } = await converge(k, nvmeConfig());
    const changed = nvmeConfig().functions![0]!;
    const next: Config = { version: 1, controllers: { auto: { start: true } }, functions: [{ ...changed, nvme: { ...changed.nvme!, model: 'epctl two', queue_pairs: 1 } }] };
    const { plan } = await planFor(k, next, owned);
    expect(plan.refusals).toEqual([]);
    const text = lines(plan.ops);
    const unlinkFn = text.indexOf('rm controllers/7e000000.pcie-ep/nvme0');
    const rmSubsys = text.indexOf(`rmdir ../nvmet/subsystems/${NQN}`);
    expect(unlinkFn).toBeGreaterThanOrEqual(0);
    expect(rmSubsys).toBeGreaterThan(unlinkFn);
    expect(text.indexOf(`rm ../nvmet/ports/1/subsystems/${NQN}`)).toBeGreaterThan(unlinkFn);
    expect(plan.notes.join('\n')).toContain('attr_model');
    const r = await apply(k, plan);
    expect(r.failure).toBeUndefined();
    expect(k.tainted).toBe(false);
    const st = await status(k);
    expect(st.nvme[0]!.controller).not.toBeNull();
    expect((await observeNvmet(k, (fn) => fn())).subsystems[0]!.attributes['attr_model']).toEqual({ text: 'epctl two\n' });
  });

  it('a config without the endpoint takes down what epctl made, function first, and leaves a foreign subsystem alone', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', kernel: '7.3' });
    await k.mkdir('/sys/kernel/config/nvmet/subsystems/nqn.2026-11.io.other:keep');
    const { owned } = await converge(k, nvmeConfig());
    const { plan, result } = await converge(k, cfg('version: 1\n'), owned);
    expect(result.failure).toBeUndefined();
    const text = lines(plan.ops);
    expect(text[0]).toBe('echo 0 > controllers/7e000000.pcie-ep/start');
    expect(text.indexOf('rmdir functions/nvmet_pci_epf/nvme0')).toBeLessThan(text.indexOf(`rm ../nvmet/ports/1/subsystems/${NQN}`));
    const nvmet = await observeNvmet(k, (fn) => fn());
    expect(nvmet.subsystems.map((s) => s.nqn)).toEqual(['nqn.2026-11.io.other:keep']);
    expect(nvmet.ports).toEqual([]);
    expect([...owned]).toEqual([]);
    expect(k.tainted).toBe(false);
  });

  it('a function epctl does not own that serves the subsystem is never pulled from under its controller', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', kernel: '7.3' });
    await converge(k, nvmeConfig());
    // Forget that epctl made the function: it is foreign now, with a live controller.
    const owned = new Set([`nvmet/subsystems/${NQN}`, 'nvmet/ports/1']);
    const { plan } = await planFor(k, cfg('version: 1\n'), owned);
    expect(plan.refusals.map((r) => r.reason).join('\n')).toMatch(/nvmet_pci_epf\/nvme0 \(not in the config\) has a controller on it/);
  });
});

describe('NVMe preflight: refused before any write, each with its fix', () => {
  const refusal = async (config: Config, opts: { board?: string; kernel?: string; force?: boolean } = {}) => {
    const k = createFakeKernel({ board: opts.board ?? 'qemu-virt', kernel: opts.kernel ?? '7.3' });
    const { plan } = await planFor(k, config, new Set(), opts.force ? { force: true } : {});
    return plan;
  };
  it('one vector leaves no I/O queue ("Invalid maximum number of queues 1")', async () => {
    const p = await refusal(cfg(`
version: 1
functions:
  - { driver: nvmet_pci_epf, name: n, controller: auto, msix_interrupts: 1, nvme: { nqn: ${NQN}, namespaces: [{ null_blk: true }] } }
`));
    expect(p.refusals).toEqual([expect.objectContaining({ where: 'functions.0.msix_interrupts', reason: expect.stringContaining('Invalid maximum number of queues 1') })]);
  });
  it('fewer vectors than queue pairs + the admin queue', async () => {
    const p = await refusal(
      cfg(`
version: 1
functions:
  - { driver: nvmet_pci_epf, name: n, controller: auto, msix_interrupts: 4, nvme: { nqn: ${NQN}, queue_pairs: 4, namespaces: [{ null_blk: true }] } }
`),
      { force: true },
    );
    expect(p.refusals.map((r) => r.fix)).toContain('set msix_interrupts to 5, or queue_pairs to 3');
  });
  it('more queue pairs than online CPUs: refused, and --force makes it a note', async () => {
    const c = cfg(`
version: 1
functions:
  - { driver: nvmet_pci_epf, name: n, controller: auto, msix_interrupts: 5, nvme: { nqn: ${NQN}, queue_pairs: 4, namespaces: [{ null_blk: true }] } }
`);
    const p = await refusal(c);
    expect(p.refusals).toEqual([expect.objectContaining({ where: 'functions.0.nvme.queue_pairs', reason: expect.stringContaining('1 online CPUs') })]);
    const f = await refusal(c, { force: true });
    expect(f.refusals).toEqual([]);
    expect(f.notes.join('\n')).toContain('--force: skipped the NVMe preflight');
  });
  it('more completion queues than the outbound windows allow (i.MX8M Plus: num-ob-windows 4), --force makes it a note', async () => {
    const c = cfg(`
version: 1
functions:
  - { driver: nvmet_pci_epf, name: n, controller: auto, msi_interrupts: 4, nvme: { nqn: ${NQN}, queue_pairs: 2, namespaces: [{ null_blk: true }] } }
`);
    // (The i.MX8M Plus profile's kernel has neither nvmet_pci_epf nor null_blk: those refusals come too.)
    const p = await refusal(c, { board: 'imx8mp' });
    expect(p.refusals.filter((r) => r.where.endsWith('queue_pairs'))).toEqual([expect.objectContaining({ where: 'functions.0.nvme.queue_pairs', reason: expect.stringContaining('has 4'), fix: 'set nvme.queue_pairs to 1 or fewer' })]);
    expect((await refusal(c, { board: 'imx8mp', force: true })).refusals.filter((r) => r.where.endsWith('queue_pairs'))).toEqual([]);
  });
  it('no vectors at all', async () => {
    const p = await refusal(cfg(`
version: 1
functions:
  - { driver: nvmet_pci_epf, name: n, controller: auto, nvme: { nqn: ${NQN}, namespaces: [{ null_blk: true }] } }
`));
    expect(p.refusals).toEqual([expect.objectContaining({ where: 'functions.0.msix_interrupts', fix: expect.stringContaining('at least 2') })]);
  });
  it('null_blk on a kernel built without it', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', kernel: '7.3', config: { BLK_DEV_NULL_BLK: 'n' } });
    const { plan } = await planFor(k, nvmeConfig(), new Set());
    expect(plan.refusals).toEqual([expect.objectContaining({ reason: expect.stringContaining('without CONFIG_BLK_DEV_NULL_BLK') })]);
  });
  it('a controller that reserves BAR 0 ("BAR 0 is not free")', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', kernel: '7.3' });
    const board = await probe(k);
    board.controllers[0]!.doorbell.reservedBar = 0;
    const p = plan({ config: nvmeConfig(), board, pciEp: await observePciEp(k, (fn) => fn()), nvmet: await observeNvmet(k, (fn) => fn()), devices: new Map([['/dev/nullb0', true]]), owned: new Set(), release: parseRelease('7.3.4') ?? null });
    expect(p.refusals).toEqual([expect.objectContaining({ where: 'functions.0.controller', reason: expect.stringContaining('BAR 0 is not free') })]);
  });
  it('a namespace device that does not exist', async () => {
    const p = await refusal(cfg(`
version: 1
functions:
  - { driver: nvmet_pci_epf, name: n, controller: auto, msix_interrupts: 2, nvme: { nqn: ${NQN}, namespaces: [{ device: /dev/nvme9n9 }] } }
`));
    expect(p.refusals).toEqual([expect.objectContaining({ where: 'functions.0.nvme.namespaces.0.device', reason: expect.stringContaining('/dev/nvme9n9 does not exist') })]);
  });
  it('two endpoints on one subsystem or one port', async () => {
    const p = await refusal(cfg(`
version: 1
functions:
  - { driver: nvmet_pci_epf, name: a, msix_interrupts: 2, nvme: { nqn: ${NQN}, namespaces: [{ null_blk: true }] } }
  - { driver: nvmet_pci_epf, name: b, msix_interrupts: 2, nvme: { nqn: ${NQN}x, namespaces: [{ null_blk: true }] } }
`));
    expect(p.refusals).toEqual([expect.objectContaining({ where: 'functions.1.nvme.port', fix: 'give each NVMe endpoint function its own nqn and port' })]);
  });
  it('a kernel before 6.14 has no nvmet_pci_epf', async () => {
    const p = await refusal(nvmeConfig(), { kernel: '6.12' });
    expect(p.refusals.map((r) => r.reason).join('\n')).toContain('arrived in Linux 6.14');
  });
});

describe('the nvme object in a config', () => {
  const bad = (fn: string): string => {
    try {
      parseConfig(`version: 1\nfunctions:\n  - ${fn}\n`, 'bad.yaml');
    } catch (e) {
      return (e as Error).message;
    }
    return 'accepted';
  };
  it.each([
    ['{ driver: pci_epf_test, name: t, nvme: { nqn: nqn.2026-11.a:b, namespaces: [{ null_blk: true }] } }', 'nvme belongs to driver nvmet_pci_epf'],
    ['{ driver: nvmet_pci_epf, name: n, header: { vendorid: 0x1b96 }, nvme: { nqn: nqn.2026-11.a:b, namespaces: [{ null_blk: true }] } }', 'declare nvme.vendor_id instead'],
    ['{ driver: nvmet_pci_epf, name: n, type: { mdts_kb: 4 }, nvme: { nqn: nqn.2026-11.a:b, namespaces: [{ null_blk: true }] } }', 'drop type'],
    ['{ driver: nvmet_pci_epf, name: n, type: { subsysnqn: x } }', 'declare the NVMe endpoint as nvme'],
    ['{ driver: nvmet_pci_epf, name: n, nvme: { nqn: not-an-nqn, namespaces: [{ null_blk: true }] } }', 'an NQN'],
    ['{ driver: nvmet_pci_epf, name: n, nvme: { nqn: nqn.2014-08.org.nvmexpress.discovery, namespaces: [{ null_blk: true }] } }', 'not the discovery NQN'],
    ['{ driver: nvmet_pci_epf, name: n, nvme: { nqn: nqn.2026-11.a:b, mdts_kb: 3, namespaces: [{ null_blk: true }] } }', 'a power of two'],
    ['{ driver: nvmet_pci_epf, name: n, nvme: { nqn: nqn.2026-11.a:b, namespaces: [] } }', 'functions.0.nvme.namespaces'],
    ['{ driver: nvmet_pci_epf, name: n, nvme: { nqn: nqn.2026-11.a:b, namespaces: [{ null_blk: true }, { nsid: 1, device: /dev/sda }] } }', 'nsid 1 is used twice'],
    ['{ driver: nvmet_pci_epf, name: n, nvme: { nqn: nqn.2026-11.a:b, namespaces: [{ device: dev/sda }] } }', 'an absolute path'],
    ['{ driver: nvmet_pci_epf, name: n, nvme: { nqn: nqn.2026-11.a:b, namespaces: [{ device: /dev/sda, null_blk: true }] } }', 'either device'],
    ['{ driver: nvmet_pci_epf, name: n, nvme: { nqn: nqn.2026-11.a:b, model: "  x", namespaces: [{ null_blk: true }] } }', 'a model number'],
    ['{ driver: nvmet_pci_epf, name: n, nvme: { nqn: nqn.2026-11.a:b, serial: "123456789012345678901", namespaces: [{ null_blk: true }] } }', 'a serial number'],
    ['{ driver: nvmet_pci_epf, name: n, nvme: { nqn: nqn.2026-11.a:b, port: 65536, namespaces: [{ null_blk: true }] } }', 'functions.0.nvme.port'],
    ['{ driver: nvmet_pci_epf, name: n, nvme: { nqn: nqn.2026-11.a:b, queue_pairs: 128, namespaces: [{ null_blk: true }] } }', 'functions.0.nvme.queue_pairs'],
  ])('refuses %s', (fn, message) => {
    expect(bad(fn)).toContain(message);
  });
});
