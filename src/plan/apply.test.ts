// plan + apply on the fake kernel: the how-tos' own operation counts, zero writes on re-apply,
// rollback to the exact prior state after a fault at every operation, recovery after a kill,
// foreign functions left alone, and the kernel log of a logged bind failure.
import { describe, it, expect } from 'vitest';
import { createFakeKernel, type FakeKernel } from '../fake/index.js';
import { parseConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { observePciEp } from '../configfs/observe.js';
import { planFor } from './converge.js';
import { apply } from './apply.js';
import type { PlanOp } from './plan.js';

const cfg = (yaml: string): Config => parseConfig(yaml, 'test.yaml');
const EXAMPLE_TEST = cfg(`
version: 1
controllers: { auto: { start: true } }
functions:
  - { driver: pci_epf_test, name: func1, controller: auto, header: { vendorid: 0x104c, deviceid: 0xb500 }, msi_interrupts: 16, msix_interrupts: 8 }
`);
const EXAMPLE_VNTB = cfg(`
version: 1
controllers: { auto: { start: true } }
functions:
  - driver: pci_epf_vntb
    name: func1
    primary: auto
    header: { vendorid: 0x1957, deviceid: 0x0809 }
    msi_interrupts: 32
    type: { db_count: 16, spad_count: 128, num_mws: 1, mw1: 0x100000, vntb_vid: 0x1957, vntb_pid: 0x080A, vbus_number: 0x10 }
`);

const counts = (k: FakeKernel, from = 0) => {
  const log = k.opLog.slice(from);
  const n = (op: string) => log.filter((e) => e.op === op).length;
  return { mkdir: n('mkdir'), write: n('write'), symlink: n('symlink'), unlink: n('unlink'), rmdir: n('rmdir'), read: n('read') };
};

async function converge(k: FakeKernel, config: Config, owned: Set<string> = new Set()) {
  const { plan } = await planFor(k, config, owned);
  expect(plan.refusals).toEqual([]);
  // Counted from here: apply's own operations, not probe's reads.
  const from = k.opLog.length;
  const r = await apply(k, plan, { own: async (fn, on) => void (on ? owned.add(fn) : owned.delete(fn)) });
  if (r.ok) {
    owned.clear();
    for (const f of plan.owned) owned.add(f);
  }
  return { plan, result: r, owned, from };
}

/** What a person (and the test) can see of the board: the pci_ep tree and each driver's shared header. */
async function boardView(k: FakeKernel) {
  const pciEp = await observePciEp(k, (fn) => fn());
  const model = k.toState().model as { drivers: Record<string, { header: unknown; loaded: boolean }>; controllers: unknown };
  return { pciEp, headers: model.drivers, controllers: model.controllers };
}

describe('apply follows the how-tos', () => {
  for (const kernel of ['6.1', '6.12', '7.3']) {
    it(`pci-test-howto on ${kernel}: 1 mkdir, 5 writes, 1 ln -s; one verifying read per write, plus the shared header's old value`, async () => {
      const k = createFakeKernel({ board: 'qemu-virt', kernel });
      const { result, from } = await converge(k, EXAMPLE_TEST);
      expect(result.ok).toBe(true);
      const c = counts(k, from);
      expect(c).toMatchObject({ mkdir: 1, write: 5, symlink: 1, unlink: 0, rmdir: 0 });
      // 5 read-backs + vendorid and deviceid read once before writing (a new driver's shared header, for rollback).
      expect(c.read).toBe(5 + 2);
      expect(k.tainted).toBe(false);
    });
  }

  for (const kernel of ['6.12', '7.3']) {
    it(`pci-vntb-howto on ${kernel}: 1 mkdir, 11 writes (num_mws before mw1), 1 ln -s`, async () => {
      const k = createFakeKernel({ board: 'qemu-virt', kernel });
      const { plan, result, from } = await converge(k, EXAMPLE_VNTB);
      expect(result.ok).toBe(true);
      expect(counts(k, from)).toMatchObject({ mkdir: 1, write: 11, symlink: 1, read: 11 + 2 });
      const writes = plan.ops.filter((o): o is PlanOp & { kind: 'write' } => o.kind === 'write').map((o) => o.path.split('/').pop());
      expect(writes.indexOf('num_mws')).toBeLessThan(writes.indexOf('mw1'));
      // Before 7.3 the link goes through controllers/ (the primary/ unlink handler is unsafe there).
      const link = plan.ops.find((o) => o.kind === 'link')!;
      expect(link.path).toMatch(kernel === '7.3' ? /func1\/primary\/7e000000\.pcie-ep$/ : /controllers\/7e000000\.pcie-ep\/func1$/);
    });
  }

  it('re-applying an applied config plans nothing and writes nothing', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' });
    const owned = new Set<string>();
    await converge(k, EXAMPLE_VNTB, owned);
    const before = k.opLog.length;
    const again = await converge(k, EXAMPLE_VNTB, owned);
    expect(again.plan.ops).toEqual([]);
    expect(counts(k, before)).toMatchObject({ mkdir: 0, write: 0, symlink: 0, unlink: 0, rmdir: 0 });
  });

  it('a linked function whose attributes change is recreated, never bound twice, and the controller is stopped first', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' });
    const owned = new Set<string>();
    await converge(k, EXAMPLE_TEST, owned);
    const changed = cfg(`
version: 1
controllers: { auto: { start: true } }
functions:
  - { driver: pci_epf_test, name: func1, controller: auto, header: { vendorid: 0x104c, deviceid: 0xb500 }, msi_interrupts: 4, msix_interrupts: 8 }
`);
    const { plan, result } = await converge(k, changed, owned);
    expect(result.ok).toBe(true);
    expect(plan.ops.map((o) => o.kind)).toEqual(['start', 'unlink', 'rmdir', 'mkdir', 'write', 'write', 'link', 'start']);
    expect(plan.notes.join('\n')).toMatch(/recreated: msi_interrupts changes reach the controller only at the next bind/);
    expect(k.tainted).toBe(false);
    expect((await converge(k, changed, owned)).plan.ops).toEqual([]);
  });
});

