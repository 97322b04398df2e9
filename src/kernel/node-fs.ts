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

/**
 * Lines of a file that honours O_NONBLOCK (tracefs trace_pipe: kernel/trace/trace.c
 * tracing_wait_pipe returns -EAGAIN when empty), read without ever blocking a libuv thread:
 * on EAGAIN it waits `idleMs` or until SIGNAL aborts. A blocking read would pin a thread until
 * the next event and keep the file open after the reader stopped (a trace instance whose
 * pipe is open cannot be removed: EBUSY). ONFD is told the descriptor after the open and
 * undefined before the close: the open pipe holds a reference on the trace array (tr->ref,
 * kernel/trace/trace.c tracing_open_pipe → tracing_check_open_get_tr), and __remove_instance answers
 * EBUSY while it is held, so an exit hook must close this fd before it rmdirs the instance.
 */
export async function* nonBlockingLines(hostPath: string, signal?: AbortSignal, idleMs = 10, onFd?: (fd: number | undefined) => void): AsyncIterable<string> {
  const fh = await guard('open', hostPath, () => fs.promises.open(hostPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK));
  onFd?.(fh.fd);
  const buf = Buffer.alloc(64 * 1024);
  const decoder = new TextDecoder('utf-8');
  let pending = '';
  try {
    while (!signal?.aborted) {
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(buf, 0, buf.length, null));
      } catch (e) {
        if ((e as { code?: string }).code !== 'EAGAIN') throw e;
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, idleMs);
          signal?.addEventListener('abort', done, { once: true });
          function done(): void {
            clearTimeout(t);
            signal?.removeEventListener('abort', done);
            resolve();
          }
        });
        continue;
      }
      if (n === 0) break;
      pending += decoder.decode(buf.subarray(0, n), { stream: true });
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        yield pending.slice(0, nl);
        pending = pending.slice(nl + 1);
      }
    }
  } finally {
    onFd?.(undefined);
    await fh.close().catch((e: unknown) => {
      // The exit hook closed it already (EBADF): nothing left to close.
      if ((e as { code?: string }).code !== 'EBADF') throw e;
    });
  }
}
