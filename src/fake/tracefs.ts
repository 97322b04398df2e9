// The fake kernel's tracefs: the top-level trace array and instances/<name>/ (kernel/trace/
// trace.c instance_mkdir/instance_rmdir), each with trace, trace_pipe, tracing_on and an
// events/irq/ tree holding irq_handler_entry and irq_handler_exit (kernel/trace/trace_events.c:
// enable, filter, format, id, trigger per event; enable and filter per system; events/enable).
// include/trace/events/irq.h. Events are recorded when an IRQ fires, for every action of the IRQ
// (kernel/irq/handle.c __handle_irq_event_percpu), into every array with the event enabled,
// tracing on and the filter matching, formatted as trace_print_context() prints them.
//
// Modelled: a consuming, blocking trace_pipe (one reader per array: a second open is EBUSY,
// pipe_cpumask since v6.6), rmdir of an instance whose trace_pipe is open is EBUSY (the pipe
// holds a reference on the trace array, __remove_instance), mkdir of an existing instance
// EEXIST, mkdir/rmdir anywhere else EPERM, enable takes 0 or 1 (kstrtoul, else EINVAL), a
// filter that does not parse is EINVAL and leaves the event unfiltered with the error shown
// (apply_event_filter), "0" clears it; opening `trace` with O_TRUNC empties the buffer.
// Not modelled: other event systems, tracers, options/, per_cpu/, buffer sizes (a buffer keeps
// its last BUFFER_LINES lines and counts the overwritten ones as lost), triggers (EINVAL).
// Event IDs are build-dependent: the numbers here are placeholders [inferred].
//
// Another process sharing a --mock-state file fires IRQs this process never sees; adopt()
// takes its saved state and replays the fires it recorded (`fires`, newest FIRE_LOG) into the
// instances made here, which that process could not know about. Fires that fell out of that
// log before this process saw them are a gap: each local instance that records irq events
// counts them as lost, so its trace_pipe says "CPU:0 [LOST <n> EVENTS]" as the kernel's
// print_trace_line does for overwritten events (kernel/trace/trace.c), instead of replaying
// the rest as if nothing was missed. n is the number of fires missed (each would have been
// at most one line per action per enabled event; the filter could not be applied to them).
import { Errno } from './context.js';
import { IRQ_EVENTS, type IrqEventName } from '../tracefs/paths.js';
import { formatTraceLine } from '../tracefs/trace-line.js';
import { compileFilter, FilterParseError, filterErrorText, type FilterField, type FilterRecord, type CompiledFilter } from './trace-events-filter.js';

export const BUFFER_LINES = 8192;
/**
 * kernel/trace/trace.c trace_clocks[] (without ARCH_TRACE_CLOCKS), as trace_clock lists them.
 * The fake's fires are stamped with the host's CLOCK_MONOTONIC (kernel.ts fireIrq), which
 * "local" (sched_clock since boot), "mono" and "boot" all are on a board that never slept;
 * the clock chosen is kept, not modelled further.
 */
export const TRACE_CLOCKS = ['local', 'global', 'counter', 'uptime', 'perf', 'mono', 'mono_raw', 'boot', 'tai'] as const;
export const FIRE_LOG = 4096;

export interface TraceEventState {
  enable: boolean;
  /** The filter in force (the kernel's filter_string), when one parsed. */
  filter?: string;
  /** What the filter file shows after a write that did not parse. */
  filterError?: string;
}

export interface TraceArrayState {
  on: boolean;
  events: Record<IrqEventName, TraceEventState>;
  /** Unread lines, oldest first, each with the fire it came from. */
  buffer: Array<{ seq: number; line: string }>;
  /** entries-written: every line ever recorded. */
  written: number;
  /** Lines overwritten before anyone read them. */
  lost: number;
  /** trace_clock in use (absent: "local", the kernel's default). */
  clock?: string;
}

