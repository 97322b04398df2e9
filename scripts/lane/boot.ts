// The lane's reusable host API: prepare the artifacts for one kernel once (prepareGuest), then
// boot it as often as needed (bootGuest) with any scenario list. Each boot packs a small third
// initramfs part with the harness and the input, runs QEMU, decodes the framed records and
// fails with the scenario in flight and the kernel log tail when the transport breaks (oops,
// timeout, damaged frames, a harness that never finished). Scenario verdicts are the caller's.
import fs from 'node:fs/promises';
import path from 'node:path';
import { bundleEpctl, bundleHarness } from './bundle.js';
import type { DtVariant } from './dts.js';
import { LaneError } from './errors.js';
import { decodeConsole } from './framing.js';
import type { GuestInput, GuestRecord, ScenarioRequest, ScenarioResult } from './guest/protocol.js';
import { harnessPart } from './initramfs.js';
import type { BuiltKernel } from './kernel.js';
import { runQemu } from './qemu.js';

/** Everything a boot needs, built once per kernel by the lane (see main.ts prepare()). */
export interface PreparedGuest {
  readonly root: string;
  readonly kernel: BuiltKernel;
  readonly dtbs: Readonly<Record<DtVariant, string>>;
  /** The gzip'ed busybox part and the uncompressed Node part, both padded to 512 bytes. */
  readonly initrdParts: readonly string[];
  /** Bundled harness and epctl (rebundled by refreshBundles when the sources change). */
  harness: string;
  epctl: string;
}

export interface BootOptions {
  readonly variant: DtVariant;
  readonly scenarios: readonly ScenarioRequest[];
  /** Wall-clock limit for the whole boot; default 120 s. */
  readonly timeoutMs?: number;
  /** Extra QEMU arguments (e.g. ITS tracing: ['-trace', 'gicv3_its_translation_write']). */
  readonly qemuExtra?: readonly string[];
}

export interface BootResult {
  /** Every record the harness sent, in order. */
  readonly records: readonly GuestRecord[];
  /** One result per requested scenario, in order. */
  readonly results: readonly ScenarioResult[];
  /** The whole console output, CR stripped. */
  readonly console: string;
  /** Console lines that are not frames (boot log, oops splats, QEMU messages). */
  readonly consoleLines: readonly string[];
  readonly wallMs: number;
  /**
   * An oops after the harness had reported everything: during power-off (device_shutdown), a
   * kernel bug an earlier sequence set up (6.12.117 after a vNTB bind and unbind). Every result
   * is in, so the boot counts; the lane reports it as a finding.
   */
  readonly shutdownOops?: string;
}

/** A broken boot: what was in flight, and the kernel's last words. */
export class BootError extends LaneError {
  constructor(
    message: string,
    readonly result: Partial<BootResult>,
  ) {
    super('boot', message, 'read the console tail above; rerun with the same input to reproduce');
  }
}

/** Rebundles the guest harness and epctl from the working tree (esbuild, about a second). */
export async function refreshBundles(g: PreparedGuest): Promise<void> {
  [g.harness, g.epctl] = await Promise.all([bundleHarness(), bundleEpctl()]);
}

function inFlight(records: readonly GuestRecord[]): string {
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i]!;
    if (r.type === 'op') return `scenario ${r.scenario} (#${r.index}), operation ${JSON.stringify(r.op)}`;
    if (r.type === 'begin') return `scenario ${r.scenario} (#${r.index}), at its start`;
    if (r.type === 'result' || r.type === 'end') return 'no scenario (between scenarios)';
    if (r.type === 'hello') return 'no scenario (harness started)';
  }
  return 'no scenario (the harness never reported: boot or /init failed)';
}

/** Boots the prepared kernel with one DT variant and runs the scenarios in one harness process. */
export async function bootGuest(g: PreparedGuest, opts: BootOptions): Promise<BootResult> {
  const input: GuestInput = { scenarios: opts.scenarios };
  const runs = path.join(g.root, 'runs');
  await fs.mkdir(runs, { recursive: true });
  const initrd = path.join(runs, `initrd-${process.pid}-${Date.now()}.img`);
  const parts = await Promise.all(g.initrdParts.map((p) => fs.readFile(p)));
  await fs.writeFile(initrd, Buffer.concat([...parts, harnessPart(g.harness, g.epctl, input)]));
  let run;
  try {
    run = await runQemu({ image: g.kernel.image, dtb: g.dtbs[opts.variant], initrd, timeoutMs: opts.timeoutMs ?? 120_000, extra: opts.qemuExtra ?? [] });
  } finally {
    await fs.rm(initrd, { force: true });
  }
  const decoded = decodeConsole(run.output);
  const records = decoded.records as GuestRecord[];
  const results = records.filter((r): r is ScenarioResult => r.type === 'result');
  const ended = records.at(-1)?.type === 'end' && results.length === opts.scenarios.length;
  const shutdownOops = run.oops && ended ? run.oops : undefined;
  const result: BootResult = { records, results, console: run.output.replace(/\r/g, ''), consoleLines: decoded.lines, wallMs: run.wallMs, ...(shutdownOops ? { shutdownOops } : {}) };
  const tail = () => decoded.lines.slice(-40).join('\n');
  const where = `${g.kernel.pkg} ${g.kernel.version}, DT ${opts.variant}`;
  if (shutdownOops) return result;
  if (run.oops) throw new BootError(`kernel oops on ${where} during ${inFlight(records)}: ${run.oops}\n--- console tail ---\n${tail()}`, result);
  if (run.timedOut) throw new BootError(`boot on ${where} timed out after ${opts.timeoutMs ?? 120_000} ms during ${inFlight(records)}\n--- console tail ---\n${tail()}`, result);
  if (decoded.errors.length) throw new BootError(`framing errors on ${where} (during ${inFlight(records)}):\n${decoded.errors.join('\n')}\n--- console tail ---\n${tail()}`, result);
  if (records.at(-1)?.type !== 'end' || results.length !== opts.scenarios.length)
    throw new BootError(`the harness on ${where} did not finish (QEMU exit ${run.exitCode}) during ${inFlight(records)}\n--- console tail ---\n${tail()}`, result);
  if (run.exitCode !== 0) throw new BootError(`QEMU exited ${run.exitCode} on ${where} after the harness finished\n--- console tail ---\n${tail()}`, result);
  return result;
}
