// Scenarios `doorbells` and `doorbell-refusal` in the guest: the shared steps
// (scripts/lane/doorbell-steps.ts) on the real kernel. epctl is the bundled CLI (/lane/epctl.cjs),
// watch runs as a child process, and the host is played through busybox devmem by the real
// port's peek/poke (src/kernel/real.ts), so what runs here is what a person runs on a board.
import fs from 'node:fs';
import { openPort } from '../../../src/kernel/open.js';
import { doorbellSteps, refusalSteps, spawnChild, spawnProgram, type CatTrace, type Child, type DoorbellEnv, type DoorbellParams } from '../doorbell-steps.js';
import { openIrqTrace } from '../../../src/tracefs/session.js';
import { DOORBELL_ACTIONS } from '../../../src/doorbell/rows.js';
import type { KernelPort } from '../../../src/kernel/port.js';
import { run } from './run.js';
import { parseTraceLine } from '../../../src/tracefs/trace-line.js';
import type { GuestContext, Scenario } from './scenarios.js';

const EPCTL = '/lane/epctl.cjs';
const now = (): number => Number(process.hrtime.bigint()) / 1e9;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const spawn = (args: readonly string[]): Child => spawnChild(EPCTL, args, now);

/** The watch's tracefs instance (instances/epctl-<pid>, src/tracefs/session.ts) has its event enabled. */
async function traceEnabled(pid: number): Promise<boolean> {
  try {
    return fs.readFileSync(`/sys/kernel/tracing/instances/epctl-${pid}/events/irq/irq_handler_entry/enable`, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

const TRACING = '/sys/kernel/tracing';

/**
 * trace clock − CLOCK_MONOTONIC: a trace_marker write between two now() reads, in an instance
 * set up as the watch's by the same code (src/tracefs/session.ts openIrqTrace: trace_clock "mono"
 * where the kernel has it), so that the offset is the one of the clock the watch's events carry
 * (not the top-level buffer's "local"); the marker's timestamp is read back from the instance's
 * `trace`. Best of five (the narrowest window).
 */
let markers = 0;
async function clockOffset(port: KernelPort): Promise<{ offset: number; error: number } | undefined> {
  const trace = await openIrqTrace(port, { root: TRACING, actions: DOORBELL_ACTIONS, name: `epctl-lane-clock-${process.pid}` });
  try {
    let best: { offset: number; error: number } | undefined;
    for (let i = 0; i < 5; i++) {
      const tag = `epctl-lane-clock-${process.pid}-${++markers}`;
      const t0 = now();
      fs.writeFileSync(`${trace.dir}/trace_marker`, tag);
      const t1 = now();
      const line = fs.readFileSync(`${trace.dir}/trace`, 'utf8').split('\n').find((l) => l.includes(tag));
      const p = line === undefined ? undefined : parseTraceLine(line);
      if (!p || p.kind === 'lost') continue;
      const c = { offset: p.usec / 1e6 - (t0 + t1) / 2, error: (t1 - t0) / 2 };
      if (!best || c.error < best.error) best = c;
    }
    return best;
  } finally {
    await trace.close();
  }
}

/**
 * The baseline for the watch's delay: busybox `cat` of the trace_pipe of an instance set up as
 * the watch's (openIrqTrace: the same clock, filter and event), its lines stamped on arrival by
 * the same spawnProgram as a watch's. Its own instance, not the watch's: a trace_pipe has one
 * reader at a time (kernel/trace/trace.c open_pipe_on_cpu: EBUSY). Ready once a marker written
 * to the instance's trace_marker came back through the cat.
 */
async function catTrace(port: KernelPort): Promise<CatTrace> {
  const trace = await openIrqTrace(port, { root: TRACING, actions: DOORBELL_ACTIONS, name: `epctl-lane-cat-${process.pid}` });
  const child = spawnProgram('busybox', ['cat', `${trace.dir}/trace_pipe`], now);
  const until = async (ok: () => boolean): Promise<boolean> => {
    const end = Date.now() + 10_000;
    while (!ok()) {
      if (Date.now() > end) return false;
      await sleep(5);
    }
    return true;
  };
  try {
    const tag = `epctl-lane-cat-ready-${process.pid}`;
    fs.writeFileSync(`${trace.dir}/trace_marker`, tag);
    if (!(await until(() => child.lines.some((l) => l.line.endsWith(tag))))) throw new Error(`busybox cat of ${trace.dir}/trace_pipe printed no marker in 10 s (${child.lines.length} lines)`);
  } catch (e) {
    child.stop();
    await child.done;
    await trace.close();
    throw e;
  }
  const entries = (): number => child.lines.filter((l) => parseTraceLine(l.line)?.kind === 'irq_handler_entry').length;
  return {
    lines: child.lines,
    finish: async (expected) => {
      await until(() => entries() >= expected);
      child.stop();
      const r = await child.done;
      await trace.close();
      return { exitCode: r.exitCode, stderr: r.stderr + (r.error ? `\n${r.error}` : ''), lines: child.lines };
    },
  };
}

/** A process's fds and what they are (for a watch that never got ready). */
function fdTargets(pid: number): string {
  try {
    return fs
      .readdirSync(`/proc/${pid}/fd`)
      .map((fd) => {
        try {
          return `${fd}→${fs.readlinkSync(`/proc/${pid}/fd/${fd}`)}`;
        } catch (e) {
          return `${fd}:${(e as { code?: string }).code}`;
        }
      })
      .join(' ');
  } catch (e) {
    return `unreadable (${(e as { code?: string }).code})`;
  }
}

/** The watch's open trace_pipe: its fd number, or undefined while it has none. */
function tracePipeFd(child: Child): string | undefined {
  const fds = `/proc/${child.pid}/fd`;
  let names: string[];
  try {
    names = fs.readdirSync(fds);
  } catch {
    return undefined;
  }
  return names.find((fd) => {
    try {
      return fs.readlinkSync(`${fds}/${fd}`).endsWith('/trace_pipe');
    } catch {
      return false;
    }
  });
}

/** The open flags of the watch's trace_pipe fd: no O_NONBLOCK means its reads wait in the kernel (src/tracefs/pipe.ts). */
function pipeMode(child: Child): string | undefined {
  const fd = tracePipeFd(child);
  if (fd === undefined) return undefined;
  const flags = parseInt(/^flags:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${child.pid}/fdinfo/${fd}`, 'utf8'))?.[1] ?? 'NaN', 8);
  return flags & fs.constants.O_NONBLOCK ? 'O_NONBLOCK' : 'blocking';
}

async function env(ctx: GuestContext): Promise<DoorbellEnv> {
  const { port } = await openPort({});
  return {
    stateFile: '/tmp/epctl-lane-db-state.json',
    epctl: (args) => run(process.execPath, [EPCTL, ...args]),
    spawnEpctl: spawn,
    file: async (name, text) => {
      const f = `/tmp/${name}`;
      await fs.promises.writeFile(f, text);
      return f;
    },
    phys: port,
    watchReady: async (child, source, rows) => {
      const end = Date.now() + 20_000;
      for (;;) {
        // tracefs: the event is enabled before trace_pipe is opened (src/tracefs/session.ts), so a
        // ring in between would wait in the buffer: ready once the pipe is open too.
        const ready =
          source === 'tracefs'
            ? (await traceEnabled(child.pid)) && child.lines.length >= rows && tracePipeFd(child) !== undefined
            : child.lines.length >= rows && (rows > 0 || child.lines.length >= 0);
        if (ready) break;
        if (Date.now() > end)
          throw new Error(
            `epctl doorbell watch --source ${source} (pid ${child.pid}) was not ready after 20 s (${child.lines.length} lines${source === 'tracefs' ? `, event enabled ${await traceEnabled(child.pid)}, fds ${fdTargets(child.pid)}` : ''})`,
          );
        await sleep(10);
      }
      // poll with no rows prints nothing when ready: give it its first poll.
      if (source === 'poll' && rows === 0) await sleep(500);
    },
    now,
    kmsg: () => ctx.kmsg(),
    clockOffset: () => clockOffset(port),
    catTrace: () => catTrace(port),
    pipeMode,
    op: (name) => ctx.op(name),
  };
}

export const doorbells: Scenario = async (params, ctx) => doorbellSteps(await env(ctx), params as DoorbellParams);
export const doorbellRefusal: Scenario = async (params, ctx) => refusalSteps(await env(ctx), params as DoorbellParams);
