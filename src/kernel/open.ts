// Picks the backend for a run: the live system, a recorded board (--root DIR) or a simulated
// one (--mock BOARD, optionally continued from --mock-state FILE). The fake kernel is loaded
// only for --mock runs, so probing a real board never pays for memfs and the board profiles.
import fs from 'node:fs/promises';
import { constants, watch as fsWatch } from 'node:fs';
import nodePath from 'node:path';
import type { KernelPort } from './port.js';
import { RealKernel } from './real.js';
import { SysrootKernel } from './sysroot.js';
import { EpctlError } from './errors.js';
import { EXIT } from '../exit-codes.js';

export interface PortOptions {
  root?: string;
  mock?: string;
  kernel?: string;
  mockState?: string;
  /**
   * A read-only watch of a --mock-state board: take what other processes save to the file
   * while this one runs, and write the file back only if this process changed the board.
   */
  follow?: boolean;
}

export interface OpenPort {
  port: KernelPort;
  /** Saves --mock-state; safe to call twice. */
  close(): Promise<void>;
}

/** The caller (the CLI) has checked the combination: root and mock never come together. */
export async function openPort(opts: PortOptions): Promise<OpenPort> {
  if (opts.root !== undefined) {
    const st = await fs.stat(opts.root).catch(() => undefined);
    // archive-read.js, not archive.js: reading needs no `tar` package (the writer's).
    const { isArchive, readArchive } = await import('./archive-read.js');
    if (st?.isFile() && isArchive(opts.root)) {
      // Read into memory, never unpacked: nothing to remove afterwards, on any exit path.
      const tree = await readArchive(opts.root).catch((e: unknown) => {
        if (!(e instanceof EpctlError)) throw e;
        throw new EpctlError(`--root ${e.message}`, { exitCode: EXIT.NO_BOARD, ...(e.hint === undefined ? {} : { hint: e.hint }), cause: e });
      });
      return { port: new SysrootKernel(tree, nodePath.resolve(opts.root)), close: async () => undefined };
    }
    if (!st?.isDirectory())
      throw new EpctlError(`--root ${opts.root}: ${st ? 'neither a directory nor a .tar.gz' : 'no such file or directory'}`, {
        exitCode: EXIT.NO_BOARD,
        hint: 'give a directory or .tar.gz recorded with `epctl snapshot` on the board',
      });
    return { port: new SysrootKernel(opts.root), close: async () => undefined };
  }
  if (opts.mock !== undefined) return openMock(opts.mock, opts.kernel, opts.mockState, opts.follow === true);
  return { port: new RealKernel(), close: async () => undefined };
}

/**
 * A following process learns of a save from inotify on the state file's directory (fs.watch:
 * writeStateFile renames a new file in, IN_MOVED_TO); it also stats the file every
 * FOLLOW_SAFETY_MS in case an event was lost (inotify's queue overflowed), and every FOLLOW_MS
 * where the directory cannot be watched (no inotify instance or watch left, ENOSPC/EMFILE).
 */
export const FOLLOW_MS = 20;
export const FOLLOW_SAFETY_MS = 1000;

/**
 * Whether the file was saved again since it was last read, from a stat: no read, no parse.
 * Every save (writeStateFile) renames a file created afresh over the old one, so a save is a
 * new inode number, and it is the inode number that tells: the follower keeps the inode it
 * read open (an unlinked inode lives on while a file holds it: fs/inode.c iput_final evicts it
 * at the last reference only), so no later save is given its number again (on the local Linux
 * filesystems, whose live inodes have distinct numbers). Times alone would not do: they come
 * from the coarse clock (fs/inode.c current_time, a jiffy or so), and two saves of the same size
 * within one tick look alike. Size and the times are compared too, for a file edited in place
 * by hand; such an edit of the same size within one tick is missed until the next one.
 */
interface Seen {
  key: string;
  /** The inode last read, held open (see above). */
  held: import('node:fs/promises').FileHandle | undefined;
}

