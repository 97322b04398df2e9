// Backend "real": node:fs on the live system. The only code that writes to a board.
import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import type { KernelPort, KernelStat, StreamOptions } from './port.js';
import { guard, toKernelStat, writeFd, fileLines } from './node-fs.js';

export class RealKernel implements KernelPort {
  readonly backend = 'real';
  readonly origin = '/';

  read(path: string): Promise<Uint8Array> {
    return guard('open', path, () => fs.readFile(path));
  }

  async write(path: string, data: string | Uint8Array): Promise<number> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    // O_WRONLY alone, as `echo >` on configfs behaves: no O_CREAT, no O_TRUNC.
    const fh = await guard('open', path, () => fs.open(path, constants.O_WRONLY));
    try {
      return await guard('write', path, () => writeFd(fh.fd, bytes));
    } finally {
      await fh.close();
    }
  }

  mkdir(path: string): Promise<void> {
    return guard('mkdir', path, () => fs.mkdir(path));
  }
  rmdir(path: string): Promise<void> {
    return guard('rmdir', path, () => fs.rmdir(path));
  }
  symlink(target: string, path: string): Promise<void> {
    return guard('symlink', path, () => fs.symlink(target, path), target);
  }
  unlink(path: string): Promise<void> {
    return guard('unlink', path, () => fs.unlink(path));
  }
  readdir(path: string): Promise<string[]> {
    return guard('scandir', path, () => fs.readdir(path));
  }
  readlink(path: string): Promise<string> {
    return guard('readlink', path, () => fs.readlink(path));
  }
  async stat(path: string): Promise<KernelStat> {
    return toKernelStat(await guard('stat', path, () => fs.stat(path)));
  }
  async lstat(path: string): Promise<KernelStat> {
    return toKernelStat(await guard('lstat', path, () => fs.lstat(path)));
  }
  async exists(path: string): Promise<boolean> {
    try {
      await fs.stat(path);
      return true;
    } catch {
      return false;
    }
  }
  lines(path: string, opts: StreamOptions = {}): AsyncIterable<string> {
    return fileLines(path, opts.signal);
  }
}
