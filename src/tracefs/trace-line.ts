// One line of trace_pipe / trace, as kernel/trace/trace_output.c trace_print_context() prints
// it: "%16s-%-7d " comm and pid, "[%03d] " CPU, the irq-info flags (trace_print_lat_fmt: 4
// characters before the migrate-disable column, 5 after it, e.g. "d.h.."), " %5lu.%06lu" the
// timestamp, ": ", then the event name, ": " and the event's TP_printk text. The comm may hold
// spaces, dashes and colons, so the line is read from the event name backwards: everything
// from the event name on is stable across versions (kernel/trace/trace_output.c). Observed 7.3.4:
//   "          devmem-275     [000] d.h..     3.529673: irq_handler_entry: irq=18 name=pci_epf_vntb_db"
// irq_handler_entry prints "irq=%d name=%s", irq_handler_exit "irq=%d ret=%s" with
// handled/unhandled (include/trace/events/irq.h). When a per-CPU buffer overran, trace_pipe
// prints "CPU:%d [LOST %lu EVENTS]", or "CPU:%d [LOST EVENTS]" when the ring buffer could not
// tell how many (lost_events == -1), kernel/trace/trace.c print_trace_line; count is null then.

export interface TraceContext {
  comm: string;
  pid: number;
  cpu: number;
  /** irq-info flags ("d.h.."), absent when the irq-info option is off. */
  flags?: string;
  /** Timestamp in microseconds (the " %5lu.%06lu" column). */
  usec: number;
}

export type TraceLine =
  | (TraceContext & { kind: 'irq_handler_entry'; irq: number; name: string })
  | (TraceContext & { kind: 'irq_handler_exit'; irq: number; handled: boolean })
  | (TraceContext & { kind: 'other'; event: string; text: string })
  | { kind: 'lost'; cpu: number; count: number | null };

/** Longer lines are not a trace line epctl asked for (the kernel's trace_seq is one page). */
export const MAX_TRACE_LINE = 4096;

const LOST = /^CPU:(\d{1,6}) \[LOST (?:(\d{1,20}) )?EVENTS\]$/;
// comm (anything, lazy: the first "-<pid>" before the CPU column wins), pid, optional TGID
// column "(%7d) " / "(-------) ", CPU, optional flags, seconds.micro, event name, text.
const CONTEXT = /^(.*?)-(\d{1,10})\s+(?:\((?:\s*\d{1,10}|-{5,7})\)\s+)?\[(\d{1,6})\]\s+(?:([^\s\d][^\s]{3,4})\s+)?(\d{1,12})\.(\d{6}): ([A-Za-z_][A-Za-z0-9_]{0,63}): ?(.*)$/s;
const ENTRY = /^irq=(-?\d{1,10}) name=(.*)$/s;
const EXIT = /^irq=(-?\d{1,10}) ret=(handled|unhandled)$/;

/**
 * Parses one line (without its newline). Returns undefined for what is not an event line:
 * blank lines, the "# …" header of `trace`, text no kernel prints. Never throws.
 */
export function parseTraceLine(line: string): TraceLine | undefined {
  if (typeof line !== 'string' || line.length === 0 || line.length > MAX_TRACE_LINE) return undefined;
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (text.startsWith('#')) return undefined;
  const lost = LOST.exec(text);
  if (lost) return { kind: 'lost', cpu: Number(lost[1]), count: lost[2] === undefined ? null : Number(lost[2]) };
  // Leading padding trimmed here: a regex anchored on \s* backtracks quadratically over it.
  const m = CONTEXT.exec(text.trimStart());
  if (!m) return undefined;
  const [, comm = '', pid = '0', cpu = '0', flags, sec = '0', micro = '0', event = '', rest = ''] = m;
  const ctx: TraceContext = { comm: comm.trim(), pid: Number(pid), cpu: Number(cpu), usec: Number(sec) * 1_000_000 + Number(micro) };
  if (flags !== undefined) ctx.flags = flags;
  if (!Number.isSafeInteger(ctx.usec)) return undefined;
  if (event === 'irq_handler_entry') {
    const e = ENTRY.exec(rest);
    if (e) return { ...ctx, kind: 'irq_handler_entry', irq: Number(e[1]), name: e[2]! };
  } else if (event === 'irq_handler_exit') {
    const e = EXIT.exec(rest);
    if (e) return { ...ctx, kind: 'irq_handler_exit', irq: Number(e[1]), handled: e[2] === 'handled' };
  }
  return { ...ctx, kind: 'other', event, text: rest };
}

/** The line trace_print_context() + irq_handler_entry print (the fake kernel writes these). */
export function formatTraceLine(ctx: TraceContext & { flags: string }, event: string, text: string): string {
  const sec = Math.floor(ctx.usec / 1_000_000);
  const micro = String(ctx.usec % 1_000_000).padStart(6, '0');
  return `${ctx.comm.slice(0, 15).padStart(16)}-${String(ctx.pid).padEnd(7)} [${String(ctx.cpu).padStart(3, '0')}] ${ctx.flags} ${String(sec).padStart(5)}.${micro}: ${event}: ${text}`;
}
