// Reading a trace array's trace_pipe on the live kernel (the real backend's lines() for a path
// ending in /trace_pipe): the one home of how epctl waits for trace events and how it stops
// waiting.
//
// Blocking, woken by trace_marker (the default). trace_pipe is opened without O_NONBLOCK and
// read on a libuv threadpool thread: kernel/trace/trace.c tracing_read_pipe → tracing_wait_pipe
// → wait_on_pipe → kernel/trace/ring_buffer.c ring_buffer_wait sleeps until the buffer is not
// empty, and the commit of the next event wakes it (ring_buffer_unlock_commit → rb_wakeups →
// irq_work → rb_wake_up_waiters), so a line leaves the kernel as soon as it is recorded, not
// at the next poll. A read that waits must still end on request (Ctrl-C, AbortSignal, the exit
// hook), and nothing else ends it: close(2) of the fd from another thread does not wake it,
// writing 0 to tracing_on wakes the queue but wait_pipe_cond keeps trace_pipe's reader asleep
// (rb_simple_write → ring_buffer_wake_waiters; the condition only looks at the buffer and
// iter->wait_index, which only trace_pipe_raw's flush bumps), and libuv cannot interrupt a
// threadpool thread. So stopping writes a marker line to the same array's trace_marker:
// tracing_mark_write → write_marker_to_buffer reserves a TRACE_PRINT entry straight in that
// array's buffer (__trace_buffer_lock_reserve / __buffer_unlock_commit: no event, so no event
// filter applies; only ftrace/print triggers would, and a fresh instance has none), which
// wakes the reader like any event. The reader sees it is stopping, drops the marker line and
// closes the fd. A read left waiting would also hang the process at exit: process.exit joins
// the threadpool (Node's DefaultProcessExitHandler → uv_library_shutdown), so the exit hook
// (stopSync) wakes the read the same way before it closes the fd.
//
// Markers need the array's "markers" option (on by default, also in instances: it is not in
// ZEROED_TRACE_FLAGS) and a buffer that records (tracing_on; else the write fails with EBADF);
// a marker is written once at the start to prove it. Where trace_marker is missing or cannot be
// written (a read-only array, a tracefs without it), the reader falls back to O_NONBLOCK reads
// (tracing_wait_pipe returns -EAGAIN when empty) with a short sleep on each EAGAIN: no thread is
// ever pinned, at the cost of up to IDLE_MS of delay per line.
//
// Either way the fd is told to the caller (onOpen) while it is open: an open trace_pipe holds
// a reference on the trace array (tracing_open_pipe → tracing_check_open_get_tr, tr->ref), and
// __remove_instance answers EBUSY while it is held, so the instance cannot be removed until
// the pipe is closed.
import fs from 'node:fs';
import { guard } from '../kernel/node-fs.js';

/** The open trace_pipe, as onOpen tells it. */
export interface OpenPipe {
  readonly fd: number;
  /** 'blocking': reads wait in the kernel, woken by trace_marker; 'poll': O_NONBLOCK reads and sleeps. */
  readonly mode: 'blocking' | 'poll';
  /**
   * For an exit hook (synchronous, the process ends next): wakes a read waiting in the kernel
   * and closes the fd. The file itself is released once that read returned, on its threadpool
   * thread, so an rmdir of the instance right after may still be EBUSY for a moment. Safe to
   * call twice, and after the reader closed the fd (then it does nothing).
   */
  stopSync(): void;
}

export interface TracePipeOptions {
  /** Stops the stream; the iterator then ends without an error. */
  signal?: AbortSignal;
  /** Told the open pipe after the open, then undefined before the fd is closed. */
  onOpen?: (pipe: OpenPipe | undefined) => void;
  /** The file whose writes wake a waiting read; default the trace_marker beside the trace_pipe. */
  marker?: string;
  /** The fallback's sleep after an EAGAIN, ms. */
  idleMs?: number;
}

export const IDLE_MS = 10;

/** trace_marker of the array whose trace_pipe is PIPE (instances/<name>/trace_marker, trace.c init_tracer_tracefs). */
export const markerBeside = (pipe: string): string => `${pipe.slice(0, pipe.lastIndexOf('/'))}/trace_marker`;

