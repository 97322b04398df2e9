// Backend "sysroot": a recorded board under a directory (`--root DIR`), as written by
// `epctl snapshot`: DIR/sys, DIR/proc, DIR/sys/firmware/devicetree/base, relative symlinks
// kept. Read-only: every change fails with EROFS, as on a read-only mount.
import fs from 'node:fs/promises';
import nodePath from 'node:path';
import type { KernelPort, KernelStat, StreamOptions } from './port.js';
import { KernelError, type KernelOp } from './errors.js';
import { guard, toKernelStat, fileLines } from './node-fs.js';

export class SysrootKernel implements KernelPort {
  readonly backend = 'sysroot';
  /** What the person gave (the directory, or the .tar.gz it was unpacked from). */
  readonly origin: string;
  /** The directory the files are read from. */
  readonly root: string;

  constructor(root: string, origin: string = root) {
    this.root = nodePath.resolve(root);
    this.origin = nodePath.resolve(origin);
  }

  /** Host path of a kernel path; ".." cannot climb out of the root. */
  host(path: string): string {
    return nodePath.join(this.root, nodePath.posix.normalize('/' + path));
  }

  private readOnly(op: KernelOp, path: string, dest?: string): Promise<never> {
    return Promise.reject(new KernelError({ code: 'EROFS', syscall: op, path, ...(dest === undefined ? {} : { dest }), hint: `${this.origin} is a recorded board (--root): it cannot be changed` }));
  }

  read(path: string): Promise<Uint8Array> {
    return guard('open', path, () => fs.readFile(this.host(path)));
  }
  write(path: string, _data?: string | Uint8Array): Promise<number> {
    return this.readOnly('open', path);
  }
  mkdir(path: string): Promise<void> {
    return this.readOnly('mkdir', path);
  }
  rmdir(path: string): Promise<void> {
    return this.readOnly('rmdir', path);
  }
  symlink(target: string, path: string): Promise<void> {
    return this.readOnly('symlink', path, target);
  }
  unlink(path: string): Promise<void> {
    return this.readOnly('unlink', path);
  }
  readdir(path: string): Promise<string[]> {
    return guard('scandir', path, async () => (await fs.readdir(this.host(path))).sort());
  }
  readlink(path: string): Promise<string> {
    return guard('readlink', path, () => fs.readlink(this.host(path)));
  }
  async stat(path: string): Promise<KernelStat> {
    return toKernelStat(await guard('stat', path, () => fs.stat(this.host(path))));
  }
  async lstat(path: string): Promise<KernelStat> {
    return toKernelStat(await guard('lstat', path, () => fs.lstat(this.host(path))));
  }
  async exists(path: string): Promise<boolean> {
    try {
      await fs.stat(this.host(path));
      return true;
    } catch {
      return false;
    }
  }
  lines(path: string, opts: StreamOptions = {}): AsyncIterable<string> {
    return fileLines(this.host(path), opts.signal);
  }
}
