// The doorbell scenarios' steps, written once and run twice: in the guest on the real kernel
// (scripts/lane/guest/doorbells.ts: the bundled epctl, busybox devmem through the real port)
// and on the host against the fake (scripts/lane/doorbell-check.ts: the same epctl bundle with
// --mock, the fake's peek/poke on the shared --mock-state). Both play the PCIe host with the
// same src/host code over src/host/cadence-devmem.ts, so the two results compare field by field.
//
// `doorbells` (DT msi-map): a vNTB function from `epctl apply`, each doorbell rung N times
// through devmem while `epctl doorbell watch --json --source tracefs` runs as a child, then
// `doorbell status --json`, then a `--source poll` watch over N more rings each, then N more
// read by a plain `cat` of a trace_pipe (the baseline for the watch's delay); then (kernels
// with pci-epf-test doorbells) pci-epf-test's doorbell enabled, rung N times and disabled
// through its register BAR under a tracefs watch. `doorbell-refusal` (msi-parent, no-msi):
// plan refuses a doorbell config, --force plans it, apply --force does what the kernel lets
// it, and pci-epf-test's ENABLE fails (never followed by a DISABLE).
import { execa } from 'execa';
import { cadenceBarAccess, type PhysAccess } from '../../src/host/cadence-devmem.js';
import * as testHost from '../../src/host/pci-endpoint-test.js';
import * as vntbHost from '../../src/host/vntb.js';

export interface Ran {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly error?: string;
}

/** A running epctl (doorbell watch): its stdout lines as they arrived, on the env's clock. */
export interface Child {
  readonly pid: number;
  /** SIGINT, as Ctrl-C: the watch stops cleanly and exits 0. */
  stop(): void;
  readonly lines: { t: number; line: string }[];
  readonly done: Promise<Ran>;
}

/**
 * Starts `node FILE ARGS` (an epctl watch) as a child whose stdout lines are kept with the
 * time each arrived (`now`, the same clock the steps use); in the guest and on the fake alike.
 */
export function spawnChild(file: string, args: readonly string[], now: () => number, env: Record<string, string> = {}): Child {
  return spawnProgram(process.execPath, [file, ...args], now, env);
}

/** Starts PROGRAM ARGS (argument arrays, no shell) with its stdout lines stamped as spawnChild's. */
export function spawnProgram(program: string, args: readonly string[], now: () => number, env: Record<string, string> = {}): Child {
  const lines: { t: number; line: string }[] = [];
  const p = execa(program, args, { reject: false, stdin: 'ignore', env, buffer: { stdout: false, stderr: true } });
  let pending = '';
  p.stdout!.setEncoding('utf8');
  p.stdout!.on('data', (chunk: string) => {
    const t = now();
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      lines.push({ t, line: pending.slice(0, nl) });
      pending = pending.slice(nl + 1);
    }
  });
  const done = p.then((r) => ({ exitCode: r.exitCode ?? -1, stdout: '', stderr: String(r.stderr ?? ''), ...(r.failed && r.exitCode === undefined ? { error: r.shortMessage } : {}) }));
  return { pid: p.pid ?? -1, stop: () => void p.kill('SIGINT'), lines, done };
}

/** What differs between the guest and the fake. */
export interface DoorbellEnv {
  /** `epctl ARGS` (the fake adds --mock BOARD --kernel R --mock-state FILE). */
  epctl(args: readonly string[]): Promise<Ran>;
  spawnEpctl(args: readonly string[]): Child;
  /** Writes a config file; returns its path. */
  file(name: string, text: string): Promise<string>;
  phys: PhysAccess;
  /** Resolves once the watch sees rings from now on (`rows` baseline rows it prints first). */
  watchReady(child: Child, source: 'tracefs' | 'poll', rows: number): Promise<void>;
  /** Seconds, the clock the child lines are stamped with (CLOCK_MONOTONIC). */
  now(): number;
  /** Kernel log lines since the last call (the fake: none). */
  kmsg(): string[];
  op(name: string): void;
  /**
   * The watch's trace clock (irq_handler_entry timestamps; "mono" where the kernel has it,
   * src/tracefs/session.ts) minus now(), measured with a trace_marker write between two now()
   * reads in an instance set up as the watch's, ± half that window; undefined on the fake.
   */
  clockOffset(): Promise<{ offset: number; error: number } | undefined>;
  /**
   * How a tracefs watch reads its trace_pipe: "blocking" or "O_NONBLOCK" (the open flags of its
   * fd, /proc/PID/fdinfo), undefined where it cannot be seen (the fake).
   */
  pipeMode(child: Child): string | undefined;
  /**
   * The baseline for the watch's delay: a plain blocking `cat` of the trace_pipe of an instance
   * set up as the watch's, reading (its lines stamped as a watch's) once this resolves; the
   * fake has none (undefined).
   */
  catTrace(): Promise<CatTrace | undefined>;
  /** epctl's apply state file (--state). */
  readonly stateFile: string;
}

