// A private trace array for epctl's irq events: instances/epctl-<pid> (kernel/trace/trace.c
// instance_mkdir), irq_handler_entry filtered on the doorbell action names (the filter is
// written before the event is enabled, so no unfiltered event reaches the buffer), and its
// trace_pipe read through the port. The instance is always removed: close() disables the
// event and rmdirs it; rmdir of an instance whose trace_pipe is still open is EBUSY
// (the open pipe holds a reference on the trace array, __remove_instance), so the reader is
// stopped first and the rmdir retried a few times while the pipe closes. A cleanup hook
// (cli/cleanup.ts atExit) covers an exit that never reaches close() on a live board.
import fs from 'node:fs';
import type { KernelPort } from '../kernel/port.js';
import { KernelError } from '../kernel/errors.js';
import { eventDir, instanceDir, tracePipe, INSTANCE_PREFIX } from './paths.js';
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
}

export interface IrqTrace {
  /** The instance directory. */
  readonly dir: string;
  /** Parsed trace_pipe lines until SIGNAL aborts (blank and unknown lines skipped). */
  events(signal: AbortSignal): AsyncIterable<TraceLine>;
  /** Disable the event and remove the instance; safe to call twice. */
  close(): Promise<void>;
}

const RMDIR_TRIES = 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function openIrqTrace(port: KernelPort, opts: IrqTraceOptions): Promise<IrqTrace> {
  const name = opts.name ?? `${INSTANCE_PREFIX}${process.pid}`;
  const dir = instanceDir(opts.root, name);
  const entry = eventDir(dir, 'irq_handler_entry');
  try {
    await port.mkdir(dir);
  } catch (e) {
    // A stale instance of an earlier run with this pid: take it over.
    if (!(e instanceof KernelError && e.code === 'EEXIST')) throw e;
  }
  // A kill that never reaches close(): rmdir on a live board (nothing to do for other backends).
  const forget = port.backend === 'real' ? opts.atExit?.(() => fs.rmdirSync(dir)) : undefined;
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
  try {
    await port.write(`${entry}/filter`, actionFilter(opts.actions));
    await port.write(`${entry}/enable`, '1');
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }
  return {
    dir,
    close,
    async *events(signal) {
      for await (const line of port.lines(tracePipe(dir), { signal })) {
        const parsed = parseTraceLine(line);
        if (parsed) yield parsed;
      }
    },
  };
}