/** One IRQ taken: what every array with irq events enabled would record. */
export interface FireRecord {
  seq: number;
  usec: number;
  irq: number;
  cpu: number;
  /** The IRQ's action names when it fired (a freed IRQ keeps its events). */
  names: string[];
  comm: string;
  pid: number;
}

export interface TracefsState {
  /** tracefs mounted at /sys/kernel/tracing (it is always reachable at /sys/kernel/debug/tracing). */
  mounted: boolean;
  top: TraceArrayState;
  instances: Record<string, TraceArrayState>;
  /** The newest fire's sequence number. */
  seq: number;
  fires: FireRecord[];
}

const EVENT_ID: Record<IrqEventName, number> = { irq_handler_entry: 141, irq_handler_exit: 140 };

const COMMON = [
  '\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;',
  '\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;',
  '\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;',
  '\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;',
];
// include/trace/events/irq.h through trace_events.c f_show().
const FORMAT: Record<IrqEventName, string[]> = {
  irq_handler_entry: ['\tfield:int irq;\toffset:8;\tsize:4;\tsigned:1;', '\tfield:__data_loc char[] name;\toffset:12;\tsize:4;\tsigned:0;', 'print fmt: "irq=%d name=%s", REC->irq, __get_str(name)'],
  irq_handler_exit: ['\tfield:int irq;\toffset:8;\tsize:4;\tsigned:1;', '\tfield:int ret;\toffset:12;\tsize:4;\tsigned:1;', 'print fmt: "irq=%d ret=%s", REC->irq, REC->ret ? "handled" : "unhandled"'],
};
const GENERIC: FilterField[] = [
  { name: 'common_type', kind: 'int' },
  { name: 'common_flags', kind: 'int' },
  { name: 'common_preempt_count', kind: 'int' },
  { name: 'common_pid', kind: 'int' },
  { name: 'cpu', kind: 'int' },
  { name: 'CPU', kind: 'int' },
  { name: 'comm', kind: 'string' },
  { name: 'COMM', kind: 'string' },
];
const FIELDS: Record<IrqEventName, FilterField[]> = {
  irq_handler_entry: [{ name: 'irq', kind: 'int' }, { name: 'name', kind: 'string' }, ...GENERIC],
  irq_handler_exit: [{ name: 'irq', kind: 'int' }, { name: 'ret', kind: 'int' }, ...GENERIC],
};

// kernel/trace/trace.c print_trace_header + print_func_help_header_irq (irq-info on).
const HEADER_TAIL = [
  '#',
  '#                                _-----=> irqs-off/BH-disabled',
  '#                               / _----=> need-resched',
  '#                              | / _---=> hardirq/softirq',
  '#                              || / _--=> preempt-depth',
  '#                              ||| / _-=> migrate-disable',
  '#                              |||| /     delay',
  '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
  '#              | |         |   |||||     |         |',
];
const TRIGGER_TEXT = '# Available triggers:\n# traceon traceoff snapshot stacktrace enable_event disable_event enable_hist disable_hist hist\n';
/** A hard-IRQ context with interrupts off, no preemption count, not migrate-disabled (observed 7.3.4). */
const IRQ_FLAGS = 'd.h..';

export function newTraceArray(): TraceArrayState {
  return { on: true, events: { irq_handler_entry: { enable: false }, irq_handler_exit: { enable: false } }, buffer: [], written: 0, lost: 0 };
}

export function newTracefsState(): TracefsState {
  return { mounted: true, top: newTraceArray(), instances: {}, seq: 0, fires: [] };
}

type Node =
  | { k: 'dir'; list: string[] }
  | { k: 'file'; mode: number; read(): string; write?(text: string): void; create?(): void }
  | { k: 'pipe'; array: string };

const DIR_MODE = 0o755;

/** 0 or 1 as kstrtoul_from_user(…, 10) reads it (one trailing newline, a leading "+"). */
function boolValue(text: string): boolean {
  const m = /^\+?(\d+)\n?$/.exec(text);
  if (!m || (m[1] !== '0' && m[1] !== '1')) throw new Errno('EINVAL');
  return m[1] === '1';
}

