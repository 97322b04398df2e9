// Picks the backend for a run: the live system, a recorded board (--root DIR) or a simulated
// one (--mock BOARD, optionally continued from --mock-state FILE). The fake kernel is loaded
// only for --mock runs, so probing a real board never pays for memfs and the board profiles.
import fs from 'node:fs/promises';
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

/** How often a following process looks at the state file (a stat: cheap). */
export const FOLLOW_MS = 20;

/** What changes when another process saves the file (writeStateFile renames a new file in). */
async function fileSignature(file: string): Promise<string | undefined> {
  const st = await fs.stat(file).catch(() => undefined);
  return st && `${st.ino}:${st.size}:${st.mtimeMs}`;
}

async function openMock(board: string, kernel: string | undefined, stateFile: string | undefined, follow: boolean): Promise<OpenPort> {
  const { createFakeKernel, loadFakeKernel } = await import('../fake/index.js');
  const { readStateFile, writeStateFile } = await import('../fake/state-file.js');
  const saved = stateFile === undefined ? undefined : await readStateFile(stateFile);
  const fake = saved
    ? loadFakeKernel(saved, { board, ...(kernel === undefined ? {} : { kernel }) })
    : createFakeKernel({ board, ...(kernel === undefined ? {} : { kernel }) });
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  // A follower (watch) polls for as long as it runs: its reads need no log.
  if (follow) fake.keepOpLog('changes');
  if (follow && stateFile !== undefined) {
    let seen = await fileSignature(stateFile);
    let busy = false;
    timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void (async () => {
        const now = await fileSignature(stateFile);
        if (now === undefined || now === seen) return;
        seen = now;
        // Saved atomically by the other process; one it broke is skipped until it saves again.
        const state = await readStateFile(stateFile).catch(() => undefined);
        if (state) await fake.adopt(state);
      })().finally(() => (busy = false));
    }, FOLLOW_MS);
    timer.unref();
  }
  return {
    port: fake,
    close: async () => {
      if (timer) clearInterval(timer);
      if (closed || stateFile === undefined) return;
      closed = true;
      // A process that changed nothing must not overwrite what others saved meanwhile (a reader
      // holds no lock); a new file is still created, as --mock-state promises.
      if (saved && !fake.changedBoard()) return;
      await writeStateFile(stateFile, fake.toState());
    },
  };
}
