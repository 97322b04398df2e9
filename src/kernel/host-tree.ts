// The raw tree of a recorded board kept as a host directory (`--root DIR`). It never follows
// a link itself: the jail (jail.ts) hands it paths whose every directory it has lstat'ed, and
// the last component is opened with O_NOFOLLOW. A regular file is opened with O_NONBLOCK (a
// FIFO swapped in after the lstat cannot block the open) and confirmed by fstat on the open
// descriptor before a byte is read; anything else is reported as special, unread.
import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import nodePath from 'node:path';
import type { RawRead, RawStat, RawTree } from './raw-tree.js';
import { rawKind, readFdBounded } from './node-fs.js';

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export class HostTree implements RawTree {
  /** The directory, absolute. */
  readonly dir: string;

  constructor(dir: string) {
    this.dir = nodePath.resolve(dir);
  }

  private host(rel: string): string {
    return rel === '' ? this.dir : `${this.dir}/${rel}`;
  }

  async lstat(rel: string): Promise<RawStat> {
    // The root itself is what the person named: a link there is followed, as `cd DIR` would.
    const s = rel === '' ? await fs.stat(this.dir) : await fs.lstat(this.host(rel));
    return { kind: rawKind(s), mode: s.mode & 0o7777, size: s.size, nlink: s.nlink };
  }

  readdir(rel: string): Promise<string[]> {
    return fs.readdir(this.host(rel));
  }

  readlink(rel: string): Promise<string> {
    return fs.readlink(this.host(rel));
  }

  async readBounded(rel: string, limit: number): Promise<RawRead> {
    const fh = await fs.open(this.host(rel), OPEN_FLAGS);
    try {
      const st = await fh.stat();
      const kind = rawKind(st);
      if (kind !== 'file') return { special: kind };
      return { bytes: await readFdBounded(fh, limit, st.size) };
    } finally {
      await fh.close();
    }
  }
}
