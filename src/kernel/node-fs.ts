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
  return { kind, mode: s.mode & 0o7777, size: s.size, nlink: s.nlink };
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
 * limit + 1 bytes: the caller refuses the file). Never allocates more than the file gave,
 * plus one chunk. Chunks of 64 KiB: one read() returns a whole sysfs/configfs attribute.
 */
export async function readFdBounded(fh: FileHandle, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total <= limit) {
    const want = Math.min(64 * 1024, limit + 1 - total);
    const buf = Buffer.allocUnsafe(want);
    const { bytesRead } = await fh.read(buf, 0, want, null);
    if (bytesRead === 0) break;
    chunks.push(bytesRead === want ? buf : buf.subarray(0, bytesRead));
    total += bytesRead;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
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
