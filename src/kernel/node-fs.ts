// Shared node:fs plumbing of the real and sysroot backends: map a kernel path to a host
// path, convert node:fs errors to KernelError, stat shapes, line streams.
import fs from 'node:fs';
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
