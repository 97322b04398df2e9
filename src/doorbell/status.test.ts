// doorbell status on the fake kernel after the how-to configs went through plan + apply: vNTB
// with its MSI doorbell rows, the polled fallback, pci-epf-test on demand, the readiness
// ordering (no row, or a row without its handler, is never ready), the host commands, and the
// DesignWare link state.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import fc from 'fast-check';
import type { KernelPort } from '../kernel/port.js';
import { createFakeKernel, type FakeKernel } from '../fake/index.js';
import { parseConfig } from '../config/load.js';
import { planFor } from '../plan/converge.js';
import { apply } from '../plan/apply.js';
import { doorbellStatus, functionDoorbells, SELFTEST_DOORBELL, type FunctionInput } from './status.js';
import type { ObservedFunction } from '../configfs/observe.js';
import type { DoorbellIrq } from './irqs.js';
import { parseRelease } from '../kernel/version.js';

const example = (name: string): string => fs.readFileSync(`examples/${name}`, 'utf8');
const VNTB = example('pci-epf-vntb.yaml');
const TEST = example('pci-epf-test.yaml');

async function applied(board: string, yaml: string, kernel?: string): Promise<FakeKernel> {
  const k = createFakeKernel({ board, ...(kernel ? { kernel } : {}) });
  const { plan } = await planFor(k, parseConfig(yaml, 'test.yaml'), new Set());
  expect(plan.refusals).toEqual([]);
  const r = await apply(k, plan, { own: async () => undefined });
  expect(r.ok).toBe(true);
  return k;
}

