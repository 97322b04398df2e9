// Hostile NVMe endpoint configs: whatever a user writes in the nvme object, epctl either refuses
// it with an error that names the field, or plans it and applies it to the fake kernel — which
// then either succeeds (the controller made, a re-plan empty) or fails and rolls back to the
// board as it was. Never a crash, never an oops, never a half-done board.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { createFakeKernel } from '../fake/index.js';
import { parseConfig, ConfigError } from '../config/load.js';
import { observePciEp } from '../configfs/observe.js';
import { observeNvmet } from '../configfs/nvmet.js';
import { planFor } from './converge.js';
import { apply } from './apply.js';
import { status } from '../status/status.js';

const hostileText = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom('', ' ', 'a/b', 'x\ny', '..', '\u00e9', 'nqn.2014-08.org.nvmexpress.discovery', 'nqn.2026-11.' + 'x'.repeat(240), '/dev/kmsg', 'relative/path'),
);
const hostileNumber = fc.oneof(fc.integer({ min: -2, max: 70000 }), fc.constantFrom(0, 129, 4096, 65536, 0xffffffff), fc.double(), fc.constant('4'));
/** Mostly a value the kernel takes, sometimes anything at all. */
const mostly = <T>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<unknown>) => fc.oneof({ weight: 19, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: hostile });
const ascii = (max: number) => fc.string({ minLength: 1, maxLength: max, unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)) });
const namespace = fc.oneof(
  { weight: 16, arbitrary: fc.constant({ null_blk: true }) },
  { weight: 2, arbitrary: fc.record({ device: mostly(fc.constantFrom('/dev/nullb0', '/dev/nullb1', '/dev/kmsg'), hostileText) }) },
  { weight: 1, arbitrary: fc.record({ null_blk: fc.constant(true), nsid: mostly(fc.integer({ min: 1, max: 4 }), hostileNumber) }) },
  { weight: 1, arbitrary: fc.record({ null_blk: fc.constantFrom(true, false), device: hostileText, nsid: hostileNumber }, { requiredKeys: [] }) },
);
const nvme = fc.record(
  {
    nqn: mostly(fc.stringMatching(/^nqn\.20[0-9]{2}-[01][0-9]\.[a-z.]{1,10}:[a-z0-9-]{1,12}$/), hostileText),
    port: mostly(fc.integer({ min: 0, max: 65535 }), hostileNumber),
    queue_pairs: mostly(fc.integer({ min: 1, max: 3 }), hostileNumber),
    mdts_kb: mostly(fc.constantFrom(1, 4, 64, 512, 2048), hostileNumber),
    model: mostly(ascii(40), hostileText),
    serial: mostly(ascii(20), hostileText),
    vendor_id: mostly(fc.integer({ min: 0, max: 0xffff }), hostileNumber),
    subsys_vendor_id: mostly(fc.integer({ min: 0, max: 0xffff }), hostileNumber),
    namespaces: mostly(fc.array(namespace, { minLength: 1, maxLength: 3 }), fc.array(namespace, { maxLength: 2 })),
  },
  { requiredKeys: ['nqn', 'namespaces'] },
);
const fn = fc.record(
  {
    driver: mostly(fc.constant('nvmet_pci_epf'), fc.constant('pci_epf_test')),
    name: fc.constantFrom('n0', 'nvme'),
    controller: mostly(fc.constantFrom('auto', '7e000000.pcie-ep'), fc.constant('nope')),
    msix_interrupts: mostly(fc.integer({ min: 1, max: 8 }), hostileNumber),
    msi_interrupts: mostly(fc.integer({ min: 1, max: 8 }), hostileNumber),
    header: fc.record({ deviceid: mostly(fc.integer({ min: 0, max: 0xffff }), hostileNumber), vendorid: fc.integer({ min: 0, max: 0xffff }) }, { requiredKeys: [] }).map((h) => (Math.abs(h.deviceid as number) % 5 === 0 ? h : { deviceid: h.deviceid })),
    nvme,
  },
  { requiredKeys: ['driver', 'name', 'nvme'] },
);

describe('hostile nvme configs', () => {
  const seen = { refused: 0, planRefused: 0, rolledBack: 0, applied: 0 };
  it('are refused with the field named, or applied and verified, or rolled back to the board as it was', async () => {
    await fc.assert(
      fc.asyncProperty(fn, async (f) => {
        const text = stringify({ version: 1, functions: [f] });
        let config;
        try {
          config = parseConfig(text, 'hostile.yaml');
        } catch (e) {
          seen.refused++;
          expect(e).toBeInstanceOf(ConfigError);
          for (const issue of (e as ConfigError).issues) expect(issue.field === '' || issue.field.startsWith('functions')).toBe(true);
          return;
        }
        const k = createFakeKernel({ board: 'qemu-virt', kernel: '7.3' });
        const view = async () => ({ pciEp: await observePciEp(k, (x) => x()), nvmet: await observeNvmet(k, (x) => x()) });
        const before = await view();
        const { plan } = await planFor(k, config, new Set(), { force: true });
        for (const r of plan.refusals) expect(r.where.length > 0 && r.fix.length > 0).toBe(true);
        if (plan.refusals.length) return void seen.planRefused++;
        const r = await apply(k, plan);
        expect(k.tainted).toBe(false);
        if (!r.ok) {
          seen.rolledBack++;
          expect(r.rollback!.errors).toEqual([]);
          expect(await view()).toEqual(before);
          return;
        }
        seen.applied++;
        const owned = new Set(plan.owned);
        expect((await planFor(k, config, owned, { force: true })).plan.ops).toEqual([]);
        const st = await status(k);
        for (const n of st.nvme) if (n.epc !== null) expect(n.controller, JSON.stringify(n)).not.toBeNull();
      }),
      { numRuns: 150 },
    );
    // The generator reaches every outcome, not only the parser's refusals (about half of the runs apply).
    expect(seen.applied).toBeGreaterThan(0);
    expect(seen.planRefused).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  }, 120_000);
});