export class FakeTracefs {
  private s: TracefsState;
  private readonly compiled = new Map<TraceEventState, CompiledFilter>();
  /** Arrays whose trace_pipe is open in this process, and how to wake their reader. */
  private readonly readers = new Map<string, () => void>();
  /** Instances made by this process (kept, and fed, when another process's state is adopted). */
  private readonly madeHere = new Set<string>();

  constructor(
    state: TracefsState | undefined,
    private readonly cpus: number,
  ) {
    this.s = state ? structuredClone(state) : newTracefsState();
  }

  get mounted(): boolean {
    return this.s.mounted;
  }

  setMounted(mounted: boolean): void {
    this.s.mounted = mounted;
  }

  toJSON(): TracefsState {
    return structuredClone(this.s);
  }

  /** Instance names, for tests. */
  instanceNames(): string[] {
    return Object.keys(this.s.instances).sort();
  }

  // ---- the tree -----------------------------------------------------------------------------

  private array(name: string): TraceArrayState {
    const a = name === '' ? this.s.top : this.s.instances[name];
    if (!a) throw new Errno('ENOENT');
    return a;
  }

  /** Splits parts into the trace array they are in ("" = top) and the rest. */
  private split(parts: readonly string[]): { array: string; rest: string[] } {
    if (parts[0] === 'instances' && parts.length >= 2) {
      this.array(parts[1]!);
      return { array: parts[1]!, rest: parts.slice(2) };
    }
    return { array: '', rest: [...parts] };
  }

