// Scenarios `doorbells` and `doorbell-refusal` in the guest: the shared steps
// (scripts/lane/doorbell-steps.ts) on the real kernel. epctl is the bundled CLI (/lane/epctl.mjs),
// watch runs as a child process, and the host is played through busybox devmem by the real
// port's peek/poke (src/kernel/real.ts), so what runs here is what a person runs on a board.
import fs from 'node:fs';
import { execa } from 'execa';
import { openPort } from '../../../src/kernel/open.js';
import { doorbellSteps, refusalSteps, type Child, type DoorbellEnv, type DoorbellParams } from '../doorbell-steps.js';
import { run } from './run.js';
import type { GuestContext, Scenario } from './scenarios.js';

const EPCTL = '/lane/epctl.mjs';
const now = (): number => Number(process.hrtime.bigint()) / 1e9;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function spawn(args: readonly string[]): Child {
  const lines: { t: number; line: string }[] = [];
  const p = execa(process.execPath, [EPCTL, ...args], { reject: false, stdin: 'ignore', buffer: { stdout: false, stderr: true } });
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
  return { pid: p.pid ?? -1, lines, done };
}

/** The watch's tracefs instance (instances/epctl-<pid>, src/tracefs/session.ts) has its event enabled. */
async function traceEnabled(pid: number): Promise<boolean> {
  try {
    return fs.readFileSync(`/sys/kernel/tracing/instances/epctl-${pid}/events/irq/irq_handler_entry/enable`, 'utf8').trim() === '1';
  } catch {
    return false;
  }
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
    op: (name) => ctx.op(name),
  };
}

export const doorbells: Scenario = async (params, ctx) => doorbellSteps(await env(ctx), params as DoorbellParams);
export const doorbellRefusal: Scenario = async (params, ctx) => refusalSteps(await env(ctx), params as DoorbellParams);
