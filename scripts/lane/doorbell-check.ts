// The host's side of the doorbell scenarios: the same steps (doorbell-steps.ts) replayed on the
// fake kernel of the same release and board (the epctl bundle with --mock and a shared
// --mock-state, the fake's peek/poke for devmem), then the real result judged on its own
// (exact counts) and compared with the fake's, field by field, after projecting away only
// what cannot be equal (addresses of BAR memory the kernel allocated, times). A difference is
// fixed in the fake, never here.
import type { DoorbellEvent } from '../../src/doorbell/watch.js';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { openPort } from '../../src/kernel/open.js';
import { bundleEpctl } from './bundle.js';
import type { CheckResult } from './checks.js';
import { doorbellSteps, refusalSteps, spawnChild, type Child, type DoorbellEnv, type DoorbellParams, type Ran } from './doorbell-steps.js';
import { jsonDiff } from './json-diff.js';
import { parseTraceLine } from '../../src/tracefs/trace-line.js';
import { DOORBELL_ACTION } from '../../src/procfs/interrupts.js';

const now = (): number => Number(process.hrtime.bigint()) / 1e9;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The epctl bundle's text, built once per lane run; each fake run writes it into its own directory. */
let bundled: Promise<string> | undefined;
const epctlBundle = (): Promise<string> => (bundled ??= bundleEpctl());

/** Runs the steps against a fresh fake board; returns what the guest scenario returns. */
export async function fakeRun(kind: 'doorbells' | 'doorbell-refusal', board: string, release: string, params: DoorbellParams): Promise<Record<string, unknown>> {
  return withFake(board, release, (env) => (kind === 'doorbells' ? doorbellSteps(env, params) : refusalSteps(env, params)));
}

/**
 * Runs FN with a DoorbellEnv over a fresh fake board of BOARD at RELEASE (one --mock-state in
 * a directory of its own, removed afterwards): epctl is BIN, or the lane's bundle written into
 * that directory.
 */