/** A running `cat` of a trace_pipe (DoorbellEnv.catTrace). */
export interface CatTrace {
  /** Its trace lines as they arrived. */
  readonly lines: { t: number; line: string }[];
  /** Waits (a few seconds at most) until it printed EXPECTED irq_handler_entry lines, then stops it and removes its instance. */
  finish(expected: number): Promise<{ exitCode: number; stderr: string; lines: { t: number; line: string }[] }>;
}

export interface DoorbellParams {
  readonly epc: string;
  readonly dbCount: number;
  readonly rings: number;
  /** The kernel allocates vNTB MSI doorbells (6.19+). */
  readonly vntbDoorbell: boolean;
  /** pci-epf-test has ENABLE/DISABLE_DOORBELL (6.17+). */
  readonly testDoorbell: boolean;
  /** The example configs' text (read on the host: the guest has no repository). */
  readonly vntbYaml: string;
  readonly testYaml: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The vNTB example with db_count set and `doorbell: true` kept or dropped. */
export function vntbConfig(example: string, dbCount: number, doorbell: boolean): string {
  let t = example.replace(/^(\s*db_count:\s*)\d+/m, `$1${dbCount}`);
  if (!doorbell) t = t.replace(/^\s*doorbell: true\n/m, '');
  return t;
}

const regBaseOf = (epc: string): bigint => BigInt(`0x${epc.split('.')[0]}`);

function jsonOf(r: Ran): unknown {
  try {
    return JSON.parse(r.stdout);
  } catch {
    return undefined;
  }
}

/** A command's outcome as recorded: exit, JSON (or text), stderr, and the kernel log meanwhile. */
export async function cmd(env: Pick<DoorbellEnv, 'op' | 'epctl' | 'kmsg'>, args: string[]): Promise<{ args: string[]; exitCode: number; json?: unknown; stdout?: string; stderr: string; kmsg: string[] }> {
  env.op(`epctl ${args.join(' ')}`);
  const r = await env.epctl(args);
  const json = jsonOf(r);
  return { args, exitCode: r.exitCode, ...(json === undefined ? { stdout: r.stdout } : { json }), stderr: r.stderr + (r.error ? `\n${r.error}` : ''), kmsg: env.kmsg() };
}

async function finish(env: DoorbellEnv, child: Child): Promise<{ exitCode: number; stderr: string; lines: { t: number; line: string }[] }> {
  const r = await child.done;
  return { exitCode: r.exitCode, stderr: r.stderr + (r.error ? `\n${r.error}` : ''), lines: child.lines };
}

export async function doorbellSteps(env: DoorbellEnv, p: DoorbellParams): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const state = ['--state', env.stateFile];
  const vntbFile = await env.file('db-vntb.yaml', vntbConfig(p.vntbYaml, p.dbCount, p.vntbDoorbell));
  const testFile = await env.file('db-test.yaml', p.testYaml);
  if (!p.vntbDoorbell) {
    // No vNTB MSI doorbell in this kernel: plan refuses `doorbell: true` (exit 1, the why and the fix).
    const asked = await env.file('db-vntb-doorbell.yaml', vntbConfig(p.vntbYaml, p.dbCount, true));
    out.planRefusal = await cmd(env, ['plan', '-c', asked]);
  }
  out.applyVntb = await cmd(env, ['apply', '-c', vntbFile, '--json', '--yes', ...state]);
  out.statusBefore = await cmd(env, ['doorbell', 'status', '--json']);
  const bars = { ctrl: 0, db: 1 };
  let a = cadenceBarAccess(env.phys, { regBase: regBaseOf(p.epc) });
  env.op('read struct epf_ntb_ctrl through BAR0 (devmem)');
  const ctrl = await vntbHost.readCtrl(a, bars, p.dbCount);
  out.ctrl = ctrl;
  out.dbBarTarget = `0x${(await a.target(1)).toString(16)}`;
  const rows = p.vntbDoorbell ? p.dbCount : 0;

  // Exact events from tracefs: the baseline rows, then one `rung` per ring.
  const expected = rows + (p.vntbDoorbell ? p.dbCount * p.rings : 0);
  const watch = env.spawnEpctl(['doorbell', 'watch', '--json', '--source', 'tracefs', ...(expected ? ['--count', String(expected)] : []), '--duration', p.vntbDoorbell ? '120' : '3']);
  await env.watchReady(watch, 'tracefs', rows);
  const pipeMode = env.pipeMode(watch);
  const rings: { doorbell: number; t0: number; t1: number }[] = [];
  for (let i = 0; i < p.dbCount; i++)
    for (let n = 0; n < p.rings; n++) {
      env.op(`ring vNTB doorbell ${i} (#${n + 1}) through devmem`);
      const t0 = env.now();
      await vntbHost.ring(a, bars, ctrl, i);
      rings.push({ doorbell: i, t0, t1: env.now() });
    }
  out.tracefs = { rings, pipeMode, ...(await finish(env, watch)) };
  out.statusAfter = await cmd(env, ['doorbell', 'status', '--json']);