describe('doorbell status after apply', () => {
  it('vNTB on qemu-virt (examples/pci-epf-vntb.yaml): 16 ITS doorbells, each with its handler, ready', async () => {
    const s = await doorbellStatus(await applied('qemu-virt', VNTB));
    expect(s.problems).toEqual([]);
    const [c] = s.controllers;
    expect(c).toMatchObject({ name: '7e000000.pcie-ep', started: true, verdict: { capable: true } });
    const f = c!.functions[0]!;
    expect(f).toMatchObject({ function: 'pci_epf_vntb/func1', mode: 'its', expected: 16, ready: true });
    expect(f.irqs).toHaveLength(16);
    expect(f.irqs.map((i) => i.index)).toEqual([...Array(16).keys()]);
    for (const i of f.irqs) expect(i).toMatchObject({ chip: 'ITS-pMSI-7e000000.pcie-ep', actions: ['pci_epf_vntb_db'], total: 0 });
    expect(f.host).toContain('modprobe ntb_hw_epf');
    // 1957:0809 is in ntb_hw_epf's table: no note about the IDs.
    expect(f.notes.join(' ')).not.toContain('ID table');
    expect(c!.unclaimed).toEqual([]);
    expect(s).toMatchObject({ ready: true, waiting: [] });
    // The Cadence QEMU controller has no DesignWare debugfs.
    expect(c!.link).toMatchObject({ available: false, why: 'no-ltssm-file' });
  });

  it('vNTB with msi-parent only: bound without rows, the silent polled fallback, not ready', async () => {
    const s = await doorbellStatus(await applied('qemu-virt-msi-parent', VNTB.replace(/^ {4}doorbell: true\n/m, '')));
    const f = s.controllers[0]!.functions[0]!;
    expect(f).toMatchObject({ mode: 'polled', ready: false, irqs: [] });
    expect(f.reason).toMatch(/fell back to polling/);
    expect(f.reason).toContain('msi-parent');
    expect(s.ready).toBe(false);
    expect(s.waiting).toEqual([`pci_epf_vntb/func1: ${f.reason}`]);
  });

  it('vNTB on RK3588 whose db_bar is not the reserved BAR4 of the embedded doorbell: polled, the reason and the db_bar fix', async () => {
    // --force past the preflight, as a board configured by hand would be.
    const k = createFakeKernel({ board: 'rk3588' });
    const { plan } = await planFor(k, parseConfig(VNTB, 'test.yaml'), new Set(), { force: true });
    expect((await apply(k, { ...plan, ops: plan.ops.map((o) => (o.kind === 'link' ? { ...o, doorbellRows: 0 } : o)) })).ok).toBe(true);
    const f = (await doorbellStatus(k)).controllers[0]!.functions[0]!;
    expect(f).toMatchObject({ mode: 'polled', ready: false });
    expect(f.reason).toMatch(/its db_bar is 1, but the embedded doorbell is in the reserved BAR4, and pci-epf-vntb\.c gives up \(-EINVAL, no log line\)/);
    expect(f.notes[0]).toMatch(/^Set db_bar to 4 \(\/sys\/kernel\/config\/pci_ep\/functions\/pci_epf_vntb\/func1\/pci_epf_vntb\.0\/db_bar, written while unlinked\)/);
  });

  it('pci-epf-test on RK3588: the note says the embedded doorbell is published in BAR4 (DB_BAR 4)', async () => {
    const f = (await doorbellStatus(await applied('rk3588', TEST))).controllers[0]!.functions[0]!;
    expect(f).toMatchObject({ mode: 'on-demand', ready: true });
    expect(f.notes.join('\n')).toContain("The doorbell is published in a40000000.pcie-ep's reserved BAR4 (its eDMA registers), at offset 0xa0: the host reads DB_BAR 4.");
  });

  it('vNTB on 6.12 polls: the kernel has no vNTB MSI doorbells', async () => {
    const s = await doorbellStatus(await applied('qemu-virt', VNTB.replace(/^ {4}doorbell: true\n/m, '').replace('db_count: 16', 'db_count: 4'), '6.12'));
    expect(s.controllers[0]!.functions[0]).toMatchObject({ mode: 'polled', ready: false });
    expect(s.controllers[0]!.functions[0]!.reason).toContain('6.19');
  });

  it('pci-epf-test (examples/pci-epf-test.yaml): on demand, ready to be enabled, the selftest and no new_id (104c:b500 is in the host table)', async () => {
    const s = await doorbellStatus(await applied('qemu-virt', TEST));
    const f = s.controllers[0]!.functions[0]!;
    expect(f).toMatchObject({ function: 'pci_epf_test/func1', mode: 'on-demand', ready: true, irqs: [], expected: 1 });
    expect(f.reason).toMatch(/^ready to be enabled/);
    expect(f.reason).toContain('ENABLE_DOORBELL');
    expect(f.host).toEqual(['modprobe pci_endpoint_test', SELFTEST_DOORBELL]);
    expect(s.ready).toBe(true);
  });

  it('pci-epf-test with IDs outside the host table: the new_id line', async () => {
    const s = await doorbellStatus(await applied('qemu-virt', TEST.replace('vendorid: 0x104c', 'vendorid: 0x1957').replace('deviceid: 0xb500', 'deviceid: 0x0809')));
    expect(s.controllers[0]!.functions[0]!.host).toEqual(['modprobe pci_endpoint_test', 'echo 1957 0809 > /sys/bus/pci/drivers/pci-endpoint-test/new_id', SELFTEST_DOORBELL]);
  });

  it('pci-epf-test linked but the controller not started: not ready, with the start command', async () => {
    const s = await doorbellStatus(await applied('qemu-virt', TEST.replace('auto: { start: true }', 'auto: { start: false }')));
    const f = s.controllers[0]!.functions[0]!;
    expect(f).toMatchObject({ mode: 'on-demand', ready: false });
    expect(f.reason).toContain('echo 1 > /sys/kernel/config/pci_ep/controllers/7e000000.pcie-ep/start');
  });

  it('pci-epf-test where the controller cannot have a doorbell: mode none, the verdict as the reason', async () => {
    const s = await doorbellStatus(await applied('qemu-virt-msi-parent', TEST));
    const f = s.controllers[0]!.functions[0]!;
    expect(f).toMatchObject({ mode: 'none', ready: false });
    expect(f.reason).toContain('msi-parent');
  });

  it('a function made but not linked is listed as unlinked and keeps the board not ready', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' });
    await k.mkdir('/sys/kernel/config/pci_ep/functions/pci_epf_test/lonely');
    const s = await doorbellStatus(k);
    expect(s.unlinked).toMatchObject([{ function: 'pci_epf_test/lonely', controller: null, ready: false }]);
    expect(s.unlinked[0]!.reason).toMatch(/^not linked to a controller/);
    expect(s.ready).toBe(false);
  });

  it('no doorbell function at all is not ready, and says how to make one', async () => {
    const s = await doorbellStatus(createFakeKernel({ board: 'imx95' }));
    expect(s.ready).toBe(false);
    expect(s.waiting[0]).toMatch(/no pci_epf_test or pci_epf_vntb function/);
  });

  it('on a DesignWare board (imx95) the link state reads DETECT_QUIET before start and L0 after', async () => {
    const k = createFakeKernel({ board: 'imx95' });
    const before = await doorbellStatus(k);
    expect(before.controllers[0]!.link).toMatchObject({ available: true, state: 'DETECT_QUIET', linkUp: false });
    await k.write('/sys/kernel/config/pci_ep/controllers/4c300000.pcie-ep/start', '1');
    const after = await doorbellStatus(k);
    expect(after.controllers[0]!.link).toMatchObject({ available: true, state: 'L0', code: 0x11, linkUp: true });
    expect(after.controllers[1]!.link).toMatchObject({ state: 'DETECT_QUIET' });
  });
});

