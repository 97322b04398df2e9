// The reserved-BAR preflight (plan/bars.ts) on RK3588, whose BAR4 holds the eDMA registers:
// refusals before any write with the rule, the config node and the fix; --force notes for the
// verdict-based ones; and, over random BAR assignments, agreement with the fake kernel: what the
// plan lets through binds and gets its doorbells, what it refuses fails in the kernel.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createFakeKernel } from '../fake/index.js';
import { parseConfig } from '../config/load.js';
import { planFor } from './converge.js';
import { apply } from './apply.js';

const MUTATING = new Set(['write', 'mkdir', 'rmdir', 'symlink', 'unlink']);

const vntb = (type: Record<string, number>, doorbell = true): string => {
  const t = Object.entries({ db_count: 4, spad_count: 16, num_mws: 1, mw1: 0x100000, ...type }).map(([k, v]) => `${k}: ${v}`).join(', ');
  return `version: 1
controllers: { auto: { start: true } }
functions:
  - { driver: pci_epf_vntb, name: v, primary: auto, msi_interrupts: 4, header: { vendorid: 0x1957, deviceid: 0x0809 }, type: { ${t} }${doorbell ? ', doorbell: true' : ''} }
`;
};

async function planOn(board: string, yaml: string, force = false) {
  const k = createFakeKernel({ board });
  const planned = await planFor(k, parseConfig(yaml, 'x.yaml'), new Set(), { force });
  return { k, ...planned, writes: () => k.opLog.filter((e) => MUTATING.has(e.op)).length };
}

const shown = (r: { where: string; reason: string; fix: string }[]): string[] => r.map((x) => `${x.where}: ${x.reason} | fix: ${x.fix}`);

describe('reserved BAR4 preflight on RK3588 (7.3)', () => {
  it('holds whatever the doorbell verdict: a kernel built without the doorbell option still refuses ctrl_bar 4', async () => {
    const k = createFakeKernel({ board: 'rk3588', config: { PCI_ENDPOINT_MSI_DOORBELL: 'n' } });
    const { plan, board } = await planFor(k, parseConfig(vntb({ ctrl_bar: 4 }, false), 'x.yaml'), new Set());
    expect(board.controllers[0]!.doorbell.code).toBe('config-disabled');
    expect(plan.refusals.map((r) => r.where)).toEqual(['functions.0.type.ctrl_bar']);
  });

  it('a vNTB doorbell left on its automatic BAR (BAR1) in embedded mode is refused at the doorbell, naming BAR4 and the db_bar fix', async () => {
    const { plan, writes } = await planOn('rk3588', vntb({}));
    expect(shown(plan.refusals)).toEqual([
      expect.stringMatching(/^functions\.0\.doorbell: the embedded \(eDMA\) doorbell of a40000000\.pcie-ep is published in its reserved BAR4 \(offset 0xa0\), but vNTB's doorbell BAR would be BAR1 \(its automatic choice, .*-EINVAL, logs nothing, and vNTB polls \| fix: set type\.db_bar: 4 \(the db_bar attribute of pci_epf_vntb\.N\/\)$/),
    ]);
    expect(writes()).toBe(0);
  });

  it('a declared db_bar other than 4 is refused at type.db_bar', async () => {
    const { plan } = await planOn('rk3588', vntb({ db_bar: 2 }));
    expect(plan.refusals.map((r) => [r.where, r.fix])).toEqual([['functions.0.type.db_bar', 'set type.db_bar: 4 (the db_bar attribute of pci_epf_vntb.N/)']]);
    expect(plan.refusals[0]!.reason).toContain("vNTB's doorbell BAR would be BAR2:");
  });

  it('--force turns it into a note; apply then writes, finds no doorbell rows at the link (vNTB polls) and rolls back', async () => {
    const { k, plan } = await planOn('rk3588', vntb({}), true);
    expect(plan.refusals).toEqual([]);
    expect(plan.notes.join('\n')).toMatch(/^--force: skipped the doorbell preflight for pci_epf_vntb\/v on a40000000\.pcie-ep: the embedded \(eDMA\) doorbell .* BAR4 /m);
    const r = await apply(k, plan);
    expect(r.ok).toBe(false);
    expect(r.failure).toMatchObject({ code: 'NODOORBELL', op: { kind: 'link' } });
  });

  it('db_bar 4 passes, applies, and the doorbells are the one shared dw-edma-emul row', async () => {
    const { k, plan } = await planOn('rk3588', vntb({ db_bar: 4 }));
    expect(plan.refusals).toEqual([]);
    expect((await apply(k, plan)).ok).toBe(true);
    const rows = new TextDecoder().decode(await k.read('/proc/interrupts')).split('\n').filter((l) => l.includes('pci_epf_vntb_db'));
    expect(rows).toEqual([expect.stringMatching(/dw-edma-emul +Level +pci_epf_vntb_db$/)]);
  });

  it('ctrl_bar or mw1_bar on BAR4 is the kernel\'s rule ("Invalid BAR type"): refused, also with --force', async () => {
    for (const attr of ['ctrl_bar', 'mw1_bar']) {
      for (const force of [false, true]) {
        const { plan } = await planOn('rk3588', vntb({ [attr]: 4 }), force);
        const r = plan.refusals.find((x) => x.where === `functions.0.type.${attr}`);
        expect(r, `${attr} force=${force}`).toBeDefined();
        expect(r!.reason).toMatch(/BAR4 of a40000000\.pcie-ep is reserved for its DMA registers .*"Invalid BAR type"\), so the link fails \(EINVAL\)$/);
        expect(r!.fix).toBe(`set type.${attr} to a BAR other than 4, or leave it out (-1): the kernel never picks a reserved BAR`);
      }
    }
  });

  it('with an ITS doorbell (rk3588-msi-map) db_bar 4 is refused: vNTB maps its doorbell BAR itself and the link fails with EPERM', async () => {
    const { plan } = await planOn('rk3588-msi-map', vntb({ db_bar: 4 }));
    expect(plan.refusals.map((r) => r.where)).toEqual(['functions.0.type.db_bar']);
    expect(plan.refusals[0]!.reason).toMatch(/not the embedded one published there \(doorbell its\).*EPERM/);
    const forced = await planOn('rk3588-msi-map', vntb({ db_bar: 4 }), true);
    expect(forced.plan.refusals).toEqual([]);
    const r = await apply(forced.k, forced.plan);
    expect(r.ok).toBe(false);
    expect(r.failure!.kernelLog?.join('\n') ?? r.failure!.message).toContain('Invalid BAR type');
  });

  it('pci-epf-test bar4_size is refused (the kernel skips BAR4); other sizes pass', async () => {
    const test = (type: string) => `version: 1\nfunctions: [{ driver: pci_epf_test, name: t, controller: auto, msi_interrupts: 1, msix_interrupts: 1, type: { ${type} } }]\n`;
    const { plan } = await planOn('rk3588', test('bar4_size: 1048576'));
    expect(shown(plan.refusals)).toEqual([expect.stringMatching(/^functions\.0\.type\.bar4_size: BAR4 of a40000000\.pcie-ep is reserved .*pci-epf-test skips a reserved BAR .* \| fix: drop type\.bar4_size$/)]);
    expect((await planOn('rk3588', test('bar2_size: 1048576'))).plan.refusals).toEqual([]);
  });

  it('other boards reserve no DMA BAR: BAR4 is a vNTB BAR like any other there', async () => {
    const { plan } = await planOn('imx8mp', vntb({ db_bar: 4 }, false));
    expect(plan.refusals).toEqual([]);
  });
});

