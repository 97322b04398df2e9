// A recorded board's files as stored, before any symlink is followed: the tiny interface the
// jail (jail.ts) resolves kernel paths over. Two implementations: a host directory
// (host-tree.ts, `--root DIR`) and an archive read into memory (memory-tree.ts,
// `--root FILE.tar.gz`). Paths are root-relative ("" is the root, "sys/class"), and every
// directory on them has already been checked by the jail to be a directory, not a link.
// Failures are thrown as node:fs-shaped errors ({ code: 'ENOENT' }); the jail names the
// kernel path.

/** Kinds of entry a recording may hold; the four special ones are never read. */
export type RawKind = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device';

export interface RawStat {
  kind: RawKind;
  /** Permission bits only. */
  mode: number;
  size: number;
  nlink: number;
}

/** What a bounded read found: the bytes (at most limit + 1 of them), or a special file. */
export type RawRead = { bytes: Uint8Array } | { special: RawKind };

export interface RawTree {
  /** lstat(2) of the entry itself. */
  lstat(rel: string): Promise<RawStat>;
  /** Entry names, any order. */
  readdir(rel: string): Promise<string[]>;
  /** The link's own text. */
  readlink(rel: string): Promise<string>;
  /**
   * At most `limit + 1` bytes of a regular file (one more than allowed, so the caller can tell
   * "exactly the limit" from "over it"), without following a link at `rel` and without opening
   * a special file for reading.
   */
  readBounded(rel: string, limit: number): Promise<RawRead>;
}

/** A node:fs-shaped error for raw trees that are not node:fs (memory-tree.ts). */
export function rawError(code: string, rel: string): Error {
  return Object.assign(new Error(`${code}: ${rel}`), { code });
}

export function isSpecial(kind: RawKind): boolean {
  return kind !== 'file' && kind !== 'dir' && kind !== 'symlink';
}

/** How a person would call the kind, for refusals. */
export function describeKind(kind: RawKind): string {
  switch (kind) {
    case 'fifo':
      return 'a FIFO (named pipe)';
    case 'socket':
      return 'a socket';
    case 'char-device':
      return 'a character device node';
    case 'block-device':
      return 'a block device node';
    case 'dir':
      return 'a directory';
    case 'symlink':
      return 'a symlink';
    case 'file':
      return 'a file';
  }
}