describe('readiness ordering: a doorbell is ready only once its irq has a handler', () => {
  const fn = (driver: string, typeGroup: Record<string, string> = {}): ObservedFunction => ({
    driver,
    name: 'f',
    path: `/sys/kernel/config/pci_ep/functions/${driver}/f`,
    attributes: { vendorid: { text: '0x1957\n' }, deviceid: { text: '0x0809\n' } },
    typeGroup: { name: `${driver}.0`, attributes: Object.fromEntries(Object.entries(typeGroup).map(([k, v]) => [k, { text: v }])) },
    primary: 'e.pcie-ep',
    secondary: null,
    controllers: [],
    virtualFunctions: [],
    links: { primary: null, secondary: null, virtualFunctions: [] },
  });
  const row = (virq: number, index: number, actions: string[]): DoorbellIrq => ({ virq, index, chip: 'ITS-pMSI-e.pcie-ep', counts: [0], total: 0, actions });
  const input = (f: ObservedFunction, rows: DoorbellIrq[]): FunctionInput => ({
    fn: f,
    controller: { name: 'e.pcie-ep', started: true, doorbell: { capable: true, mode: 'its', code: 'capable', reason: 'ok', warnings: [], notes: [] } },
    rows,
    version: parseRelease('7.3.4'),
    doorbellCode: true,
    link: undefined,
    siblings: 1,
  });

  it('vNTB: four rows, one without its action name, is 3 of 4 and not ready', () => {
    const r = functionDoorbells(input(fn('pci_epf_vntb', { db_count: '4\n' }), [row(18, 0, ['pci_epf_vntb_db']), row(19, 1, ['pci_epf_vntb_db']), row(20, 2, []), row(21, 3, ['pci_epf_vntb_db'])]));
    expect(r).toMatchObject({ mode: 'its', ready: false, expected: 4 });
    expect(r.reason).toMatch(/^3 of 4 doorbells have their handler/);
    expect(r.notes.join(' ')).toContain('irq 20 (index 2) on ITS-pMSI-e.pcie-ep has no handler yet');
    expect(r.irqs.map((i) => i.virq)).toEqual([18, 19, 21, 20]);
  });

  it('vNTB: the same four rows once the handler is there are ready', () => {
    const r = functionDoorbells(input(fn('pci_epf_vntb', { db_count: '4\n' }), [18, 19, 20, 21].map((v, i) => row(v, i, ['pci_epf_vntb_db']))));
    expect(r).toMatchObject({ mode: 'its', ready: true });
  });

  it('vNTB: every row with its handler, but the verdict says a ring is lost on the way: not ready', () => {
    const i = input(fn('pci_epf_vntb', { db_count: '4\n' }), [18, 19, 20, 21].map((v, n) => row(v, n, ['pci_epf_vntb_db'])));
    const r = functionDoorbells({ ...i, controller: { ...i.controller!, doorbell: { ...i.controller!.doorbell, ringLost: true } } });
    expect(r).toMatchObject({ mode: 'its', ready: false });
    expect(r.reason).toContain('would not reach them');
  });

  it('vNTB: rows with only handler-less irqs are no doorbells yet (polled, not ready)', () => {
    const r = functionDoorbells(input(fn('pci_epf_vntb', { db_count: '4\n' }), [0, 1, 2, 3].map((i) => row(18 + i, i, []))));
    expect(r).toMatchObject({ mode: 'polled', ready: false });
  });

  it('vNTB: db_count unreadable is never ready', () => {
    expect(functionDoorbells(input(fn('pci_epf_vntb'), [row(18, 0, ['pci_epf_vntb_db'])]))).toMatchObject({ ready: false, expected: null });
  });

  it('a function of another driver has no doorbell and does not count', () => {
    expect(functionDoorbells(input(fn('nvmet_pci_epf'), []))).toMatchObject({ doorbellDriver: false, mode: 'none', ready: false });
  });

  it('pci-epf-test: a row of another action or without a handler does not make it "enabled"', () => {
    const r = functionDoorbells(input(fn('pci_epf_test'), [row(30, 0, [])]));
    expect(r).toMatchObject({ mode: 'on-demand', ready: true });
    expect(r.notes.join(' ')).toContain('irq 30 (index 0)');
    expect(r.notes.join(' ')).not.toContain('enabled it now');
    const on = functionDoorbells(input(fn('pci_epf_test'), [row(31, 0, ['pci-ep-test-doorbell'])]));
    expect(on.notes[0]).toBe('The host has enabled it now: irq 31.');
  });
});