export async function withFake<T>(board: string, release: string, fn: (env: DoorbellEnv) => Promise<T>, epctlBin?: string): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'epctl-lane-fake-'));
  // Inside the run's directory, so the finally below removes it with the rest.
  const bin = epctlBin ?? path.join(dir, 'epctl.cjs');
  if (epctlBin === undefined) await fs.writeFile(bin, await epctlBundle());
  const mockState = path.join(dir, 'board.json');
  const mock = ['--mock', board, '--kernel', release, '--mock-state', mockState];
  const ran = async (args: readonly string[]): Promise<Ran> => {
    const r = await execa(process.execPath, [bin, ...args, ...mock], { reject: false, stdin: 'ignore', env: { NO_COLOR: '1' } });
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
  const spawn = (args: readonly string[]): Child => spawnChild(bin, [...args, ...mock], now, { NO_COLOR: '1' });
  // One open-access-save per access on the shared state, as each busybox devmem is one process.
  const access = async <T>(fn: (port: Awaited<ReturnType<typeof openPort>>['port']) => Promise<T>): Promise<T> => {
    const o = await openPort({ mock: board, kernel: release, mockState });
    try {
      return await fn(o.port);
    } finally {
      await o.close();
    }
  };
  const env: DoorbellEnv = {
    stateFile: path.join(dir, 'apply-state.json'),
    epctl: ran,
    spawnEpctl: spawn,
    file: async (name, text) => {
      const f = path.join(dir, name);
      await fs.writeFile(f, text);
      return f;
    },
    phys: { peek: (addr, width) => access((p) => p.peek(addr, width)), poke: (addr, width, value) => access((p) => p.poke(addr, width, value)) },
    watchReady: async (child, _source, rows) => {
      const end = Date.now() + 20_000;
      while (child.lines.length < rows) {
        if (Date.now() > end) throw new Error(`the fake's doorbell watch printed ${child.lines.length} of ${rows} baseline lines in 20 s`);
        await sleep(10);
      }
      // Nothing is printed when a watch with no rows is ready: give it time to open its instance.
      if (rows === 0) await sleep(1500);
    },
    now,
    kmsg: () => [],
    op: () => undefined,
    clockOffset: async () => undefined,
    catTrace: async () => undefined,
    pipeMode: () => undefined,
  };
  try {
    return await fn(env);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

// ---- projections: what must be equal between the real kernel and the fake ----

export interface Cmd {
  args: string[];
  exitCode: number;
  json?: Record<string, unknown>;
  stdout?: string;
  stderr: string;
  kmsg: string[];
}
interface WatchOut {
  exitCode: number;
  stderr: string;
  lines: { t: number; line: string }[];
}
/** One `doorbell watch --json` line (src/doorbell/watch.ts). */
type WatchEvent = DoorbellEvent;

const events = (w: WatchOut | undefined): WatchEvent[] =>
  (w?.lines ?? []).flatMap((l) => {
    try {
      return [JSON.parse(l.line) as WatchEvent];
    } catch {
      return [];
    }
  });
const eventView = (w: WatchOut | undefined) => ({ exitCode: w?.exitCode, events: events(w).map(({ event, controller, virq, index, chip, action, count, delta }) => ({ event, controller, virq, index, chip, action, count, delta })) });

function cmdView(c: Cmd | undefined) {
  if (!c) return undefined;
  const j = c.json as { ok?: boolean; done?: { op: { kind: string } }[]; failure?: { code?: string }; rollback?: { errors: unknown[] } } | undefined;
  return { exitCode: c.exitCode, ok: j?.ok, done: j?.done?.map((d) => d.op.kind), failure: j?.failure?.code, rollbackErrors: j?.rollback?.errors.length };
}

function doorbellStatusView(c: Cmd | undefined) {
  const j = c?.json as { ready?: boolean; controllers?: { name: string; verdict: { code: string; mode: string }; functions: { function: string; mode: string; expected: number | null; ready: boolean; irqs: { virq: number; index: number | null; chip: string; total: number; actions: string[] }[] }[] }[] } | undefined;
  return {
    exitCode: c?.exitCode,
    ready: j?.ready,
    controllers: (j?.controllers ?? []).map((k) => ({
      name: k.name,
      verdict: `${k.verdict.code}/${k.verdict.mode}`,
      functions: k.functions.map((f) => ({ function: f.function, mode: f.mode, expected: f.expected, ready: f.ready, irqs: f.irqs.map((i) => ({ virq: i.virq, index: i.index, chip: i.chip, total: i.total, actions: i.actions })) })),
    })),
  };
}

function pollView(w: WatchOut | undefined) {
  const byIndex: Record<string, number> = {};
  const allocated: (number | null)[] = [];
  for (const e of events(w)) {
    if (e.event === 'rung') byIndex[String(e.index)] = (byIndex[String(e.index)] ?? 0) + e.delta;
    if (e.event === 'allocated') allocated.push(e.index);
  }
  return { exitCode: w?.exitCode, allocated, rungByIndex: byIndex };
}

/** Refusal text without the board's name (the fake says mock:<board>, the guest this system). */
const refusalText = (c: Cmd | undefined) => `${c?.stdout ?? ''}\n${c?.stderr ?? ''}`.split('\n').filter((l) => !/^plan for /.test(l)).join('\n').trim();

function doorbellsView(r: Record<string, unknown>) {
  const t = r.testRegisters as Record<string, unknown> | undefined;
  return {
    planRefusal: r.planRefusal && { exitCode: (r.planRefusal as Cmd).exitCode, text: refusalText(r.planRefusal as Cmd) },
    applyVntb: cmdView(r.applyVntb as Cmd),
    statusBefore: doorbellStatusView(r.statusBefore as Cmd),
    ctrl: r.ctrl,
    // MSI doorbells: the ITS page, the same address on both. Polled: BAR memory the kernel
    // allocated (dma_alloc_coherent on the real kernel, the fake's own layout): not comparable.
    dbBarTarget: (r.ctrl as { dbEntrySize?: number } | undefined)?.dbEntrySize === 0 ? r.dbBarTarget : 'BAR memory (kernel-allocated)',
    tracefs: eventView(r.tracefs as WatchOut),
    statusAfter: doorbellStatusView(r.statusAfter as Cmd),
    poll: pollView(r.poll as WatchOut),
    statusPoll: doorbellStatusView(r.statusPoll as Cmd),
    clearVntb: cmdView(r.clearVntb as Cmd),
    applyTest: cmdView(r.applyTest as Cmd),
    testEnable: r.testEnable,
    testDbBarTarget: r.testDbBarTarget,
    testRings: (r.testRings as { ok: boolean; status: number }[] | undefined)?.map(({ ok, status }) => ({ ok, status })),
    testDisable: r.testDisable,
    testRegisters: t,
    testWatch: r.testWatch && eventView(r.testWatch as WatchOut),
    statusTest: r.statusTest && doorbellStatusView(r.statusTest as Cmd),
    clearTest: cmdView(r.clearTest as Cmd),
  };
}

function refusalView(r: Record<string, unknown>) {
  return {
    plan: { exitCode: (r.plan as Cmd).exitCode, text: refusalText(r.plan as Cmd) },
    planForce: { exitCode: (r.planForce as Cmd).exitCode },
    applyForce: cmdView(r.applyForce as Cmd),
    statusAfterForce: (((r.statusAfterForce as Cmd).json as { pciEp?: { functions: { driver: string; name: string }[] } } | undefined)?.pciEp?.functions ?? []).map((f) => `${f.driver}/${f.name}`),
    doorbellStatus: doorbellStatusView(r.doorbellStatus as Cmd),
    clear: cmdView(r.clear as Cmd),
    applyTest: cmdView(r.applyTest as Cmd),
    testEnable: r.testEnable,
    testRegisters: r.testRegisters,
    clearTest: cmdView(r.clearTest as Cmd),
  };
}

// ---- the real result on its own ----

const ms = (s: number) => `${(s * 1000).toFixed(2)} ms`;
function stats(xs: number[]): string {
  if (!xs.length) return 'none';
  const s = [...xs].sort((a, b) => a - b);
  return `min ${ms(s[0]!)}, median ${ms(s[Math.floor(s.length / 2)]!)}, max ${ms(s.at(-1)!)} (n=${s.length})`;
}

/**
 * Ring → line: ring k matched with the k-th event line (the rings are sequential), EVENTS in the
 * order they arrived, each with its arrival time `t` (CLOCK_MONOTONIC) and `time`, the kernel's
 * irq_handler_entry timestamp on the trace clock; `offset` (trace clock − CLOCK_MONOTONIC,
 * measured in the guest) puts it on the clock the rings and the arrivals were read on.
 */
function delaysOf(rings: { t0: number; t1: number }[], events: { t: number; time: number }[], offset: number): { afterKernel: number[]; afterRingStart: number[]; kernelInWindow: number } {
  const afterKernel: number[] = [];
  const afterRingStart: number[] = [];
  let kernelInWindow = 0;
  rings.forEach((r, k) => {
    const ev = events[k];
    if (!ev) return;
    const kernel = ev.time - offset;
    afterKernel.push(ev.t - kernel);
    afterRingStart.push(ev.t - r.t0);
    if (kernel >= r.t0 && kernel <= r.t1) kernelInWindow++;
  });
  return { afterKernel, afterRingStart, kernelInWindow };
}

/** The watch's `rung` lines: the event's `time` is the kernel's timestamp. */
const delays = (rings: { t0: number; t1: number }[], w: WatchOut | undefined, offset: number) =>
  delaysOf(
    rings,
    (w?.lines ?? []).map((l) => ({ t: l.t, e: JSON.parse(l.line) as WatchEvent })).filter((x) => x.e.event === 'rung').map((x) => ({ t: x.t, time: x.e.time })),
    offset,
  );

/** The cat baseline's irq_handler_entry lines of ACTIONS: the timestamp is the trace line's own. */
function catEntries(w: WatchOut | undefined, actions: readonly string[]): { t: number; time: number; name: string }[] {
  return (w?.lines ?? []).flatMap((l) => {
    const p = parseTraceLine(l.line);
    return p?.kind === 'irq_handler_entry' && actions.includes(p.name) ? [{ t: l.t, time: p.usec / 1e6, name: p.name }] : [];
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Offset = { offset: number; error: number } | undefined;
const offsetOf = (r: Record<string, unknown>): { offset: number; text: string } => {
  const a = r.clockBefore as Offset;
  const b = r.clockAfter as Offset;
  const known = [a, b].filter((x): x is NonNullable<Offset> => x !== undefined);
  if (!known.length) return { offset: 0, text: 'trace clock offset unknown (taken as 0)' };
  const offset = known.reduce((s, x) => s + x.offset, 0) / known.length;
  return { offset, text: `trace clock − CLOCK_MONOTONIC ${known.map((x) => `${ms(x.offset)} ± ${ms(x.error)}`).join(', then ')}` };
};

export function checkDoorbellsReal(r: Record<string, unknown>, p: DoorbellParams): { findings: string[]; notes: string[] } {
  const findings: string[] = [];
  const notes: string[] = [];
  const rows = p.vntbDoorbell ? p.dbCount : 0;
  const tr = events(r.tracefs as WatchOut);
  const rung = tr.filter((e) => e.event === 'rung');
  if (p.vntbDoorbell) {
    if (tr.filter((e) => e.event === 'allocated').length !== rows) findings.push(`tracefs watch: ${tr.filter((e) => e.event === 'allocated').length} baseline rows, expected ${rows}`);
    for (let i = 0; i < p.dbCount; i++) {
      const mine = rung.filter((e) => e.index === i);
      if (mine.length !== p.rings || mine.some((e, n) => e.delta !== 1 || e.count !== n + 1)) findings.push(`tracefs watch: doorbell ${i} gave ${JSON.stringify(mine.map((e) => [e.count, e.delta]))}, expected ${p.rings} rings counted 1..${p.rings}`);
    }
    const st = doorbellStatusView(r.statusAfter as Cmd).controllers.flatMap((c) => c.functions).flatMap((f) => f.irqs);
    if (st.length !== p.dbCount || st.some((i) => i.total !== p.rings)) findings.push(`doorbell status after the rings: totals ${JSON.stringify(st.map((i) => [i.virq, i.total]))}, expected ${p.dbCount} rows of ${p.rings}`);
    else notes.push(`doorbell status: ${st.map((i) => `virq ${i.virq} (hwirq ${i.index}) ${i.total}`).join(', ')}`);
    const pv = pollView(r.poll as WatchOut);
    for (let i = 0; i < p.dbCount; i++) if (pv.rungByIndex[String(i)] !== p.rings) findings.push(`poll watch: doorbell ${i} rang ${pv.rungByIndex[String(i)] ?? 0} (sum of deltas), expected ${p.rings}`);
    const off = offsetOf(r);
    notes.push(off.text);
    const d = delays((r.tracefs as { rings: { t0: number; t1: number }[] }).rings, r.tracefs as WatchOut, off.offset);
    const mode = (r.tracefs as { pipeMode?: string }).pipeMode;
    if (mode !== 'blocking') findings.push(`tracefs watch: its trace_pipe fd is ${mode ?? 'not found'}, expected blocking (src/tracefs/pipe.ts: reads wait in the kernel, woken by trace_marker)`);
    notes.push(`vNTB ring → watch line (trace_pipe read ${mode ?? 'unknown'}): ${stats(d.afterKernel)} after the kernel's irq_handler_entry timestamp; ${stats(d.afterRingStart)} after the devmem spawn began; kernel timestamp inside the devmem window for ${d.kernelInWindow}/${d.afterKernel.length}`);
    // The baseline: the same path (kernel → trace_pipe → a child's stdout → this harness) with a plain blocking `cat` as the reader.
    const cat = r.catBaseline as ({ rings: { t0: number; t1: number }[] } & Partial<WatchOut>) | undefined;
    const entries = catEntries(cat as WatchOut | undefined, [DOORBELL_ACTION.pci_epf_vntb]);
    if (entries.length !== p.dbCount * p.rings) findings.push(`cat baseline: ${entries.length} irq_handler_entry lines of ${DOORBELL_ACTION.pci_epf_vntb}, expected ${p.dbCount * p.rings}`);
    else {
      const c = delaysOf(cat!.rings, entries, off.offset);
      notes.push(`vNTB ring → cat line (busybox cat of a trace_pipe set up as the watch's, the baseline): ${stats(c.afterKernel)} after the kernel's irq_handler_entry timestamp; kernel timestamp inside the devmem window for ${c.kernelInWindow}/${c.afterKernel.length}`);
      if (d.afterKernel.length && c.afterKernel.length) notes.push(`watch / cat median delay after the kernel timestamp: ${(median(d.afterKernel) / median(c.afterKernel)).toFixed(2)} (${ms(median(d.afterKernel))} / ${ms(median(c.afterKernel))})`);
    }
  } else {
    if (rung.length) findings.push(`tracefs watch saw ${rung.length} rings on a kernel without vNTB doorbells`);
    const pr = r.planRefusal as Cmd | undefined;
    if (pr?.exitCode !== 1) findings.push(`plan with doorbell: true exited ${pr?.exitCode}, expected 1 (refused)`);
    else notes.push(`plan refused: ${`${pr.stdout ?? ''}\n${pr.stderr}`.split('\n').find((l) => l.startsWith('error:'))?.slice(0, 200)}`);
    notes.push(`polled vNTB: db_entry_size ${(r.ctrl as { dbEntrySize: number }).dbEntrySize}, no rows, watch saw ${tr.length} events`);
  }
  if (p.testDoorbell) {
    const en = r.testEnable as { ok: boolean; status: number };
    if (!en?.ok) findings.push(`pci-epf-test ENABLE failed: STATUS 0x${en?.status?.toString(16)}`);
    const tw = events(r.testWatch as WatchOut);
    const kinds = tw.map((e) => e.event).join(',');
    const want = ['allocated', ...Array<string>(p.rings).fill('rung'), 'freed'].join(',');
    if (kinds !== want) findings.push(`pci-epf-test tracefs watch: ${kinds}, expected ${want}`);
    else notes.push(`pci-epf-test: ENABLE STATUS 0x${en.status.toString(16)}, ${p.rings} rings STATUS ${JSON.stringify((r.testRings as { status: number }[]).map((x) => `0x${x.status.toString(16)}`))}, DISABLE ${JSON.stringify(r.testDisable)}; watch: allocated, ${p.rings} rung, freed (virq ${tw[0]?.virq})`);
    const d = delays(r.testRings as { t0: number; t1: number }[], r.testWatch as WatchOut, offsetOf(r).offset);
    notes.push(`pci-epf-test ring → watch line: ${stats(d.afterKernel)} after the kernel timestamp; kernel timestamp inside the ring window ${d.kernelInWindow}/${d.afterKernel.length}`);
  }
  return { findings, notes };
}

export function checkRefusalReal(r: Record<string, unknown>, p: DoorbellParams): { findings: string[]; notes: string[] } {
  const findings: string[] = [];
  const notes: string[] = [];
  const plan = r.plan as Cmd;
  if (plan.exitCode !== 1) findings.push(`plan with a doorbell config exited ${plan.exitCode}, expected 1`);
  if (!/msi-map = </.test(plan.stderr + (plan.stdout ?? ''))) findings.push('plan did not print the msi-map fragment');
  // plan's exit 2: there are changes to make (src/cli/commands/plan.ts).
  if ((r.planForce as Cmd).exitCode !== 2) findings.push(`plan --force exited ${(r.planForce as Cmd).exitCode}, expected 2 (changes planned, the preflight skipped)`);
  const af = r.applyForce as Cmd;
  const log = [...af.kmsg, ...((r.testKmsg as string[] | undefined) ?? [])].filter((l) => /MSI domain|doorbell|pci_epf|vntb/i.test(l));
  notes.push(`apply --force: exit ${af.exitCode}, ${JSON.stringify(cmdView(af))}`);
  notes.push(`kernel log: ${log.map((l) => JSON.stringify(l)).join(' ') || 'nothing about doorbells'}`);
  if (p.testDoorbell) {
    const en = r.testEnable as { ok: boolean; status: number; reason?: string };
    if (en.ok) findings.push('pci-epf-test ENABLE succeeded on a DT without msi-map');
    notes.push(`pci-epf-test ENABLE: STATUS 0x${en.status.toString(16)} (${en.reason ?? 'ok'}), DB_BAR ${(r.testRegisters as { dbBar: number }).dbBar}; no DISABLE sent`);
  }
  return { findings, notes };
}

/** Judges the real result, replays it on the fake and compares. */
export async function checkDoorbellScenario(kind: 'doorbells' | 'doorbell-refusal', board: string, release: string, params: DoorbellParams, real: Record<string, unknown>): Promise<CheckResult> {
  const name = kind === 'doorbells' ? 'doorbells (vNTB and pci-epf-test over devmem, status, watch)' : 'doorbell refusal (plan, --force, ENABLE)';
  const own = kind === 'doorbells' ? checkDoorbellsReal(real, params) : checkRefusalReal(real, params);
  const findings = [...own.findings];
  const notes = [...own.notes];
  const t0 = performance.now();
  let fake: Record<string, unknown>;
  try {
    fake = await fakeRun(kind, board, release, params);
  } catch (e) {
    findings.push(`the fake's replay failed: ${(e as Error).stack ?? String(e)}`);
    return { name, findings, notes };
  }
  const view = kind === 'doorbells' ? doorbellsView : refusalView;
  const diff = jsonDiff(view(real), view(fake));
  findings.push(...diff.map((l) => `real vs fake ${board} @ ${release}: ${l}`));
  notes.push(diff.length ? `fake replay differs (${diff.length} lines)` : `identical to the fake ${board} @ ${release} on every compared field (fake replay ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return { name, findings, notes };
}

/**
 * What `--record-doorbells` keeps of a real run in test/fixtures/kernel/<release>/doorbells/<variant>.json,
 * replayed in-process against the fake by scripts/lane/doorbell-fixture.test.ts: the host
 * protocol's registers and the doorbell rows, without times or the addresses of BAR memory the
 * kernel allocated.
 */
export function doorbellFixture(kind: 'doorbells' | 'doorbell-refusal', release: string, variant: string, params: DoorbellParams, r: Record<string, unknown>): Record<string, unknown> {
  const base = { format: 'epctl-lane-doorbells', version: 1, kind, release, variant, dbCount: params.dbCount, rings: params.rings };
  if (kind === 'doorbells') {
    const v = doorbellsView(r);
    return { ...base, ctrl: v.ctrl, dbBarTarget: v.dbBarTarget, statusAfter: v.statusAfter, testEnable: v.testEnable, testDbBarTarget: v.testDbBarTarget, testRings: v.testRings, testDisable: v.testDisable, testRegisters: v.testRegisters };
  }
  const v = refusalView(r);
  const log = [...((r.applyForce as Cmd).kmsg ?? []), ...((r.testKmsg as string[] | undefined) ?? [])];
  return { ...base, testEnable: v.testEnable, testRegisters: v.testRegisters, kernelLog: log };
}
