// One epctl at a time changes a board: a lock file made with O_EXCL beside the state file,
// holding who took it. A holder that died (its pid is gone on this host) leaves a stale lock
// that the next run takes over; a live one makes the next run wait (--wait) or fail naming it.
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readHolder(file: string): Promise<LockHolder | undefined> {
  try {
    const h = JSON.parse(await fs.readFile(file, 'utf8')) as LockHolder;
    return typeof h?.pid === 'number' && typeof h.host === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

/** Takes FILE for COMMAND, waiting up to waitMs for a live holder. */
export async function acquireLock(file: string, command: string, waitMs = 0): Promise<Lock> {
  await fs.mkdir(nodePath.dirname(file), { recursive: true });
  const me: LockHolder = { pid: process.pid, host: os.hostname(), command, since: new Date().toISOString() };
  const end = Date.now() + waitMs;
  for (;;) {
    try {
      const fh = await fs.open(file, 'wx', 0o644);
      await fh.writeFile(JSON.stringify(me) + '\n');
      await fh.close();
      let released = false;
      return {
        file,
        release: async () => {
          if (released) return;
          released = true;
          await fs.rm(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = await readHolder(file);
    // A holder on this host whose process is gone, or a file half-written by a killed run.
    if (!holder || (holder.host === me.host && !alive(holder.pid))) {
      const age = Date.now() - (await fs.stat(file).then((s) => s.mtimeMs, () => Date.now()));
      if (holder || age > 5000) {
        await fs.rm(file, { force: true });
        continue;
      }
    }
    if (Date.now() >= end)
      throw new LockBusyError(
        holder ? `another epctl (pid ${holder.pid} on ${holder.host}, \`epctl ${holder.command}\`, since ${holder.since}) is changing this board` : `${file} is being taken by another epctl`,
        { exitCode: EXIT.ERROR, hint: `wait for it, or give --wait SECONDS; if no epctl runs, remove ${file}` },
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