describe('property: the BAR preflight agrees with the fake kernel on RK3588', () => {
  const bar = fc.integer({ min: -1, max: 5 });
  it('a vNTB config the plan lets through applies with its doorbells; one refused only for BARs fails in the kernel when forced through', async () => {
    let applied = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('rk3588', 'rk3588-msi-map'),
        fc.record({ ctrl_bar: bar, db_bar: bar, mw1_bar: bar }).filter((b) => {
          const set = Object.values(b).filter((n) => n >= 0);
          return new Set(set).size === set.length;
        }),
        fc.boolean(),
        async (board, bars, doorbell) => {
          const type = Object.fromEntries(Object.entries(bars).filter(([, v]) => v >= 0));
          const yaml = vntb(type, doorbell);
          const { k, plan, writes } = await planOn(board, yaml);
          const barRefusals = plan.refusals.filter((r) => /BAR4|BAR\d/.test(r.reason));
          expect(plan.refusals).toEqual(barRefusals);
          const uses4 = bars.ctrl_bar === 4 || bars.mw1_bar === 4;
          if (uses4) expect(plan.refusals.length).toBeGreaterThan(0);
          if (plan.refusals.length === 0) {
            const r = await apply(k, plan);
            expect(r.ok, `${board} ${JSON.stringify(bars)} doorbell=${doorbell}: ${r.failure?.message}`).toBe(true);
            applied++;
            return;
          }
          expect(writes()).toBe(0);
          // Forced through, refusals dropped: the kernel fails it (a link error or no doorbell rows), and apply rolls back.
          const forced = await planOn(board, yaml, true);
          const r = await apply(forced.k, { ...forced.plan, refusals: [] });
          expect(r.ok, `${board} ${JSON.stringify(bars)} doorbell=${doorbell}`).toBe(false);
          refused++;
        },
      ),
      { numRuns: 40, seed: 3588 },
    );
    // Both sides of the rule were exercised.
    expect(applied).toBeGreaterThan(5);
    expect(refused).toBeGreaterThan(5);
  }, 120_000);
});