  private node(parts: readonly string[]): Node {
    if (parts.length === 1 && parts[0] === 'instances') return { k: 'dir', list: Object.keys(this.s.instances).sort() };
    const { array, rest } = this.split(parts);
    const a = this.array(array);
    const top = array === '';
    if (rest.length === 0) return { k: 'dir', list: ['events', ...(top ? ['instances'] : []), 'trace', 'trace_clock', 'trace_pipe', 'tracing_on'] };
    const [first, second, third, fourth, ...more] = rest;
    if (rest.length === 1) {
      if (first === 'trace')
        return {
          k: 'file',
          mode: 0o644,
          read: () => this.traceText(a),
          write: () => undefined,
          create: () => {
            a.buffer = [];
            a.lost = 0;
          },
        };
      if (first === 'trace_pipe') return { k: 'pipe', array };
      if (first === 'trace_clock')
        return {
          k: 'file',
          mode: 0o644,
          // tracing_clock_show: the names, the one in use in brackets.
          read: () => `${TRACE_CLOCKS.map((c) => (c === (a.clock ?? 'local') ? `[${c}]` : c)).join(' ')}\n`,
          // tracing_clock_write → tracing_set_clock: strstrip, an exact name or EINVAL; the
          // buffer is reset (its timestamps would not compare with the new clock's).
          write: (t) => {
            const name = t.trim();
            if (!(TRACE_CLOCKS as readonly string[]).includes(name)) throw new Errno('EINVAL');
            a.clock = name;
            a.buffer = [];
          },
        };
      if (first === 'tracing_on')
        return {
          k: 'file',
          mode: 0o644,
          read: () => (a.on ? '1\n' : '0\n'),
          write: (t) => {
            const m = /^\+?(\d+)\n?$/.exec(t);
            if (!m) throw new Errno('EINVAL');
            a.on = Number(m[1]) !== 0;
          },
        };
      if (first === 'events') return { k: 'dir', list: ['enable', 'irq'] };
      throw new Errno('ENOENT');
    }
    if (first !== 'events') throw new Errno(['trace', 'trace_clock', 'trace_pipe', 'tracing_on'].includes(first!) ? 'ENOTDIR' : 'ENOENT');
    const all = (): TraceEventState[] => IRQ_EVENTS.map((e) => a.events[e]);
    const systemEnable = (): Node => ({
      k: 'file',
      mode: 0o644,
      // system_enable_read: "0", "1", or "X" when mixed.
      read: () => (all().every((e) => e.enable) ? '1\n' : all().every((e) => !e.enable) ? '0\n' : 'X\n'),
      write: (t) => {
        const on = boolValue(t);
        for (const e of all()) e.enable = on;
      },
    });
    if (rest.length === 2) {
      if (second === 'enable') return systemEnable();
      if (second === 'irq') return { k: 'dir', list: ['enable', 'filter', ...IRQ_EVENTS] };
      throw new Errno('ENOENT');
    }
    if (second !== 'irq') throw new Errno('ENOENT');
    if (rest.length === 3) {
      if (third === 'enable') return systemEnable();
      if (third === 'filter')
        return {
          k: 'file',
          mode: 0o644,
          read: () => '### global filter ###\n# Use this to set filters for multiple events.\n# Only events with the given fields will be affected.\n# If no events are modified, an error message will be displayed here\n',
          write: (t) => {
            // apply_subsystem_event_filter: set on every event it parses for; EINVAL if none.
            let ok = false;
            for (const ev of IRQ_EVENTS) {
              try {
                this.setFilter(a.events[ev], ev, t);
                ok = true;
              } catch (e) {
                if (!(e instanceof Errno)) throw e;
              }
            }
            if (!ok) throw new Errno('EINVAL');
          },
        };
      if ((IRQ_EVENTS as readonly string[]).includes(third!)) return { k: 'dir', list: ['enable', 'filter', 'format', 'id', 'trigger'] };
      throw new Errno('ENOENT');
    }
    if (!(IRQ_EVENTS as readonly string[]).includes(third!)) throw new Errno('ENOENT');
    if (more.length > 0) throw new Errno('ENOTDIR');
    const ev = third as IrqEventName;
    const st = a.events[ev];
    switch (fourth) {
      case 'enable':
        return { k: 'file', mode: 0o644, read: () => (st.enable ? '1\n' : '0\n'), write: (t) => void (st.enable = boolValue(t)) };
      case 'filter':
        return { k: 'file', mode: 0o644, read: () => st.filterError ?? (st.filter === undefined ? 'none\n' : `${st.filter}\n`), write: (t) => this.setFilter(st, ev, t) };
      case 'format':
        return { k: 'file', mode: 0o444, read: () => [`name: ${ev}`, `ID: ${EVENT_ID[ev]}`, 'format:', ...COMMON, '', FORMAT[ev][0]!, FORMAT[ev][1]!, '', FORMAT[ev][2]!, ''].join('\n') };
      case 'id':
        return { k: 'file', mode: 0o444, read: () => `${EVENT_ID[ev]}\n` };
      case 'trigger':
        return {
          k: 'file',
          mode: 0o644,
          read: () => TRIGGER_TEXT,
          write: () => {
            throw new Errno('EINVAL');
          },
        };
      default:
        throw new Errno('ENOENT');
    }
  }

  private setFilter(st: TraceEventState, ev: IrqEventName, text: string): void {
    // apply_event_filter: "0" (stripped) removes the filter.
    if (text.trim() === '0') {
      delete st.filter;
      delete st.filterError;
      return;
    }
    try {
      const c = compileFilter(text, FIELDS[ev]);
      st.filter = c.source;
      delete st.filterError;
      this.compiled.set(st, c);
    } catch (e) {
      if (!(e instanceof FilterParseError)) throw e;
      // The failed filter replaces the old one and filtering is off (filter_disable).
      delete st.filter;
      st.filterError = filterErrorText(text.replace(/\s+$/, ''), e);
      throw new Errno('EINVAL');
    }
  }