describe('rollback', () => {
  const MULTI = cfg(`
version: 1
controllers: { 4c300000.pcie-ep: { start: true }, 4c380000.pcie-ep: { start: true } }
functions:
  - { driver: pci_epf_test, name: t0, controller: 4c300000.pcie-ep, header: { vendorid: 0x1957, deviceid: 0x0950 }, msi_interrupts: 8 }
  - { driver: pci_epf_vntb, name: v1, primary: 4c380000.pcie-ep, header: { vendorid: 0x1957 }, msi_interrupts: 4, type: { db_count: 4, num_mws: 1, mw1: 0x10000 } }
  - { driver: pci_epf_test, name: t2, msi_interrupts: 2 }
`);

  /** A board with something on it already: a foreign linked function and a started controller. */
  async function seeded(): Promise<FakeKernel> {
    const k = createFakeKernel({ board: 'imx95' });
    await k.mkdir('/sys/kernel/config/pci_ep/functions/pci_epf_test/old');
    await k.write('/sys/kernel/config/pci_ep/functions/pci_epf_test/old/vendorid', '0x1234');
    return k;
  }

  it('after a fault at each operation of a multi-function apply, the board is exactly as before', async () => {
    const probe = await seeded();
    const { plan } = await planFor(probe, MULTI, new Set());
    expect(plan.refusals).toEqual([]);
    const mutating = plan.ops.filter((o) => o.kind !== 'wait').length;
    expect(mutating).toBeGreaterThan(15);
    for (let i = 0; i < mutating; i++) {
      const k = await seeded();
      const before = await boardView(k);
      const op = plan.ops.filter((o) => o.kind !== 'wait')[i]!;
      const fop = op.kind === 'start' || op.kind === 'write' ? 'write' : op.kind === 'link' ? 'symlink' : op.kind === 'modprobe' || op.kind === 'mount' ? 'write' : op.kind;
      if (!('path' in op)) throw new Error(`no path to fault: ${op.kind}`);
      k.injectFault({ op: fop as 'write', path: op.path.replace('<type-group>', '*'), errno: 'EIO' });
      const r = await apply(k, (await planFor(k, MULTI, new Set())).plan);
      expect(r.ok, `fault at op ${i}: ${op.kind} ${op.path}`).toBe(false);
      expect(r.failure!.code).toBe('EIO');
      expect(r.failure!.op).toEqual(op);
      expect(r.rollback!.errors).toEqual([]);
      expect(await boardView(k), `after rollback of op ${i}`).toEqual(before);
      expect(k.tainted).toBe(false);
    }
  });

  it('a bind that returns 0 but logs its failure is caught, reported with the kernel log, and rolled back', async () => {
    const k = createFakeKernel({ board: 'qemu-virt', kernel: '7.3' });
    const before = await boardView(k);
    const withDoorbell = cfg(`
version: 1
functions:
  - { driver: pci_epf_vntb, name: func1, primary: auto, msi_interrupts: 4, type: { db_count: 4 }, doorbell: true }
`);
    const { plan } = await planFor(k, withDoorbell, new Set());
    expect(plan.refusals).toEqual([]);
    k.injectFault({ op: 'alloc_doorbell', path: '/sys/kernel/config/pci_ep/functions/pci_epf_vntb/func1', errno: 'ENOSPC' });
    const r = await apply(k, plan);
    expect(r.ok).toBe(false);
    // The doorbell lines alone decide nothing for a vNTB (an embedded fallback logs them too): its missing rows do.
    expect(r.failure).toMatchObject({ code: 'NODOORBELL', op: { kind: 'link' } });
    expect(r.failure!.message).toMatch(/shows 0 of its 4 doorbell rows .*Failed to allocate MSI/);
    expect(r.failure!.kernelLog).toContain('pci_epf_vntb pci_epf_vntb.0: Failed to allocate MSI');
    expect(await boardView(k)).toEqual(before);
  });

  it('a vNTB doorbell function that binds without its doorbell rows (silent polling fallback) is a failure, rolled back', async () => {
    const k = createFakeKernel({ board: 'qemu-virt-no-msi', kernel: '7.3' });
    const before = await boardView(k);
    const { plan } = await planFor(k, cfg(`
version: 1
functions:
  - { driver: pci_epf_vntb, name: func1, primary: auto, msi_interrupts: 4, type: { db_count: 4 } }
`), new Set());
    // As if probe had judged the controller capable: the link must still prove it.
    const ops = plan.ops.map((o) => (o.kind === 'link' ? { ...o, doorbellRows: 4 } : o));
    const r = await apply(k, { ...plan, ops });
    expect(r.ok).toBe(false);
    expect(r.failure).toMatchObject({ code: 'NODOORBELL', op: { kind: 'link' } });
    expect(r.failure!.message).toMatch(/shows 0 of its 4 doorbell rows on chip ITS-pMSI-7e000000\.pcie-ep: vNTB fell back to polling .*Can't find MSI domain for EPC/);
    expect(await boardView(k)).toEqual(before);
  });

  it('a vNTB doorbell function on a DesignWare controller without an ITS gets the embedded eDMA doorbell (7.3.4): one shared row, its handler requested once', async () => {
    const k = createFakeKernel({ board: 'imx8mp' });
    const { plan, result } = await converge(k, cfg(`
version: 1
functions:
  - { driver: pci_epf_vntb, name: func1, primary: auto, msi_interrupts: 4, type: { db_count: 4 }, doorbell: true }
`));
    expect(plan.refusals).toEqual([]);
    expect(result.ok).toBe(true);
    const log = k.dmesg().join('\n');
    expect(log).toContain("pci_epf_vntb pci_epf_vntb.0: Can't find MSI domain for EPC");
    expect(log).toContain('pci_epf_vntb pci_epf_vntb.0: Using embedded (DMA) doorbell fallback');
    const rows = new TextDecoder().decode(await k.read('/proc/interrupts')).split('\n').filter((l) => l.includes('dw-edma-emul'));
    expect(rows).toHaveLength(1);
    // pci-epf-vntb.c epf_ntb_db_irq_is_duplicated(): the repeated virq is requested once.
    expect(rows[0]).toMatch(/dw-edma-emul +Level +pci_epf_vntb_db$/);
    // Unlinking frees the actions; dw-edma keeps its virq (no action: no row).
    const { result: cleared } = await converge(k, cfg('version: 1\nfunctions: []\n'), new Set(['pci_epf_vntb/func1']));
    expect(cleared.ok).toBe(true);
    expect(new TextDecoder().decode(await k.read('/proc/interrupts'))).not.toContain('dw-edma-emul');
  });

  it('a vNTB doorbell on Layerscape (DesignWare without eDMA registers) is refused before anything is written', async () => {
    const k = createFakeKernel({ board: 'ls1028a' });
    const { plan } = await planFor(k, cfg(`
version: 1
functions:
  - { driver: pci_epf_vntb, name: func1, controller: 3400000.pcie-ep, msi_interrupts: 4, type: { db_count: 4 }, doorbell: true }
`), new Set());
    expect(plan.refusals.map((r) => r.where)).toEqual(['functions.0.doorbell']);
    expect(plan.refusals[0]!.reason).toMatch(/msi-map/);
  });

  it('a vNTB function that did not ask for doorbells binds without them (polling) and that is not a failure', async () => {
    const k = createFakeKernel({ board: 'qemu-virt-no-msi', kernel: '7.3' });
    const { result } = await converge(k, cfg(`
version: 1
functions:
  - { driver: pci_epf_vntb, name: func1, primary: auto, msi_interrupts: 4, type: { db_count: 4 } }
`));
    expect(result.ok).toBe(true);
    expect(k.dmesg().join('\n')).toMatch(/Can't find MSI domain for EPC/);
  });
});

describe('interrupted', () => {
  it('Ctrl-C stops before the next operation and rolls back to the board as it was', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' });
    const before = await boardView(k);
    const { plan } = await planFor(k, EXAMPLE_VNTB, new Set());
    const stop = new AbortController();
    let n = 0;
    const r = await apply(k, plan, { signal: stop.signal, progress: () => void (++n === 5 && stop.abort()) });
    expect(r.ok).toBe(false);
    expect(r.failure).toMatchObject({ code: 'EINTR', op: plan.ops[5] });
    expect(r.done).toHaveLength(5);
    expect(await boardView(k)).toEqual(before);
  });
});

describe('ownership', () => {
  it('clear removes what epctl made and leaves a foreign function alone', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' });
    await k.mkdir('/sys/kernel/config/pci_ep/functions/pci_epf_test/mine-not');
    const owned = new Set<string>();
    await converge(k, EXAMPLE_VNTB, owned);
    expect([...owned]).toEqual(['pci_epf_vntb/func1']);
    const { plan, result } = await converge(k, { version: 1, functions: [] }, owned);
    expect(result.ok).toBe(true);
    expect(plan.notes.join('\n')).toMatch(/pci_epf_test\/mine-not: left alone/);
    const left = await observePciEp(k, (fn) => fn());
    expect(left.functions.map((f) => `${f.driver}/${f.name}`)).toEqual(['pci_epf_test/mine-not']);
    expect(owned.size).toBe(0);
  });

  it('an apply killed half way is finished by the next one, from the board and the record', async () => {
    const reference = createFakeKernel({ board: 'imx95' });
    const CONFIG = cfg(`
version: 1
controllers: { 4c300000.pcie-ep: { start: true } }
functions:
  - { driver: pci_epf_test, name: a, controller: 4c300000.pcie-ep, header: { vendorid: 0x1957 }, msi_interrupts: 8 }
  - { driver: pci_epf_test, name: b, controller: 4c380000.pcie-ep, msi_interrupts: 4 }
`);
    await converge(reference, CONFIG);
    const want = await observePciEp(reference, (fn) => fn());
    const { plan } = await planFor(createFakeKernel({ board: 'imx95' }), CONFIG, new Set());
    for (let stop = 1; stop < plan.ops.length; stop++) {
      const k = createFakeKernel({ board: 'imx95' });
      const owned = new Set<string>();
      let n = 0;
      const killed = await apply(k, plan, {
        own: async (fn, on) => void (on ? owned.add(fn) : owned.delete(fn)),
        progress: () => {
          if (++n === stop) throw new Error('SIGKILL');
        },
      }).catch((e: Error) => e.message);
      expect(killed).toBe('SIGKILL');
      const { result } = await converge(k, CONFIG, owned);
      expect(result.ok, `killed after ${stop} operations`).toBe(true);
      const got = await observePciEp(k, (fn) => fn());
      // The type group's device index may differ after a recreate; everything else matches.
      const strip = (s: typeof got) => JSON.parse(JSON.stringify(s).replace(/pci_epf_test\.\d+/g, 'pci_epf_test.N'));
      expect(strip(got)).toEqual(strip(want));
      expect(k.tainted).toBe(false);
    }
  });
});

