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
  if (opts.mock !== undefined) return openMock(opts.mock, opts.kernel, opts.mockState);
  return { port: new RealKernel(), close: async () => undefined };
}

async function openMock(board: string, kernel: string | undefined, stateFile: string | undefined): Promise<OpenPort> {
  const { createFakeKernel, loadFakeKernel } = await import('../fake/index.js');
  const { readStateFile, writeStateFile } = await import('../fake/state-file.js');
  const saved = stateFile === undefined ? undefined : await readStateFile(stateFile);
  const fake = saved
    ? loadFakeKernel(saved, { board, ...(kernel === undefined ? {} : { kernel }) })
    : createFakeKernel({ board, ...(kernel === undefined ? {} : { kernel }) });
  let closed = false;
  return {
    port: fake,
    close: async () => {
      if (closed || stateFile === undefined) return;
      closed = true;
      await writeStateFile(stateFile, fake.toState());
    },
  };
}