  private traceText(a: TraceArrayState): string {
    const head = [`# tracer: nop`, '#', `# entries-in-buffer/entries-written: ${a.buffer.length}/${a.written}   #P:${this.cpus}`, ...HEADER_TAIL];
    return [...head, ...a.buffer.map((b) => b.line), ''].join('\n');
  }

  // ---- the port's calls (parts below the tracefs mount point) -------------------------------

  stat(parts: readonly string[]): { kind: 'dir' | 'file'; mode: number } {
    const n = this.node(parts);
    return n.k === 'dir' ? { kind: 'dir', mode: DIR_MODE } : { kind: 'file', mode: n.k === 'pipe' ? 0o444 : n.mode };
  }

  readdir(parts: readonly string[]): string[] {
    const n = this.node(parts);
    if (n.k !== 'dir') throw new Errno('ENOTDIR');
    return n.list;
  }

  read(parts: readonly string[]): string {
    const n = this.node(parts);
    if (n.k === 'dir') throw new Errno('EISDIR');
    // trace_pipe blocks until there is data: only lines() reads it here.
    if (n.k === 'pipe') throw new Errno('EAGAIN');
    return n.read();
  }

  write(parts: readonly string[], text: string): number {
    const n = this.node(parts);
    if (n.k === 'dir') throw new Errno('EISDIR');
    if (n.k === 'pipe' || !n.write) throw new Errno('EACCES');
    n.write(text);
    return Buffer.byteLength(text, 'latin1');
  }

  /** open(O_CREAT|O_TRUNC) on an existing file: `trace` empties its buffer. */
  create(parts: readonly string[]): void {
    const n = this.node(parts);
    if (n.k === 'dir') throw new Errno('EISDIR');
    if (n.k === 'file' && n.create) n.create();
  }

  mkdir(parts: readonly string[]): void {
    if (parts.length !== 2 || parts[0] !== 'instances') {
      // Only instances/ has a mkdir operation.
      this.nodeOrParent(parts);
      throw new Errno('EPERM');
    }
    const name = parts[1]!;
    if (Object.hasOwn(this.s.instances, name)) throw new Errno('EEXIST');
    this.s.instances[name] = newTraceArray();
    this.madeHere.add(name);
  }

  rmdir(parts: readonly string[]): void {
    if (parts.length !== 2 || parts[0] !== 'instances') {
      this.node(parts);
      throw new Errno('EPERM');
    }
    const name = parts[1]!;
    if (!Object.hasOwn(this.s.instances, name)) throw new Errno('ENOENT');
    if (this.readers.has(name)) throw new Errno('EBUSY');
    delete this.s.instances[name];
    this.madeHere.delete(name);
  }

  private nodeOrParent(parts: readonly string[]): void {
    if (parts.length > 0) this.node(parts.slice(0, -1));
  }

  // ---- events -------------------------------------------------------------------------------

  /** An IRQ was taken: record entry/exit of each action into every array that wants them. */
  record(fire: Omit<FireRecord, 'seq'>): void {
    const f: FireRecord = { ...fire, seq: ++this.s.seq };
    this.s.fires.push(f);
    if (this.s.fires.length > FIRE_LOG) this.s.fires.splice(0, this.s.fires.length - FIRE_LOG);
    for (const [name, a] of this.arrays()) this.recordInto(name, a, f);
  }

  private *arrays(): Iterable<[string, TraceArrayState]> {
    yield ['', this.s.top];
    yield* Object.entries(this.s.instances);
  }