const openFd = (path: string, flags: number): Promise<number> => new Promise((res, rej) => fs.open(path, flags, (e, fd) => (e ? rej(e) : res(fd))));
const readFd = (fd: number, buf: Buffer): Promise<number> => new Promise((res, rej) => fs.read(fd, buf, 0, buf.length, null, (e, n) => (e ? rej(e) : res(n))));
const closeFd = (fd: number): Promise<void> => new Promise((res, rej) => fs.close(fd, (e) => (e ? rej(e) : res())));
const codeOf = (e: unknown): string | undefined => (e as { code?: string }).code;

/**
 * Opens the wake file and writes one marker to prove that markers reach the buffer; undefined
 * when they cannot (the reader then polls). The marker is the first line the reader will see
 * and drop.
 */
async function openMarker(path: string, line: string): Promise<number | undefined> {
  let fd: number | undefined;
  try {
    fd = await openFd(path, fs.constants.O_WRONLY);
    fs.writeSync(fd, line);
    return fd;
  } catch {
    if (fd !== undefined) fs.closeSync(fd);
    return undefined;
  }
}

/** Splits decoded chunks into lines (without their newline). */
function lineSplitter(): (bytes: Uint8Array) => string[] {
  const decoder = new TextDecoder('utf-8');
  let pending = '';
  return (bytes) => {
    pending += decoder.decode(bytes, { stream: true });
    const lines = pending.split('\n');
    pending = lines.pop()!;
    return lines;
  };
}

/**
 * The lines of a trace_pipe as the kernel records them, without their newline, until SIGNAL
 * aborts (or EOF: tracing turned off after something was read, tracing_wait_pipe).
 */
export async function* tracePipeLines(path: string, opts: TracePipeOptions = {}): AsyncIterable<string> {
  const { signal } = opts;
  if (signal?.aborted) return;
  // Unique to this reader (pid and start time; not node:crypto, whose first use may wait for
  // the kernel's CRNG on a freshly booted board): a marker another process writes stays an
  // ordinary line.
  const token = `epctl-wake-${process.pid}-${process.hrtime.bigint()}`;
  const markerFd = await openMarker(opts.marker ?? markerBeside(path), `${token}\n`);
  const blocking = markerFd !== undefined;
  let fd: number;
  try {
    fd = await guard('open', path, () => openFd(path, fs.constants.O_RDONLY | (blocking ? 0 : fs.constants.O_NONBLOCK)));
  } catch (e) {
    if (markerFd !== undefined) fs.closeSync(markerFd);
    throw e;
  }
  let stopping = false;
  let closed = false;
  /** Wakes a read waiting in the kernel (blocking mode); the poll's sleep ends on the signal. */
  const wake = (): void => {
    if (stopping) return;
    stopping = true;
    if (markerFd === undefined) return;
    try {
      fs.writeSync(markerFd, `${token}\n`);
    } catch {
      // Markers worked at the start; if they stopped (tracing_on or the markers option turned
      // off by hand), the read ends with the next event instead.
    }
  };
  const pipe: OpenPipe = {
    fd,
    mode: blocking ? 'blocking' : 'poll',
    stopSync() {
      wake();
      if (closed) return;
      closed = true;
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    },
  };
  opts.onOpen?.(pipe);
  signal?.addEventListener('abort', wake, { once: true });
  if (signal?.aborted) wake();
  // trace_pipe gives at most a page per read (TRACE_SEQ_BUFFER_SIZE).
  const buf = Buffer.alloc(64 * 1024);
  const split = lineSplitter();
  try {
    while (!stopping && !closed) {
      let n: number;
      try {
        n = await readFd(fd, buf);
      } catch (e) {
        const code = codeOf(e);
        if (code === 'EINTR') continue;
        // stopSync closed the fd under the read (the exit hook): nothing more to read.
        if (closed && code === 'EBADF') break;
        if (code !== 'EAGAIN' || blocking) throw e;
        await idle(opts.idleMs ?? IDLE_MS, signal);
        continue;
      }
      if (n === 0) break;
      for (const line of split(buf.subarray(0, n))) if (!line.endsWith(token)) yield line;
    }
  } finally {
    signal?.removeEventListener('abort', wake);
    opts.onOpen?.(undefined);
    if (!closed) {
      closed = true;
      await closeFd(fd).catch((e: unknown) => {
        if (codeOf(e) !== 'EBADF') throw e;
      });
    }
    if (markerFd !== undefined) fs.closeSync(markerFd);
  }
}

function idle(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
