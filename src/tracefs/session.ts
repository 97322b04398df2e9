// A private trace array for epctl's irq events: instances/epctl-<pid> (kernel/trace/trace.c
// instance_mkdir), irq_handler_entry filtered on the doorbell action names (the filter is
// written before the event is enabled, so no unfiltered event reaches the buffer), and its
// trace_pipe read through the port. The instance is always removed: close() disables the
// event and rmdirs it; rmdir of an instance whose trace_pipe is still open is EBUSY
// (the open pipe holds a reference on the trace array, __remove_instance), so the reader is
// stopped first and the rmdir retried a few times while the pipe closes. A cleanup hook
// (cli/cleanup.ts atExit) covers an exit that never reaches close() on a live board: it stops
// the trace_pipe reader first (tracefs/pipe.ts stopSync: a trace_marker line wakes a read
// waiting in the kernel, which would otherwise keep process.exit from joining the threadpool,
// and the fd is closed; the open pipe holds tr->ref and __remove_instance in
// kernel/trace/trace.c is EBUSY while `tr->ref > 1`), then rmdirs, retrying briefly while the
// woken read returns and releases the file.
// At start, instances/epctl-<pid> of processes that are gone (kill(pid, 0): ESRCH) are
// removed; an epctl-<pid> that exists and is not ours (a dead run whose pid came back, or a
// process of another pid namespace, a container, with our pid) is never shared: epctl-<pid>-<n>.
import fs from 'node:fs';
import type { KernelPort } from '../kernel/port.js';
import type { OpenPipe } from './pipe.js';
import { KernelError } from '../kernel/errors.js';
import { eventDir, instanceDir, traceClock, tracePipe, INSTANCE_PREFIX } from './paths.js';
import { readText } from '../kernel/port.js';
import { actionFilter } from './filter.js';
import { parseTraceLine, type TraceLine } from './trace-line.js';

export interface IrqTraceOptions {
  /** tracefs mount point (find.ts). */
  root: string;
  /** Action names to trace (irq_handler_entry `name`). */
  actions: readonly string[];
  /** Instance name; default epctl-<pid>. */
  name?: string;
  /** Register a synchronous last-resort remover (cleanup.atExit); returns its unregisterer. */
  atExit?: (fn: () => void) => () => void;
  /** The hook's synchronous calls (tests); default node:fs and an Atomics.wait sleep. */
  sync?: { rmdirSync(path: string): void; sleepSync?(ms: number): void };
  /** Where the exit hook says it could not remove the instance; default stderr. */
  warn?: (message: string) => void;
  /** kill(pid, 0) (tests); default process.kill. */
  kill?: (pid: number, signal: 0) => void;
}

export interface IrqTrace {
  /** The instance directory. */
  readonly dir: string;
  /**
   * The instance's trace clock after set-up: "mono" (CLOCK_MONOTONIC, as process.hrtime)
   * where the kernel has it, else what it had ("local" by default), or undefined when there
   * is no trace_clock file.
   */
  readonly clock: string | undefined;
  /** Parsed trace_pipe lines until SIGNAL aborts (blank and unknown lines skipped). */
  events(signal: AbortSignal): AsyncIterable<TraceLine>;
  /** Disable the event and remove the instance; safe to call twice. */
  close(): Promise<void>;
}

const RMDIR_TRIES = 20;
/** The exit hook's rmdir tries: sleeps of 1, 2, 4 … 256 ms (≈ 0.5 s in all) while the woken read lets go. */
const HOOK_RMDIR_TRIES = 10;
const sleepSync = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
/** epctl-<pid>, or epctl-<pid>-<n> when that name was taken. */
const OURS = new RegExp(`^${INSTANCE_PREFIX}(\\d+)(?:-\\d+)?$`);
const SUFFIX_TRIES = 100;

