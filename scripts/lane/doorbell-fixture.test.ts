// The real kernels' doorbell results recorded by the lane (`--record-doorbells`:
// test/fixtures/kernel/<release>/doorbells/<variant>.json) replayed in-process against the fake
// of the same release and board: the vNTB control region and doorbell BAR target read through
// the Cadence inbound-translation registers, the doorbell rows after N rings each, and
// pci-epf-test's ENABLE / ring / DISABLE registers (or its failed ENABLE without a DISABLE).
import { describe, it, expect } from 'vitest';
import { createFakeKernel } from '../../src/fake/index.js';
import type { FakeKernel } from '../../src/fake/api.js';
import { cadenceBarAccess } from '../../src/host/cadence-devmem.js';
import * as testHost from '../../src/host/pci-endpoint-test.js';
import * as vntbHost from '../../src/host/vntb.js';
import { doorbellStatus } from '../../src/doorbell/status.js';
import { VARIANT_BOARD } from './checks.js';
import { scenarioFixtures } from '../../src/lane/fixture.js';
import type { DtVariant } from './dts.js';

const EPC = '7e000000.pcie-ep';
const PCI_EP = '/sys/kernel/config/pci_ep';
const REG = 0x7e000000n;

interface Fixture {
  kind: 'doorbells' | 'doorbell-refusal';
  release: string;
  variant: DtVariant;
  dbCount: number;
  rings: number;
  [k: string]: unknown;
}

const fixtures = scenarioFixtures<Fixture>('doorbells');

/** examples/pci-epf-vntb.yaml with db_count N, as epctl apply writes it (num_mws before mw1). */
async function vntb(fake: FakeKernel, dbCount: number): Promise<string> {
  const fn = `${PCI_EP}/functions/pci_epf_vntb/func1`;
  await fake.mkdir(fn);
  for (const [a, v] of [['vendorid', '0x1957'], ['deviceid', '0x0809'], ['msi_interrupts', '32']] as const) await fake.write(`${fn}/${a}`, v);
  const g = `${fn}/${(await fake.readdir(fn)).find((e) => e.startsWith('pci_epf_vntb.'))}`;
  for (const [a, v] of [['num_mws', '1'], ['db_count', String(dbCount)], ['spad_count', '128'], ['mw1', '1048576'], ['vntb_vid', '6487'], ['vntb_pid', '2058'], ['vbus_number', '16']] as const) await fake.write(`${g}/${a}`, v);
  await fake.symlink(`${PCI_EP}/controllers/${EPC}`, `${fn}/primary/${EPC}`);
  await fake.write(`${PCI_EP}/controllers/${EPC}/start`, '1');
  return fn;
}

/** examples/pci-epf-test.yaml. */
async function epfTest(fake: FakeKernel): Promise<void> {
  const fn = `${PCI_EP}/functions/pci_epf_test/func1`;
  await fake.mkdir(fn);
  for (const [a, v] of [['vendorid', '0x104c'], ['deviceid', '0xb500'], ['msi_interrupts', '16'], ['msix_interrupts', '8']] as const) await fake.write(`${fn}/${a}`, v);
  await fake.symlink(fn, `${PCI_EP}/controllers/${EPC}/func1`);
  await fake.write(`${PCI_EP}/controllers/${EPC}/start`, '1');
}

const rows = (s: Awaited<ReturnType<typeof doorbellStatus>>) =>
  s.controllers.flatMap((c) => c.functions.map((f) => ({ function: f.function, mode: f.mode, irqs: f.irqs.map((i) => ({ virq: i.virq, index: i.index, chip: i.chip, total: i.total, actions: i.actions })) })));

describe('recorded real-kernel doorbell results replayed against the fake', () => {
  it('has the fixtures of both kernels and all three DT variants (record them with the lane: --record-doorbells)', () => {
    expect(fixtures.map(({ f }) => `${f.release} ${f.variant}`).sort()).toEqual(['6.12.117 msi-map', '6.12.117 msi-parent', '6.12.117 no-msi', '7.3.4 msi-map', '7.3.4 msi-parent', '7.3.4 no-msi']);
  });
  for (const { file, f } of fixtures) {
    it(`${file}`, async () => {
      const fake = createFakeKernel({ board: VARIANT_BOARD[f.variant]!, kernel: f.release });
      const a = () => cadenceBarAccess(fake, { regBase: REG });
      if (f.kind === 'doorbells') {
        const fn = await vntb(fake, f.dbCount);
        const acc = a();
        const ctrl = await vntbHost.readCtrl(acc, { ctrl: 0, db: 1 }, f.dbCount);
        expect(ctrl).toEqual(f.ctrl);
        if (ctrl.dbEntrySize === 0) expect(`0x${(await acc.target(1)).toString(16)}`).toBe(f.dbBarTarget);
        for (let i = 0; i < f.dbCount; i++) for (let n = 0; n < f.rings; n++) await vntbHost.ring(acc, { ctrl: 0, db: 1 }, ctrl, i);
        const want = (f.statusAfter as { controllers: { functions: { function: string; mode: string; irqs: unknown[] }[] }[] }).controllers.flatMap((c) => c.functions.map((x) => ({ function: x.function, mode: x.mode, irqs: x.irqs })));
        expect(rows(await doorbellStatus(fake))).toEqual(want);
        if (f.testEnable === undefined) return;
        await fake.write(`${PCI_EP}/controllers/${EPC}/start`, '0');
        await fake.unlink(`${fn}/primary/${EPC}`);
        await fake.rmdir(fn);
        await epfTest(fake);
        const t = a();
        expect(await testHost.enable(t)).toEqual(f.testEnable);
        expect(`0x${(await t.target(1)).toString(16)}`).toBe(f.testDbBarTarget);
        const rung = [];
        for (let n = 0; n < f.rings; n++) rung.push(await testHost.ring(t));
        expect(rung.map(({ ok, status }) => ({ ok, status }))).toEqual(f.testRings);
        expect(await testHost.disable(t)).toEqual(f.testDisable);
        expect(await testHost.readRegisters(t)).toEqual(f.testRegisters);
      } else {
        if (f.testEnable === undefined) return;
        await epfTest(fake);
        const t = a();
        expect(await testHost.enable(t)).toEqual(f.testEnable);
        expect(await testHost.readRegisters(t)).toEqual(f.testRegisters);
      }
    });
  }
});