  private recordInto(name: string, a: TraceArrayState, f: FireRecord): void {
    if (!a.on) return;
    let added = false;
    for (const action of f.names) {
      const ctx = { comm: f.comm, pid: f.pid, cpu: f.cpu, flags: IRQ_FLAGS };
      const entryRec: FilterRecord = { irq: f.irq, name: action, common_pid: f.pid, cpu: f.cpu, CPU: f.cpu, comm: f.comm, COMM: f.comm };
      if (this.wants(a.events.irq_handler_entry, 'irq_handler_entry', entryRec)) {
        this.push(a, f.seq, formatTraceLine({ ...ctx, usec: f.usec }, 'irq_handler_entry', `irq=${f.irq} name=${action}`));
        added = true;
      }
      // The doorbell handlers return IRQ_HANDLED (hard handler) or IRQ_WAKE_THREAD (threaded): both non-zero.
      const exitRec: FilterRecord = { irq: f.irq, ret: 1, common_pid: f.pid, cpu: f.cpu, CPU: f.cpu, comm: f.comm, COMM: f.comm };
      if (this.wants(a.events.irq_handler_exit, 'irq_handler_exit', exitRec)) {
        this.push(a, f.seq, formatTraceLine({ ...ctx, usec: f.usec + 1 }, 'irq_handler_exit', `irq=${f.irq} ret=handled`));
        added = true;
      }
    }
    if (added) this.readers.get(name)?.();
  }

  private wants(st: TraceEventState, ev: IrqEventName, rec: FilterRecord): boolean {
    if (!st.enable) return false;
    if (st.filter === undefined) return true;
    let c = this.compiled.get(st);
    if (!c) {
      c = compileFilter(st.filter, FIELDS[ev]);
      this.compiled.set(st, c);
    }
    return c.match(rec);
  }

  private push(a: TraceArrayState, seq: number, line: string): void {
    a.buffer.push({ seq, line });
    a.written++;
    if (a.buffer.length > BUFFER_LINES) {
      a.lost += a.buffer.length - BUFFER_LINES;
      a.buffer.splice(0, a.buffer.length - BUFFER_LINES);
    }
  }

  /**
   * trace_pipe of an array: a consuming read that blocks until lines come, until SIGNAL
   * aborts. Overwritten lines show as "CPU:<n> [LOST <k> EVENTS]" (the fake keeps one count).
   */
  async *pipe(parts: readonly string[], signal?: AbortSignal): AsyncGenerator<string> {
    const n = this.node(parts);
    if (n.k !== 'pipe') throw new Errno(n.k === 'dir' ? 'EISDIR' : 'EINVAL');
    const name = n.array;
    if (this.readers.has(name)) throw new Errno('EBUSY');
    let wake: (() => void) | undefined;
    this.readers.set(name, () => wake?.());
    const onAbort = (): void => wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      while (!signal?.aborted) {
        const a = name === '' ? this.s.top : this.s.instances[name];
        if (!a) return;
        if (a.lost > 0) {
          const lost = a.lost;
          a.lost = 0;
          yield `CPU:0 [LOST ${lost} EVENTS]`;
          continue;
        }
        const next = a.buffer.shift();
        if (next !== undefined) yield next.line;
        else await new Promise<void>((res) => (wake = res));
      }
    } finally {
      this.readers.delete(name);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Another process saved STATE: take it, keep the instances made here (it could not know
   * them) and replay into those the fires it recorded after the last one this process saw.
   */
  adopt(state: TracefsState): void {
    const lastSeen = this.s.seq;
    const local = [...this.madeHere].filter((n) => this.s.instances[n]).map((n) => [n, this.s.instances[n]!] as const);
    this.s = structuredClone(state);
    this.compiled.clear();
    for (const [n, a] of local) this.s.instances[n] = a;
    const newer = this.s.fires.filter((f) => f.seq > lastSeen);
    // Fires lastSeen+1 … oldest kept − 1 are gone from the log: lost to every local reader.
    const oldest = newer[0]?.seq ?? this.s.seq + 1;
    const gap = Math.max(0, Math.min(oldest, this.s.seq + 1) - lastSeen - 1);
    if (gap > 0) for (const [, a] of local) if (a.on && IRQ_EVENTS.some((e) => a.events[e].enable)) a.lost += gap;
    for (const f of newer) for (const [n, a] of local) this.recordInto(n, a, f);
    for (const wake of this.readers.values()) wake();
  }
}
