// Random (board state, config) pairs through plan + apply on the fake kernel: the fake oopses
// on every configfs sequence that crashes a real kernel (the oopses observed on 7.3.4, which it models), so an
// apply that never sees KernelOops and leaves the kernel untainted issued no hazard. Every run
// ends refused (nothing written), applied (and then a re-plan is empty), or failed and rolled
// back to exactly the board it started from.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createFakeKernel, type FakeKernel } from '../fake/index.js';
import { getBoard } from '../boards/index.js';
import { configSchema, type Config, type FunctionConfig } from '../config/schema.js';
import { observePciEp } from '../configfs/observe.js';
import { KernelOops } from '../kernel/errors.js';
import { planFor } from './converge.js';
import { apply } from './apply.js';

const BOARDS = ['qemu-virt', 'qemu-virt-no-msi', 'imx95', 'lx2160a', 'rk3588-msi-map'] as const;
const KERNELS = ['6.1', '6.12', '7.3'] as const;
const MUTATING = new Set(['write', 'mkdir', 'rmdir', 'symlink', 'unlink']);

function configArb(board: string): fc.Arbitrary<Config> {
  const b = getBoard(board);
  const epcs = [...b.controllers.map((c) => c.name), 'auto'];
  const drivers = b.functionDrivers.filter((d) => d !== 'pci_epf_mhi');
  const header = fc.record(
    { vendorid: fc.integer({ min: 0, max: 0xffff }), deviceid: fc.integer({ min: 0, max: 0xffff }), revid: fc.integer({ min: 0, max: 0xff }) },
    { requiredKeys: [] },
  );
  const fn = fc.record({
    driver: fc.constantFrom(...drivers),
    name: fc.constantFrom('f0', 'f1', 'f2', 'func.1'),
    route: fc.oneof(fc.constant(undefined), fc.record({ via: fc.constantFrom('controller', 'primary'), epc: fc.constantFrom(...epcs), secondary: fc.option(fc.constantFrom(...epcs), { nil: undefined }) })),
    msi: fc.option(fc.integer({ min: 1, max: 32 }), { nil: undefined }),
    msix: fc.option(fc.integer({ min: 1, max: 2048 }), { nil: undefined }),
    ntb: fc.record({ db_count: fc.integer({ min: 3, max: 32 }), num_mws: fc.integer({ min: 0, max: 4 }), spad_count: fc.integer({ min: 0, max: 64 }), mw1: fc.constantFrom(0x1000, 0x100000) }, { requiredKeys: ['db_count'] }),
    doorbell: fc.boolean(),
  });
  return fc
    .record({
      headers: fc.dictionary(fc.constantFrom(...drivers), header),
      functions: fc.uniqueArray(fn, { maxLength: 4, selector: (f) => `${f.driver}/${f.name}` }),
      starts: fc.dictionary(fc.constantFrom(...epcs), fc.record({ start: fc.boolean() }, { requiredKeys: [] }), { maxKeys: 2 }),
    })
    .map(({ headers, functions, starts }) => {
      const fns: FunctionConfig[] = functions.map((f) => {
        const out: FunctionConfig = { driver: f.driver, name: f.name };
        if (f.route) {
          if (f.route.via === 'controller') out.controller = f.route.epc;
          else {
            out.primary = f.route.epc;
            if (f.route.secondary !== undefined) out.secondary = f.route.secondary;
          }
        }
        if (headers[f.driver] && Object.keys(headers[f.driver]!).length) out.header = headers[f.driver]!;
        if (f.msi !== undefined) out.msi_interrupts = f.msi;
        if (f.msix !== undefined) out.msix_interrupts = f.msix;
        if (f.driver !== 'pci_epf_test') {
          const t: Record<string, number> = { db_count: f.ntb.db_count };
          if (f.ntb.num_mws !== undefined) t['num_mws'] = f.ntb.num_mws;
          if (f.ntb.num_mws && f.ntb.mw1 !== undefined) t['mw1'] = f.ntb.mw1;
          if (f.ntb.spad_count !== undefined) t['spad_count'] = f.ntb.spad_count;
          out.type = t;
        }
        if (f.doorbell && f.driver !== 'pci_epf_ntb') out.doorbell = true;
        return out;
      });
      return configSchema.parse({ version: 1, controllers: starts, functions: fns });
    });
}

/** The board as a person sees it; a recreated EPF device may get another index in its type group's name. */
const view = async (k: FakeKernel) =>
  JSON.parse(JSON.stringify({ pciEp: await observePciEp(k, (fn) => fn()), drivers: (k.toState().model as { drivers: unknown }).drivers }).replace(/(pci_epf_\w+)\.\d+/g, '$1.N'));

/** A rollback step that did not run because running it could crash the kernel, and what configfs then refuses because of it. */
const SAFE_LEFTOVER = /^(left unlinked|left linked|ENOTEMPTY|EBUSY)/;