/** Removes the instances of epctl processes that are gone; one still in use (EBUSY) is left. */
async function removeStale(port: KernelPort, root: string, kill: (pid: number, signal: 0) => void): Promise<void> {
  let names: string[];
  try {
    names = await port.readdir(`${root}/instances`);
  } catch {
    return;
  }
  for (const n of names) {
    const m = OURS.exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || !(pid > 0)) continue;
    try {
      kill(pid, 0);
      continue; // alive (or EPERM: alive, not ours to signal)
    } catch (e) {
      if ((e as { code?: string }).code !== 'ESRCH') continue;
    }
    await port.rmdir(instanceDir(root, n)).catch(() => undefined);
  }
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Selects "mono" when trace_clock offers it; returns the clock in use (undefined: no trace_clock). */
async function useMonoClock(port: KernelPort, dir: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readText(port, traceClock(dir));
  } catch (e) {
    if (e instanceof KernelError && e.code === 'ENOENT') return undefined;
    throw e;
  }
  const names = text.trim().split(/\s+/);
  const current = names.find((n) => n.startsWith('['))?.slice(1, -1);
  if (current === 'mono' || !names.includes('mono')) return current;
  await port.write(traceClock(dir), 'mono');
  return 'mono';
}

export async function openIrqTrace(port: KernelPort, opts: IrqTraceOptions): Promise<IrqTrace> {
  const base = opts.name ?? `${INSTANCE_PREFIX}${process.pid}`;
  await removeStale(port, opts.root, opts.kill ?? ((pid, sig) => void process.kill(pid, sig)));
  let name = base;
  for (let n = 2; ; n++) {
    try {
      await port.mkdir(instanceDir(opts.root, name));
      break;
    } catch (e) {
      // Not ours (another process with our pid, or a dead run's still busy): never shared.
      if (!(e instanceof KernelError && e.code === 'EEXIST') || n > SUFFIX_TRIES) throw e;
      name = `${base}-${n}`;
    }
  }
  const dir = instanceDir(opts.root, name);
  const entry = eventDir(dir, 'irq_handler_entry');
  // A kill that never reaches close(): on a live board stop the trace_pipe reader (it holds
  // tr->ref, so the rmdir would be EBUSY; a read left waiting would hang the exit), then rmdir
  // (nothing to do for other backends).
  let pipe: OpenPipe | undefined;
  const sync = opts.sync ?? { rmdirSync: (p: string) => fs.rmdirSync(p) };
  const forget =
    port.backend === 'real'
      ? opts.atExit?.(() => {
          pipe?.stopSync();
          pipe = undefined;
          for (let i = 0; ; i++) {
            try {
              sync.rmdirSync(dir);
              return;
            } catch (e) {
              const code = (e as { code?: string }).code;
              if (code === 'ENOENT') return;
              if (code === 'EBUSY' && i < HOOK_RMDIR_TRIES - 1) {
                (sync.sleepSync ?? sleepSync)(2 ** i);
                continue;
              }
              // cleanup.removeAllSync swallows errors: say it here, with the fix.
              (opts.warn ?? ((m: string) => void process.stderr.write(m)))(`epctl: could not remove the trace instance ${dir} (${code ?? String(e)}); remove it with: rmdir ${dir}\n`);
              return;
            }
          }
        })
      : undefined;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      await port.write(`${entry}/enable`, '0').catch(() => undefined);
      for (let i = 0; ; i++) {
        try {
          await port.rmdir(dir);
          break;
        } catch (e) {
          if (e instanceof KernelError && e.code === 'ENOENT') break;
          if (!(e instanceof KernelError && e.code === 'EBUSY') || i >= RMDIR_TRIES) throw e;
          await sleep(5 * (i + 1));
        }
      }
      forget?.();
    })());
  let clock: string | undefined;
  try {
    // The default trace clock is "local" (sched_clock: ≈ CLOCK_MONOTONIC, but not the same
    // clock); "mono" is ktime_get_mono_fast_ns, CLOCK_MONOTONIC itself (kernel/trace/trace.c
    // trace_clocks[]), the clock epctl stamps what it sees in /proc/interrupts with. Set
    // before the event is enabled: tracing_set_clock resets the buffer.
    clock = await useMonoClock(port, dir);
    await port.write(`${entry}/filter`, actionFilter(opts.actions));
    await port.write(`${entry}/enable`, '1');
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }
  return {
    dir,
    clock,
    close,
    async *events(signal) {
      for await (const line of port.lines(tracePipe(dir), { signal, onOpen: (p) => (pipe = p) })) {
        const parsed = parseTraceLine(line);
        if (parsed) yield parsed;
      }
    },
  };
}