describe('doorbell status on a board with one file holding arbitrary bytes', () => {
  /** The fake kernel with reads of PATH answered by BYTES. */
  const hostile = (inner: KernelPort, path: string, bytes: Uint8Array): KernelPort =>
    new Proxy(inner, {
      get(target, prop, receiver) {
        const orig = Reflect.get(target, prop, receiver) as unknown;
        if (typeof orig !== 'function') return orig;
        if (prop === 'read') return (p: string) => (p === path ? Promise.resolve(bytes) : (orig as (p: string) => Promise<Uint8Array>).call(target, p));
        return (orig as (...a: unknown[]) => unknown).bind(target);
      },
    });
  const VNTB_IMX95 = VNTB.replace('auto: { start: true }', '4c300000.pcie-ep: { start: true }').replace('primary: auto', 'primary: 4c300000.pcie-ep').replace('db_count: 16', 'db_count: 4');

  it('never throws, names the file in a problem, and is ready only with every row and its handler (fixed seed)', async () => {
    const k = await applied('imx95', VNTB_IMX95);
    const clean = await doorbellStatus(k);
    expect(clean.controllers[0]!.functions[0]).toMatchObject({ mode: 'its', ready: true, expected: 4 });
    expect(clean.controllers[0]!.link).toMatchObject({ state: 'L0' });
    const paths = [
      '/proc/interrupts',
      '/sys/kernel/debug/dwc_pcie_4c300000.pcie-ep/ltssm_status',
      '/sys/kernel/config/pci_ep/functions/pci_epf_vntb/func1/pci_epf_vntb.0/db_count',
      '/sys/kernel/config/pci_ep/functions/pci_epf_vntb/func1/vendorid',
    ];
    const text = fc.oneof(fc.uint8Array({ maxLength: 48 }), fc.constantFrom('L1_1 (0x141)\n', '4\n', '5\n', '0x1957\n', '           CPU0       \n 18:  0  ITS-pMSI-4c300000.pcie-ep 0 Edge\n').map((t) => new TextEncoder().encode(t)));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), text, async (path, bytes) => {
        const s = await doorbellStatus(hostile(k, path, bytes));
        const f = s.controllers[0]!.functions[0];
        // A function whose directory cannot be read is left out (observe.ts), with a problem naming the file.
        if (f === undefined) expect(s.problems.some((p) => p.path === path)).toBe(true);
        if (f?.ready) {
          expect(f.expected).not.toBeNull();
          expect(f.irqs.filter((i) => i.actions.includes('pci_epf_vntb_db')).length).toBeGreaterThanOrEqual(f.expected!);
        }
        expect(s.ready).toBe(s.waiting.length === 0);
        if (path.endsWith('ltssm_status') && !s.controllers[0]!.link.available) expect(s.problems.some((p) => p.path === path)).toBe(true);
      }),
      { seed: 0xd00b, numRuns: 150 },
    );
  });
});