  out.clockBefore = await env.clockOffset();
  // The poll source over N more rings each: per doorbell the deltas add up to N. How many events
  // a poll makes of them is not fixed (a burst is one), so it is stopped with SIGINT after a
  // settle time; --duration only bounds a watch that would not stop.
  const poll = env.spawnEpctl(['doorbell', 'watch', '--json', '--source', 'poll', '--duration', '120']);
  await env.watchReady(poll, 'poll', rows);
  for (let i = 0; i < p.dbCount; i++)
    for (let n = 0; n < p.rings; n++) {
      env.op(`ring vNTB doorbell ${i} (poll #${n + 1})`);
      await vntbHost.ring(a, bars, ctrl, i);
      await sleep(20);
    }
  await sleep(1000);
  poll.stop();
  out.poll = await finish(env, poll);
  out.statusPoll = await cmd(env, ['doorbell', 'status', '--json']);
  if (p.vntbDoorbell) {
    // The baseline the tracefs watch's delay is read against: N more rings each, read by a
    // plain blocking `cat` of a trace_pipe in the guest. The fake has no cat but rings too, so
    // that both boards count the same rings from here on.
    const cat = await env.catTrace();
    const catRings: { doorbell: number; t0: number; t1: number }[] = [];
    for (let i = 0; i < p.dbCount; i++)
      for (let n = 0; n < p.rings; n++) {
        env.op(`ring vNTB doorbell ${i} (cat baseline #${n + 1})`);
        const t0 = env.now();
        await vntbHost.ring(a, bars, ctrl, i);
        catRings.push({ doorbell: i, t0, t1: env.now() });
      }
    out.catBaseline = { rings: catRings, ...(cat ? await cat.finish(p.dbCount * p.rings) : {}) };
  }
  if (!p.testDoorbell) return out;

  // pci-epf-test: its row lives only between ENABLE and DISABLE.
  out.clearVntb = await cmd(env, ['clear', '--json', '--yes', ...state]);
  out.applyTest = await cmd(env, ['apply', '-c', testFile, '--json', '--yes', ...state]);
  const tw = env.spawnEpctl(['doorbell', 'watch', '--json', '--source', 'tracefs', '--count', String(p.rings + 2), '--duration', '120']);
  await env.watchReady(tw, 'tracefs', 0);
  a = cadenceBarAccess(env.phys, { regBase: regBaseOf(p.epc) });
  env.op('pci-epf-test ENABLE_DOORBELL through BAR0 (devmem)');
  const enable = await testHost.enable(a);
  out.testEnable = enable;
  const testRings: { t0: number; t1: number; ok: boolean; status: number; reason?: string }[] = [];
  if (enable.ok) {
    out.testDbBarTarget = `0x${(await a.target(enable.dbBar)).toString(16)}`;
    for (let n = 0; n < p.rings; n++) {
      env.op(`ring pci-epf-test doorbell (#${n + 1})`);
      const t0 = env.now();
      const r = await testHost.ring(a);
      testRings.push({ t0, t1: env.now(), ...r });
    }
    env.op('pci-epf-test DISABLE_DOORBELL');
    out.testDisable = await testHost.disable(a);
  }
  out.testRings = testRings;
  out.testRegisters = await testHost.readRegisters(a);
  out.testWatch = await finish(env, tw);
  out.testKmsg = env.kmsg();
  out.clockAfter = await env.clockOffset();
  out.statusTest = await cmd(env, ['doorbell', 'status', '--json']);
  out.clearTest = await cmd(env, ['clear', '--json', '--yes', ...state]);
  return out;
}

/** msi-parent / no-msi: the preflight refuses, --force goes on, the kernel decides. */
export async function refusalSteps(env: DoorbellEnv, p: DoorbellParams): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const state = ['--state', env.stateFile];
  const vntbFile = await env.file('db-vntb-doorbell.yaml', vntbConfig(p.vntbYaml, p.dbCount, true));
  const testFile = await env.file('db-test.yaml', p.testYaml);
  out.plan = await cmd(env, ['plan', '-c', vntbFile]);
  out.planForce = await cmd(env, ['plan', '-c', vntbFile, '--force']);
  out.applyForce = await cmd(env, ['apply', '-c', vntbFile, '--force', '--json', '--yes', ...state]);
  out.statusAfterForce = await cmd(env, ['status', '--json', ...state]);
  out.doorbellStatus = await cmd(env, ['doorbell', 'status', '--json']);
  if (!p.testDoorbell) return out;
  out.clear = await cmd(env, ['clear', '--json', '--yes', ...state]);
  out.applyTest = await cmd(env, ['apply', '-c', testFile, '--json', '--yes', ...state]);
  const a = cadenceBarAccess(env.phys, { regBase: regBaseOf(p.epc) });
  env.op('pci-epf-test ENABLE_DOORBELL (expected to fail; no DISABLE follows)');
  out.testEnable = await testHost.enable(a);
  out.testRegisters = await testHost.readRegisters(a);
  out.testKmsg = env.kmsg();
  out.clearTest = await cmd(env, ['clear', '--json', '--yes', ...state]);
  return out;
}
