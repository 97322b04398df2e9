// Picks the backend for a run: the live system, a recorded board (--root DIR) or a simulated
// one (--mock BOARD, optionally continued from --mock-state FILE). The fake kernel is loaded
// only for --mock runs, so probing a real board never pays for memfs and the board profiles.
import fs from 'node:fs/promises';
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
    const { isArchive, unpackToTemp } = await import('../snapshot/archive.js');
    if (st?.isFile() && isArchive(opts.root)) {
      const dir = await unpackToTemp(opts.root).catch((e: unknown) => {
        throw new EpctlError(`--root ${opts.root}: not a readable .tar.gz (${(e as Error).message})`, { exitCode: EXIT.NO_BOARD, hint: 'give an archive written by `epctl snapshot BOARD.tar.gz`', cause: e });
      });
      const port = new SysrootKernel(dir, opts.root);
      return { port, close: () => fs.rm(dir, { recursive: true, force: true }) };
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