/** A fault some operation of the next apply may meet: the kernel refusing a call with an errno. */
const faultArb = fc.option(
  fc.record({
    op: fc.constantFrom('write' as const, 'mkdir' as const, 'symlink' as const, 'unlink' as const, 'rmdir' as const),
    errno: fc.constantFrom('EIO' as const, 'EINVAL' as const, 'ENOMEM' as const, 'EBUSY' as const),
    nth: fc.integer({ min: 1, max: 12 }),
  }),
  { nil: undefined },
);

/** One plan + apply; returns what happened. */
async function step(
  k: FakeKernel,
  config: Config,
  owned: Set<string>,
  fault: { op: 'write' | 'mkdir' | 'symlink' | 'unlink' | 'rmdir'; errno: 'EIO' | 'EINVAL' | 'ENOMEM' | 'EBUSY'; nth: number } | undefined,
  /** Errnos of every fault armed in this run so far: one not met yet may strike later, rollbacks included. */
  armed: Set<string>,
): Promise<'refused' | 'applied' | 'rolled-back'> {
  const { plan } = await planFor(k, config, owned);
  const before = await view(k);
  if (fault && plan.refusals.length === 0) {
    k.injectFault({ ...fault, path: '/sys/kernel/config/**' });
    armed.add(fault.errno);
  }
  const from = k.opLog.length;
  if (plan.refusals.length) {
    expect(k.opLog.slice(from).filter((e) => MUTATING.has(e.op))).toEqual([]);
    return 'refused';
  }
  const r = await apply(k, plan, { own: async (fn, on) => void (on ? owned.add(fn) : owned.delete(fn)) });
  if (!r.ok) {
    // A module the apply loaded stays loaded: apply has no rmmod (a modprobe is not rolled back).
    const loaded = new Set(plan.ops.flatMap((o) => (o.kind === 'modprobe' ? [o.driver] : [])));
    const unloaded = (v: { pciEp: { drivers: string[] }; drivers: Record<string, unknown> }) => ({
      ...v,
      pciEp: { ...v.pciEp, drivers: v.pciEp.drivers.filter((d) => !loaded.has(d)) },
      drivers: Object.fromEntries(Object.entries(v.drivers).filter(([d]) => !loaded.has(d))),
    });
    if (r.rollback!.errors.length === 0) expect(unloaded(await view(k)), `rollback of ${r.failure!.message}`).toEqual(unloaded(before));
    // Only what the hazard rules forbid undoing is left, and the rollback says so.
    // An injected fault may also strike a rollback step (as a failing kernel would): reported, never hidden.
    else for (const e of r.rollback!.errors) expect(e.message, `${e.step} after ${r.failure!.message}`).toMatch(new RegExp([SAFE_LEFTOVER.source, ...[...armed].map((c) => `^${c}:`)].join('|')));
    return 'rolled-back';
  }
  owned.clear();
  for (const f of plan.owned) owned.add(f);
  const again = await planFor(k, config, owned);
  expect(again.plan.ops, 'a re-plan after a successful apply').toEqual([]);
  return 'applied';
}

describe('plan + apply on random boards and configs', () => {
  it('never crashes or taints the kernel; each apply converges (re-plan empty) or rolls back exactly', async () => {
    const outcomes = { refused: 0, applied: 0, 'rolled-back': 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...BOARDS).chain((board) =>
          fc.tuple(fc.constant(board), fc.constantFrom(...KERNELS), fc.array(fc.tuple(configArb(board), faultArb, fc.boolean()), { minLength: 1, maxLength: 4 }), fc.boolean()),
        ),
        async ([board, kernel, steps, foreign]) => {
          const k = createFakeKernel({ board, kernel });
          // Something made by hand first: a foreign function epctl must leave alone.
          if (foreign) await k.mkdir('/sys/kernel/config/pci_ep/functions/pci_epf_test/by-hand');
          const owned = new Set<string>();
          const armed = new Set<string>();
          for (const [config, fault, startFirst] of steps) {
            // A controller someone started by hand: unlinks there must stop it first.
            if (startFirst) {
              const epc = (await k.readdir('/sys/kernel/config/pci_ep/controllers'))[0]!;
              await k.write(`/sys/kernel/config/pci_ep/controllers/${epc}/start`, '1').catch(() => undefined);
            }
            try {
              outcomes[await step(k, config, owned, fault, armed)]++;
            } catch (e) {
              if (e instanceof KernelOops) throw new Error(`apply crashed the ${kernel} kernel: ${e.message}\n${e.log.slice(0, 3).join('\n')}`);
              throw e;
            }
            expect(k.tainted, `kernel log:\n${k.dmesg().slice(-8).join('\n')}`).toBe(false);
            if (foreign) expect(await k.exists('/sys/kernel/config/pci_ep/functions/pci_epf_test/by-hand')).toBe(true);
          }
        },
      ),
      // A fixed seed keeps the outcome counts below stable; EPCTL_SEED explores others.
      { numRuns: 150, seed: Number(process.env['EPCTL_SEED'] ?? 20261130) },
    );
    // The generator reaches all three outcomes, or the property proves less than it says.
    expect(outcomes.applied).toBeGreaterThan(20);
    expect(outcomes.refused).toBeGreaterThan(5);
    expect(outcomes['rolled-back']).toBeGreaterThan(8);
  });
});
