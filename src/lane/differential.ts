// Scenario 2 of the real-kernel lane, host side: generate a seeded Op list, have the guest run
// it on the real kernel, run one long-lived fake over the same stream, compare after the one
// normalisation, and shrink a divergence by re-running candidates in fresh boots (capped).
// The boot is the caller's (`execute`), so this runs the same against QEMU or another fake.
import { createFakeKernel, resolveKernel } from '../fake/index.js';
import { kernelBehaviour } from '../kernel/behaviour.js';
import { PCI_EP_ROOT, describeOp, type Op, type OpResult } from './ops.js';
import { fakeLogTap } from './kmsg.js';
import { runOps } from './run-ops.js';
import { firstDivergence, normaliseResult, type Divergence } from './normalise.js';
import { generateOps } from './generate.js';
import { firstHazard, type HazardProfile } from './hazards.js';

/** Runs the Ops in a freshly booted kernel and returns its raw results (the guest's runOps). */
export type Executor = (ops: readonly Op[]) => Promise<OpResult[]>;

/** One differential run: the seed, its size, the fake's board and release, the real side. */
export interface DifferentialOptions {
  seed: number;
  /** Ops per run (the lane uses at least 1000). */
  count: number;
  /** Fake board profile (qemu-virt for the lane's EP node with msi-map). */
  board: string;
  /** The real kernel's release (uname -r), which the fake models. */
  release: string;
  execute: Executor;
  /** Most fresh boots the shrinker may use. */
  shrinkBoots?: number;
}

/** Everything a run saw: both sides' raw results and, on a divergence, the shrunk list. */
export interface DifferentialReport {
  seed: number;
  board: string;
  release: string;
  ops: Op[];
  real: OpResult[];
  fake: OpResult[];
  divergence?: Divergence;
  /** The shortest list found that still diverges, with its first divergence. */
  shrunk?: { ops: Op[]; divergence: Divergence; boots: number };
}

/** How the fake's run and the guest's run agree on the kernel's quirks. */
export function runProfile(release: string): { settleSubGroups: boolean; subLinkUnlinkSafe: boolean; vntbRebindSafe: boolean } {
  const b = kernelBehaviour(resolveKernel(release));
  return { settleSubGroups: b.subGroupsDelayed, subLinkUnlinkSafe: b.subLinkUnlinkSafe, vntbRebindSafe: b.vntbRebindSafe };
}

/** The fake's results for `ops`, from a fresh fake of that board and release. */
export async function fakeResults(board: string, release: string, ops: readonly Op[]): Promise<OpResult[]> {
  const fake = createFakeKernel({ board, kernel: release });
  return runOps(fake, fakeLogTap(fake), ops, { settleSubGroups: runProfile(release).settleSubGroups });
}

/**
 * The drivers whose functions the generator makes. Not pci_epf_ntb on one EPC: its bind returns
 * 0 without a secondary EPC and its unbind then tears down what was never set up, the shape of
 * the vNTB secondary/ unlink oops seen on 7.3.4 [inferred, not tried]; not nvmet_pci_epf, whose controllers need the nvmet tree
 * outside pci_ep (its own fixed trace: scripts/lane/guest/nvme.ts, test/fixtures/kernel/7.3.4/qemu-virt-nvmet.json).
 * Their functions/ entries are still listed, read and stat'ed like every other path.
 */
const GENERATED_DRIVERS: readonly string[] = ['pci_epf_test', 'pci_epf_vntb'];

/** The functions/ and controllers/ entries of a fresh fake: what the generator may name. */
async function vocabulary(board: string, release: string): Promise<{ drivers: string[]; controllers: string[] }> {
  const fake = createFakeKernel({ board, kernel: release });
  const drivers = (await fake.readdir(`${PCI_EP_ROOT}/functions`)).filter((d) => GENERATED_DRIVERS.includes(d));
  return { drivers, controllers: await fake.readdir(`${PCI_EP_ROOT}/controllers`) };
}

/** Generates, runs both sides, compares, and shrinks the first divergence. */
export async function differential(o: DifferentialOptions): Promise<DifferentialReport> {
  const profile = runProfile(o.release);
  const ops = generateOps({ seed: o.seed, count: o.count, ...(await vocabulary(o.board, o.release)), subLinkUnlinkSafe: profile.subLinkUnlinkSafe, vntbRebindSafe: profile.vntbRebindSafe });
  const real = await o.execute(ops);
  const fake = await fakeResults(o.board, o.release, ops);
  const divergence = firstDivergence(ops, real, fake);
  const report: DifferentialReport = { seed: o.seed, board: o.board, release: o.release, ops, real, fake };
  if (!divergence) return report;
  report.divergence = divergence;
  report.shrunk = await shrink(o, ops.slice(0, divergence.index + 1), divergence, profile);
  return report;
}

/**
 * Delta debugging over the prefix that diverged: drop chunks (halves, quarters, … single Ops),
 * keep a candidate when a fresh boot and a fresh fake still disagree on it. Every candidate is
 * a sub-list, so the hazard rules still hold (checked anyway). Stops after `shrinkBoots` boots.
 */
async function shrink(o: DifferentialOptions, start: Op[], first: Divergence, hazards: HazardProfile): Promise<{ ops: Op[]; divergence: Divergence; boots: number }> {
  const cap = o.shrinkBoots ?? 40;
  let best = start;
  let bestDiv = first;
  let boots = 0;
  let chunk = Math.max(1, Math.floor(best.length / 2));
  while (boots < cap) {
    let shrunk = false;
    for (let at = 0; at < best.length && boots < cap; at += chunk) {
      // The Op that diverged stays: it is what the report is about.
      const candidate = [...best.slice(0, at), ...best.slice(at + chunk)];
      if (candidate.length === 0 || firstHazard(candidate, hazards)) continue;
      boots++;
      const real = await o.execute(candidate);
      const fake = await fakeResults(o.board, o.release, candidate);
      const d = firstDivergence(candidate, real, fake);
      if (d) {
        best = candidate.slice(0, d.index + 1);
        bestDiv = d;
        shrunk = true;
        break;
      }
    }
    if (!shrunk) {
      if (chunk === 1) break;
      chunk = Math.max(1, Math.floor(chunk / 2));
    }
  }
  return { ops: best, divergence: bestDiv, boots };
}

/** The report's text: the seed, the shrunk sequence and both sides of its last Op. */
export function formatDivergence(r: DifferentialReport): string {
  if (!r.divergence) return `seed ${r.seed}: ${r.ops.length} ops on ${r.release} (${r.board}), no divergence`;
  const s = r.shrunk ?? { ops: r.ops.slice(0, r.divergence.index + 1), divergence: r.divergence, boots: 0 };
  const show = (x: OpResult | undefined): string => (x ? JSON.stringify(normaliseResult(x), null, 1) : '(no result: the call never returned)');
  return [
    `seed ${r.seed}: divergence at op ${r.divergence.index} of ${r.ops.length} on ${r.release} (${r.board}): ${describeOp(r.divergence.op)}`,
    `shrunk to ${s.ops.length} ops in ${s.boots} fresh boots (re-run with the same seed to reproduce):`,
    ...s.ops.map((op, i) => `  ${i}: ${describeOp(op)}`),
    `real kernel: ${show(s.divergence.real)}`,
    `fake kernel: ${show(s.divergence.fake)}`,
  ].join('\n');
}
