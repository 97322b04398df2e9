// One epctl at a time changes a board: a lock file made with O_EXCL beside the state file,
// holding who took it. A holder that died (its pid is gone on this host) leaves a stale lock;
// the next run takes it over, and only one run may: removing a stale lock needs a second,
// short-lived "breaker" file (O_EXCL too), so two runs cannot both remove it and both create
// their own. A live holder makes the next run wait (--wait) or fail naming it.
import fs from 'node:fs/promises';
import os from 'node:os';
import nodePath from 'node:path';
import { EpctlError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export interface Lock {
  readonly file: string;
  release(): Promise<void>;
}

export class LockBusyError extends EpctlError {}

/** A breaker older than this was left by a run killed while taking over: it is stale too. */
const BREAKER_STALE_MS = 10_000;

/** Whether process PID exists (EPERM: it does, someone else's). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readText(file: string): Promise<string | undefined> {
  return fs.readFile(file, 'utf8').catch(() => undefined);
}

function holderOf(text: string | undefined): LockHolder | undefined {
  try {
    const h = JSON.parse(text ?? '') as LockHolder;
    return typeof h?.pid === 'number' && typeof h.host === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

async function createExclusive(file: string, text: string): Promise<boolean> {
  try {
    const fh = await fs.open(file, 'wx', 0o644);
    try {
      await fh.writeFile(text);
    } finally {
      await fh.close();
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** Removes FILE if it still holds STALE, under the breaker; true when this run removed it. */
async function breakStale(file: string, stale: string): Promise<boolean> {
  const breaker = `${file}.break`;
  if (!(await createExclusive(breaker, `${process.pid}\n`))) {
    const age = Date.now() - (await fs.stat(breaker).then((s) => s.mtimeMs, () => Date.now()));
    if (age > BREAKER_STALE_MS) await fs.rm(breaker, { force: true });
    return false;
  }
  try {
    // Nobody can make a new lock while this one exists, and nobody else can remove it now.
    if ((await readText(file)) !== stale) return false;
    await fs.rm(file, { force: true });
    return true;
  } finally {
    await fs.rm(breaker, { force: true });
  }
}

/** Takes FILE for COMMAND, waiting up to waitMs for a live holder. */
export async function acquireLock(file: string, command: string, waitMs = 0): Promise<Lock> {
  await fs.mkdir(nodePath.dirname(file), { recursive: true });
  const me: LockHolder = { pid: process.pid, host: os.hostname(), command, since: new Date().toISOString() };
  const mine = JSON.stringify(me) + '\n';
  const end = Date.now() + waitMs;
  for (;;) {
    if (await createExclusive(file, mine)) {
      let released = false;
      return {
        file,
        release: async () => {
          if (released) return;
          released = true;
          // Only our own lock: a run that found ours stale (we were stopped for long) may hold it now.
          if ((await readText(file)) === mine) await fs.rm(file, { force: true });
        },
      };
    }
    const text = await readText(file);
    const holder = holderOf(text);
    // A holder on this host whose process is gone, or a file half-written by a killed run.
    const dead = holder ? holder.host === me.host && !alive(holder.pid) : Date.now() - (await fs.stat(file).then((s) => s.mtimeMs, () => Date.now())) > 5000;
    if (dead && text !== undefined && (await breakStale(file, text))) continue;
    // Another run is taking over a dead holder's lock: that is settled in moments, not a busy board.
    const settling = dead && Date.now() < end + BREAKER_STALE_MS;
    if (!settling && Date.now() >= end)
      throw new LockBusyError(
        holder ? `another epctl (pid ${holder.pid} on ${holder.host}, \`epctl ${holder.command}\`, since ${holder.since}) is changing this board` : `${file} is being taken by another epctl`,
        { exitCode: EXIT.ERROR, hint: `wait for it, or give --wait SECONDS; if no epctl runs, remove ${file}` },
      );
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 50));
  }
}
