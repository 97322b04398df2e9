// Scenarios `doorbells` and `doorbell-refusal` in the guest: the shared steps
// (scripts/lane/doorbell-steps.ts) on the real kernel. epctl is the bundled CLI (/lane/epctl.cjs),
// watch runs as a child process, and the host is played through busybox devmem by the real
// port's peek/poke (src/kernel/real.ts), so what runs here is what a person runs on a board.
import fs from 'node:fs';
import { openPort } from '../../../src/kernel/open.js';
import { doorbellSteps, refusalSteps, spawnChild, type Child, type DoorbellEnv, type DoorbellParams } from '../doorbell-steps.js';
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
 * trace clock − CLOCK_MONOTONIC: a trace_marker write in the top-level buffer (trace_clock
 * "local", as in the watch's instance) between two now() reads; the marker's timestamp is read
 * back from `trace`. Best of five (the narrowest window).
 */
let markers = 0;
async function clockOffset(): Promise<{ offset: number; error: number } | undefined> {
  let best: { offset: number; error: number } | undefined;
  for (let i = 0; i < 5; i++) {
    const tag = `epctl-lane-clock-${process.pid}-${++markers}`;
    const t0 = now();
    fs.writeFileSync(`${TRACING}/trace_marker`, tag);
    const t1 = now();
    const line = fs.readFileSync(`${TRACING}/trace`, 'utf8').split('\n').find((l) => l.includes(tag));
    const p = line === undefined ? undefined : parseTraceLine(line);
    if (!p || p.kind === 'lost') continue;
    const c = { offset: p.usec / 1e6 - (t0 + t1) / 2, error: (t1 - t0) / 2 };
    if (!best || c.error < best.error) best = c;
  }
  return best;
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
        const ready = source === 'tracefs' ? (await traceEnabled(child.pid)) && child.lines.length >= rows : child.lines.length >= rows && (rows > 0 || child.lines.length >= 0);
        if (ready) break;
        if (Date.now() > end) throw new Error(`epctl doorbell watch --source ${source} (pid ${child.pid}) was not ready after 20 s (${child.lines.length} lines)`);
        await sleep(10);
      }
      // poll with no rows prints nothing when ready: give it its first poll.
      if (source === 'poll' && rows === 0) await sleep(500);
    },
    now,
    kmsg: () => ctx.kmsg(),
    clockOffset,
    op: (name) => ctx.op(name),
  };
}

export const doorbells: Scenario = async (params, ctx) => doorbellSteps(await env(ctx), params as DoorbellParams);
export const doorbellRefusal: Scenario = async (params, ctx) => refusalSteps(await env(ctx), params as DoorbellParams);
