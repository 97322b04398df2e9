// Shared node:fs plumbing of the real and sysroot backends: convert node:fs errors to
// KernelError, stat shapes, bounded reads, line streams.
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { RawKind } from './raw-tree.js';
import readline from 'node:readline';
import type { KernelStat, EntryKind } from './port.js';
import { fromNodeError, type KernelOp } from './errors.js';

// The callback form, not fs.promises: FileHandle.write() returns early for an empty buffer,
// while fs.write() really calls write(fd, NULL, 0), which configfs answers with EFAULT.
export function writeFd(fd: number, bytes: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.write(fd, bytes, 0, bytes.length, null, (err, written) => (err ? reject(err) : resolve(written)));
  });
}

export async function guard<T>(op: KernelOp, path: string, fn: () => Promise<T>, dest?: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw fromNodeError(e, op, path, dest);
  }
}

export function toKernelStat(s: fs.Stats): KernelStat {
  const kind: EntryKind = s.isSymbolicLink() ? 'symlink' : s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other';
  return { kind, mode: s.mode & 0o7777, size: s.size, nlink: s.nlink, uid: s.uid, gid: s.gid };
}

/** The entry kind of a node:fs stat, special files told apart. */
export function rawKind(s: fs.Stats): RawKind {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'dir';
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isFIFO()) return 'fifo';
  if (s.isSocket()) return 'socket';
  if (s.isCharacterDevice()) return 'char-device';
  return 'block-device';
}

/**
 * Reads from an open file until EOF or until more than `limit` bytes came (then returns
 * limit + 1 bytes: the caller refuses the file). `sizeHint` (fstat's size: exact for a regular
 * file, a page for a sysfs attribute, 0 for procfs) sizes the first buffer, so a small file
 * costs one small allocation; the buffer doubles as needed and never passes limit + 1.
 */
export async function readFdBounded(fh: FileHandle, limit: number, sizeHint = 0): Promise<Uint8Array> {
  let buf = Buffer.allocUnsafe(Math.min(limit + 1, Math.max(sizeHint + 1, 512)));
  let total = 0;
  for (;;) {
    if (total === buf.length) {
      if (total > limit) break;
      const bigger = Buffer.allocUnsafe(Math.min(limit + 1, buf.length * 2));
      buf.copy(bigger, 0, 0, total);
      buf = bigger;
    }
    const { bytesRead } = await fh.read(buf, total, buf.length - total, null);
    if (bytesRead === 0) break;
    total += bytesRead;
  }
  return buf.subarray(0, total);
}

export async function* fileLines(hostPath: string, signal?: AbortSignal): AsyncIterable<string> {
  const stream = fs.createReadStream(hostPath, { encoding: 'utf8', ...(signal ? { signal } : {}) });
  const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } catch (e) {
    if ((e as { name?: string }).name !== 'AbortError') throw e;
  } finally {
    rl.close();
    stream.destroy();
  }
}