const keyOf = (st: import('node:fs').BigIntStats): string => `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;

async function statKey(file: string): Promise<string | undefined> {
  const st = await fs.stat(file, { bigint: true }).catch(() => undefined);
  return st && keyOf(st);
}

/** Opens the file to hold its inode, before it is read, and its key ('' when there is no regular file to hold). */
async function hold(file: string): Promise<Seen> {
  // O_NONBLOCK: a FIFO put there must not block the open (readStateFile refuses it).
  const fh = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined);
  const st = fh && (await fh.stat({ bigint: true }).catch(() => undefined));
  if (fh && st?.isFile()) return { key: keyOf(st), held: fh };
  await fh?.close().catch(() => undefined);
  return { key: '', held: undefined };
}

async function openMock(board: string, kernel: string | undefined, stateFile: string | undefined, follow: boolean): Promise<OpenPort> {
  const { createFakeKernel, loadFakeKernel } = await import('../fake/index.js');
  const { readStateFile, writeStateFile } = await import('../fake/state-file.js');
  // Held (follow) before the read: a save in between only makes the next look read again.
  let seen = follow && stateFile !== undefined ? await hold(stateFile) : undefined;
  const saved =
    stateFile === undefined
      ? undefined
      : await readStateFile(stateFile).catch(async (e: unknown) => {
          await seen?.held?.close().catch(() => undefined);
          throw e;
        });
  let fake: ReturnType<typeof createFakeKernel>;
  try {
    fake = saved ? loadFakeKernel(saved, { board, ...(kernel === undefined ? {} : { kernel }) }) : createFakeKernel({ board, ...(kernel === undefined ? {} : { kernel }) });
  } catch (e) {
    // A state file of another board (or release): the held descriptor goes with the refusal.
    await seen?.held?.close().catch(() => undefined);
    throw e;
  }
  let closed = false;
  /** The follower stopped (close): no more looks. */
  let stopped = false;
  const stops: Array<() => void> = [];
  // A follower (watch) polls for as long as it runs: its reads need no log.
  if (follow) fake.keepOpLog('changes');
  if (follow && stateFile !== undefined) {
    let busy = false;
    let again = false;
    const look = (): void => {
      if (stopped) return;
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      void (async () => {
        do {
          again = false;
          const now = await statKey(stateFile);
          if (stopped || now === undefined || now === seen!.key) continue;
          const next = await hold(stateFile);
          if (stopped) {
            await next.held?.close().catch(() => undefined);
            break;
          }
          // Swapped before any await: close() always finds the one to close in `seen`.
          const old = seen!.held;
          seen = next;
          await old?.close().catch(() => undefined);
          // Saved atomically by the other process; one it broke is skipped until it saves again.
          const state = await readStateFile(stateFile).catch(() => undefined);
          if (state) await fake.adopt(state);
        } while (again && !stopped);
      })().finally(() => (busy = false));
    };
    const every = (ms: number): void => {
      const t = setInterval(look, ms);
      t.unref();
      stops.push(() => clearInterval(t));
    };
    const base = nodePath.basename(stateFile);
    try {
      const w = fsWatch(nodePath.dirname(nodePath.resolve(stateFile)), { persistent: false }, (_event, name) => {
        // A null name: no entry named (libuv drops inotify's IN_Q_OVERFLOW itself, so a lost
        // event is caught by the FOLLOW_SAFETY_MS look, not here): look anyway.
        if (name === null || name === base) look();
      });
      w.on('error', () => {
        w.close();
        every(FOLLOW_MS);
      });
      stops.push(() => w.close());
      every(FOLLOW_SAFETY_MS);
    } catch {
      every(FOLLOW_MS);
    }
  }
  return {
    port: fake,
    close: async () => {
      stopped = true;
      for (const stop of stops.splice(0)) stop();
      await seen?.held?.close().catch(() => undefined);
      if (closed || stateFile === undefined) return;
      closed = true;
      // A process that changed nothing must not overwrite what others saved meanwhile (a reader
      // holds no lock); a new file is still created, as --mock-state promises.
      if (saved && !fake.changedBoard()) return;
      await writeStateFile(stateFile, fake.toState());
    },
  };
}