describe('the shipped examples', () => {
  const EXAMPLES: [file: string, board: string][] = [
    ['examples/pci-epf-test.yaml', 'qemu-virt'],
    ['examples/pci-epf-vntb.yaml', 'qemu-virt'],
    ['examples/ntb-pair.yaml', 'ls1028a'],
    ['examples/lx2160a.yaml', 'lx2160a'],
    ['examples/imx95-nvme.yaml', 'imx95'],
    ['examples/rk3588-nvme.yaml', 'rk3588'],
  ];
  for (const [file, board] of EXAMPLES)
    it(`${file} applies on ${board}, re-applies with zero writes, and clears to an empty board`, async () => {
      const { loadConfig } = await import('../config/load.js');
      const config = await loadConfig(file);
      const k = createFakeKernel({ board });
      const owned = new Set<string>();
      expect((await converge(k, config, owned)).result.ok).toBe(true);
      const from = k.opLog.length;
      expect((await converge(k, config, owned)).plan.ops).toEqual([]);
      expect(counts(k, from)).toMatchObject({ write: 0, mkdir: 0, symlink: 0, unlink: 0, rmdir: 0 });
      expect((await converge(k, { version: 1, functions: [] }, owned)).result.ok).toBe(true);
      expect((await observePciEp(k, (fn) => fn())).functions).toEqual([]);
      expect(k.tainted).toBe(false);
    });
});

