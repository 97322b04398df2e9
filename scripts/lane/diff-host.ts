// Scenario 2 of the lane, host driver: the differential test (src/lane/differential.ts) with the
// guest as the real side. Each run, and each shrink candidate, is one fresh boot whose harness
// runs the `diff` scenario; a boot that breaks (oops, timeout) yields the results that arrived,
// so the divergence is the first Op without one, and the boot's own message is kept for the
// report. With `record`, the real kernel's Ops and results become a fixture that `npm test`
// replays against the fake (src/lane/fixture.ts).
import { differential, formatDivergence, runProfile, type DifferentialReport, type Executor } from '../../src/lane/differential.js';
import { writeTrace } from '../../src/lane/fixture.js';
import type { Op, OpResult } from '../../src/lane/ops.js';
import type { GuestRecord, ScenarioRequest } from './guest/protocol.js';
import type { DiffParams } from './guest/diff.js';

/** One fresh boot running these scenarios (bootGuest bound to a prepared kernel and DT variant). */
export type GuestBoot = (scenarios: readonly ScenarioRequest[]) => Promise<{ readonly records: readonly GuestRecord[] }>;

/** A lane differential: how to boot, which kernel and board, the seed and size, where to record. */
export interface LaneDiffOptions {
  boot: GuestBoot;
  /** The built kernel's release (uname -r); checked against what the guest reports. */
  release: string;
  /** The fake board of the DT variant booted (msi-map → qemu-virt). */
  board: string;
  seed: number;
  count: number;
  shrinkBoots?: number;
  /** A checkout root: write test/fixtures/kernel/<release>/<board>-seed<seed>.json there. */
  record?: string;
}

/** The verdict of a lane differential, with what the lane prints and records. */
export interface LaneDiffOutcome {
  ok: boolean;
  report: DifferentialReport;
  /** Seed, shrunk sequence and both sides, or the one-line success. */
  text: string;
  /** Boot failures seen (oops, timeout), with the Op in flight. */
  bootFailures: string[];
  fixture?: string;
  boots: number;
}

/** The `data` records of the diff scenario, in Op order, up to the first gap. */
export function collectResults(records: readonly GuestRecord[]): OpResult[] {
  const byIndex = new Map<number, OpResult>();
  for (const r of records) if (r.type === 'data' && r.scenario === 'diff') {
    const d = r.data as { i: number; r: OpResult };
    byIndex.set(d.i, d.r);
  }
  const out: OpResult[] = [];
  for (let i = 0; byIndex.has(i); i++) out.push(byIndex.get(i)!);
  return out;
}

/** Runs Ops on the real kernel: one boot per call. */
export function guestExecutor(o: Pick<LaneDiffOptions, 'boot' | 'release'>, failures: string[], counter: { boots: number }): Executor {
  const { settleSubGroups } = runProfile(o.release);
  return async (ops: readonly Op[]) => {
    const params: DiffParams = { ops: [...ops], settleSubGroups };
    counter.boots++;
    let records: readonly GuestRecord[];
    try {
      records = (await o.boot([{ name: 'diff', params }])).records;
    } catch (e) {
      // bootGuest's BootError carries what arrived before the boot broke.
      records = (e as { result?: { records?: readonly GuestRecord[] } }).result?.records ?? [];
      failures.push((e as Error).message);
    }
    const hello = records.find((r) => r.type === 'hello');
    if (hello && hello.type === 'hello' && hello.release !== o.release)
      throw new Error(`the guest runs kernel ${hello.release}, not ${o.release}: rebuild the initramfs/kernel pair or pass the guest's release`);
    const result = records.find((r) => r.type === 'result' && r.scenario === 'diff');
    if (result && result.type === 'result' && !result.ok) failures.push(`the diff scenario failed in the guest: ${result.error}`);
    return collectResults(records);
  };
}

/** The differential on one kernel and DT variant; `ok` only with zero divergences and clean boots. */
export async function laneDifferential(o: LaneDiffOptions): Promise<LaneDiffOutcome> {
  const failures: string[] = [];
  const counter = { boots: 0 };
  const report = await differential({ seed: o.seed, count: o.count, board: o.board, release: o.release, execute: guestExecutor(o, failures, counter), ...(o.shrinkBoots === undefined ? {} : { shrinkBoots: o.shrinkBoots }) });
  const fixture = o.record ? await writeTrace(o.record, { format: 'epctl-kernel-trace', version: 1, board: o.board, release: o.release, seed: o.seed, ops: report.ops.slice(0, report.real.length), results: report.real }) : undefined;
  const text = [formatDivergence(report), ...failures.map((f) => `boot failure: ${f}`)].join('\n');
  return { ok: !report.divergence && failures.length === 0, report, text, bootFailures: failures, boots: counter.boots, ...(fixture ? { fixture } : {}) };
}