describe('rollback never does what plan refuses to do (review fixes)', () => {
  const FUNCS = '/sys/kernel/config/pci_ep/functions';
  it('before 7.3 an NTB link through primary/ is left in place, with the reason, rather than unlinked', async () => {
    const { loadConfig } = await import('../config/load.js');
    const k = createFakeKernel({ board: 'ls1028a', kernel: '6.12' });
    const { plan } = await planFor(k, await loadConfig('examples/ntb-pair.yaml'), new Set());
    k.injectFault({ op: 'symlink', path: `${FUNCS}/pci_epf_ntb/func1/secondary/*`, errno: 'EINVAL' });
    const from = k.opLog.length;
    const r = await apply(k, plan);
    expect(r.ok).toBe(false);
    expect(k.opLog.slice(from).filter((e) => e.op === 'unlink')).toEqual([]);
    // The link stays (and so the function, which configfs will not rmdir while it holds one): the rollback says so.
    expect(r.rollback!.errors).toEqual([
      { step: expect.stringMatching(/^rm .*\/primary\/3400000\.pcie-ep$/), message: expect.stringMatching(/^left linked: before Linux 7\.3 the primary\/ and secondary\/ unlink handlers .*reboot to remove it$/) },
      { step: expect.stringMatching(/^rmdir .*\/pci_epf_ntb\/func1$/), message: expect.stringMatching(/^ENOTEMPTY/) },
    ]);
    expect(k.tainted).toBe(false);
  });

  it('stops a started controller before taking a new link off it in a rollback, and starts it again', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' });
    const owned = new Set<string>();
    await converge(k, cfg('version: 1\ncontrollers: { auto: { start: true } }\n'), owned);
    const before = await boardView(k);
    // pci_epf_test without MSI-X on an MSI-X capable controller: epc_init fails, ln -s returns 0.
    const { plan } = await planFor(k, cfg('version: 1\nfunctions:\n  - { driver: pci_epf_test, name: f, controller: auto, msi_interrupts: 4 }\n'), owned);
    const r = await apply(k, plan);
    expect(r.failure).toMatchObject({ code: 'LOGGED' });
    expect(r.rollback!.errors).toEqual([]);
    expect(k.tainted).toBe(false);
    expect(k.dmesg().join('\n')).not.toMatch(/WARNING/);
    expect(await boardView(k)).toEqual(before);
  });

  it('never binds a function again in a rollback: an unlinked function whose rmdir failed is left unlinked, with the way out', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' });
    const owned = new Set<string>();
    await converge(k, cfg('version: 1\nfunctions:\n  - { driver: pci_epf_test, name: a, controller: auto, msi_interrupts: 4, msix_interrupts: 4 }\n  - { driver: pci_epf_test, name: b, controller: auto, msi_interrupts: 4, msix_interrupts: 4 }\n'), owned);
    const changed = cfg('version: 1\nfunctions:\n  - { driver: pci_epf_test, name: a, controller: auto, msi_interrupts: 8, msix_interrupts: 4 }\n  - { driver: pci_epf_test, name: b, controller: auto, msi_interrupts: 8, msix_interrupts: 4 }\n');
    const { plan } = await planFor(k, changed, owned);
    expect(plan.ops.map((o) => o.kind).slice(0, 4)).toEqual(['unlink', 'rmdir', 'unlink', 'rmdir']);
    k.injectFault({ op: 'rmdir', path: `${FUNCS}/pci_epf_test/b`, errno: 'EBUSY' });
    const from = k.opLog.length;
    const r = await apply(k, plan);
    expect(r.failure).toMatchObject({ code: 'EBUSY', op: { kind: 'rmdir', fn: 'pci_epf_test/b' } });
    // a was recreated (a new EPF device) and linked again; b keeps its old device, unlinked.
    expect(r.rollback!.errors).toEqual([{ step: expect.stringMatching(/controllers\/7e000000\.pcie-ep\/b$/), message: expect.stringMatching(/^left unlinked: pci_epf_test\/b was bound before .* run `epctl apply` again, which recreates it$/) }]);
    const links = k.opLog.slice(from).filter((e) => e.op === 'symlink').map((e) => e.path);
    expect(links).toEqual(['/sys/kernel/config/pci_ep/controllers/7e000000.pcie-ep/a']);
    expect(k.tainted).toBe(false);
    // The next apply finishes the job.
    expect((await converge(k, changed, owned)).result.ok).toBe(true);
  });

  it('restores type-group values after the EPF devices were renumbered by the apply it undoes', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' });
    const owned = new Set<string>();
    const v1 = cfg('version: 1\nfunctions:\n  - { driver: pci_epf_test, name: x, controller: auto, msi_interrupts: 1, msix_interrupts: 1, type: { bar0_size: 0x10000 } }\n  - { driver: pci_epf_test, name: y, controller: auto, msi_interrupts: 1, msix_interrupts: 1, type: { bar0_size: 0x10000 } }\n');
    await converge(k, v1, owned);
    const before = await boardView(k);
    const v2 = cfg('version: 1\nfunctions:\n  - { driver: pci_epf_test, name: x, controller: auto, msi_interrupts: 1, msix_interrupts: 1, type: { bar0_size: 0x20000 } }\n  - { driver: pci_epf_test, name: y, controller: auto, msi_interrupts: 1, msix_interrupts: 1, type: { bar0_size: 0x20000 } }\n');
    const { plan } = await planFor(k, v2, owned);
    k.injectFault({ op: 'symlink', path: '/sys/kernel/config/pci_ep/controllers/*/y', errno: 'EINVAL' });
    const r = await apply(k, plan);
    expect(r.ok).toBe(false);
    expect(r.rollback!.errors).toEqual([]);
    const strip = (v: unknown) => JSON.parse(JSON.stringify(v).replace(/pci_epf_test\.\d+/g, 'pci_epf_test.N'));
    expect(strip((await boardView(k)).pciEp)).toEqual(strip(before.pciEp));
  });

  it('recreates every linked function of a driver whose shared header changes, not only the first', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' });
    const owned = new Set<string>();
    const two = (vid: string) => cfg(`version: 1\nfunctions:\n  - { driver: pci_epf_test, name: t1, controller: auto, header: { vendorid: ${vid} }, msi_interrupts: 1, msix_interrupts: 1 }\n  - { driver: pci_epf_test, name: t2, controller: auto, header: { vendorid: ${vid} }, msi_interrupts: 1, msix_interrupts: 1 }\n`);
    await converge(k, two('0x1111'), owned);
    const { plan, result } = await converge(k, two('0x1234'), owned);
    expect(result.ok).toBe(true);
    expect(plan.ops.filter((o) => o.kind === 'rmdir').map((o) => (o as { fn: string }).fn).sort()).toEqual(['pci_epf_test/t1', 'pci_epf_test/t2']);
    expect(plan.notes.join('\n')).toMatch(/pci_epf_test\/t2: recreated: the pci_epf_test header it shares changes/);
  });

  it('clear --all takes a physical function before the virtual function it holds, whatever their order', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' });
    await k.mkdir(`${FUNCS}/pci_epf_test/a_vf`);
    await k.mkdir(`${FUNCS}/pci_epf_test/b_pf`);
    await k.symlink(`${FUNCS}/pci_epf_test/a_vf`, `${FUNCS}/pci_epf_test/b_pf/a_vf`);
    const { plan } = await planFor(k, { version: 1, functions: [] }, new Set(), { removeForeign: true });
    expect(plan.refusals).toEqual([]);
    const r = await apply(k, plan);
    expect(r.ok).toBe(true);
    expect((await observePciEp(k, (fn) => fn())).functions).toEqual([]);
  });
});

describe('a kill between stopping and starting a controller', () => {
  it('the next plan starts again a controller an earlier apply stopped (state file restart list), when functions are linked there', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' });
    const owned = new Set<string>();
    const config = cfg('version: 1\nfunctions:\n  - { driver: pci_epf_test, name: f, controller: auto, msi_interrupts: 1, msix_interrupts: 1 }\n');
    await converge(k, config, owned);
    await k.write('/sys/kernel/config/pci_ep/controllers/7e000000.pcie-ep/start', '1');
    const changed = cfg('version: 1\nfunctions:\n  - { driver: pci_epf_test, name: f, controller: auto, msi_interrupts: 2, msix_interrupts: 1 }\n');
    const { plan } = await planFor(k, changed, owned);
    expect(plan.ops[0]).toMatchObject({ kind: 'start', value: false });
    // Killed right after the stop.
    let n = 0;
    await apply(k, plan, { progress: () => { if (++n === 1) throw new Error('SIGKILL'); } }).catch(() => undefined);
    expect(await k.read('/sys/kernel/config/pci_ep/controllers/7e000000.pcie-ep/start').then((b) => Buffer.from(b).toString())).toBe('0\n');
    const without = await planFor(k, changed, owned);
    expect(without.plan.ops.some((o) => o.kind === 'start' && o.value)).toBe(false);
    const next = await planFor(k, changed, owned, { pendingRestarts: ['7e000000.pcie-ep'] });
    expect(next.plan.ops.at(-1)).toMatchObject({ kind: 'start', epc: '7e000000.pcie-ep', value: true });
    expect((await apply(k, next.plan)).ok).toBe(true);
  });
});

describe('probe after an embedded doorbell', () => {
  it('lists the shared dw-edma-emul row as the controller\'s doorbell IRQ, its handler requested once', async () => {
    const { probe } = await import('../probe/probe.js');
    const k = createFakeKernel({ board: 'imx8mp' });
    const { result } = await converge(k, cfg(`
version: 1
functions:
  - { driver: pci_epf_vntb, name: func1, primary: auto, msi_interrupts: 4, type: { db_count: 3 }, doorbell: true }
`));
    expect(result.ok).toBe(true);
    const [c] = (await probe(k)).controllers;
    expect(c!.doorbellIrqs).toHaveLength(1);
    expect(c!.doorbellIrqs[0]).toMatchObject({ hwirq: null, actions: ['pci_epf_vntb_db'], count: 0 });
  });
});
