// Live doorbell events: a doorbell row appears (allocated), its count grows (rung), it goes
// (freed). Two sources:
// - tracefs (include/trace/events/irq.h): irq_handler_entry in a private instance, filtered on the
//   doorbell action names; one event per ring with the kernel's timestamp, so a pci-epf-test
//   doorbell that lives a few milliseconds (pci_endpoint_test.c: ENABLE, rings, DISABLE in one host ioctl)
//   is still counted exactly. /proc/interrupts is polled beside it only to learn which chip
//   (controller) and hwirq (index) a virq has, and when rows appear and go; a caller may let
//   that poll slow down while nothing happens (WatchOptions.idleIntervalMs, the agent).
// - poll: /proc/interrupts every INTERVAL ms through the cheap row finder (rows.ts). What
//   happens between two polls is invisible: a doorbell allocated and freed in between, and
//   the individual rings of a burst (one `rung` with the delta).
// Times are seconds since boot, one clock per stream: CLOCK_MONOTONIC (process.hrtime) for
// what the polls see, and the trace timestamp for rings, with the instance's trace_clock set
// to "mono" (kernel/trace/trace.c trace_clocks[]: ktime_get_mono_fast_ns, CLOCK_MONOTONIC) so
// that both are the same clock. A kernel without "mono" keeps "local" (sched_clock, ≈ the
// same since boot); poll-seen times are then moved onto it once a ring came.
import type { KernelPort } from '../kernel/port.js';
import { readText } from '../kernel/port.js';
import { EpctlError, KernelError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';
import { PROC_INTERRUPTS } from '../procfs/interrupts.js';
import { findTracefs, isDenied } from '../tracefs/find.js';
import { openIrqTrace, type IrqTrace } from '../tracefs/session.js';
import { listEpcNames } from '../sysfs/epc.js';
import { DOORBELL_ACTIONS, findDoorbellRows, type DoorbellRow } from './rows.js';

export type WatchSource = 'auto' | 'tracefs' | 'poll';
export type DoorbellEventKind = 'allocated' | 'rung' | 'freed';

/** One line of `epctl doorbell watch --json`. */
export interface DoorbellEvent {
  /** Seconds since boot (see the module comment). */
  time: number;
  event: DoorbellEventKind;
  /** The EPC; null when the row was gone before epctl could read its chip (tracefs only). */
  controller: string | null;
  virq: number;
  /** hwirq = doorbell index; null when unknown. */
  index: number | null;
  chip: string | null;
  action: string;
  /** Rings counted so far (the row's total for a row that existed when the watch began). */
  count: number;
  /** Rings in this event (0 for allocated/freed). */
  delta: number;
  /** Rings per second over the last second. */
  rate: number;
}

/** `epctl doorbell watch --json`'s line for rings the trace lost: {time, event: "lost", cpu, count}. */
export interface LostEvents {
  time: number;
  event: 'lost';
  cpu: number;
  /** null: the kernel said events were lost but not how many ("CPU:n [LOST EVENTS]"). */
  count: number | null;
}

export interface WatchInfo {
  source: 'tracefs' | 'poll';
  /** tracefs instance directory (tracefs source). */
  instance?: string;
  intervalMs: number;
  /** What this source cannot see, in words for a person. */
  limits: string[];
}

/** Poll period of /proc/interrupts: counts (poll source) or rows appearing and going (beside tracefs). */
export const DEFAULT_INTERVAL_MS = { poll: 5, tracefs: 100 } as const;

export interface WatchOptions {
  source: WatchSource;
  /** Default DEFAULT_INTERVAL_MS of the source in use. */
  intervalMs?: number;
  /**
   * Beside tracefs only: let the poll of /proc/interrupts slow down while the board is quiet.
   * After a poll that found nothing new (no row appeared, went or changed owner) with no trace
   * line since the one before, the period doubles, from intervalMs up to idleIntervalMs; a
   * poll that finds a change or a trace line brings it back to intervalMs at once (a wait
   * under way is cut short to intervalMs). Rings are counted from the trace whatever the
   * period, and a doorbell's row is read at its first ring, so what a slow period delays is
   * only learning of rows that nobody rings: a row that appears is seen within idleIntervalMs,
   * one that goes within idleIntervalMs + intervalMs (it is freed one poll after it was first
   * missed), an owner change within idleIntervalMs. Default intervalMs: no slowing down.
   * The poll source ignores it: there the poll counts the rings, and a slower poll would lose
   * the rings of a row freed before the next poll (see POLL_LIMITS).
   */
  idleIntervalMs?: number;
  /** Only this EPC's doorbells. */
  controller?: string;
  signal: AbortSignal;
  onEvent(e: DoorbellEvent): void;
  /** The source is set up (events from now on are seen). */
  onReady?(info: WatchInfo): void;
  /** Something the person should know. */
  onWarning?(message: string): void;
  /**
   * The kernel dropped trace events (trace_pipe's "CPU:n [LOST k EVENTS]"): rings were missed
   * and the counts from here on are low by COUNT. Without it, this comes as an onWarning.
   */
  onLost?(lost: LostEvents): void;
  /** cleanup.atExit, for the tracefs instance on a live board. */
  atExit?: (fn: () => void) => () => void;
  /** Seconds since boot; default CLOCK_MONOTONIC. */
  now?: () => number;
  /**
   * Told the wall time, in seconds, of each periodic /proc/interrupts poll: the read and the
   * row finder (rows.ts), not the row's processing (the agent's epctl_interrupts_poll_seconds).
   * The baseline read and the read for a virq that rang before a poll saw it are not polls.
   */
  onPoll?(seconds: number): void;
  /** The poll's timers (tests: a manual clock); default the real setTimeout. */
  timers?: WatchTimers;
}

/** What the poll loop needs of a clock: ms (any origin) and one-shot timers. */
export interface WatchTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: WatchTimers = { now: () => performance.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };

export interface WatchSummary {
  source: 'tracefs' | 'poll';
  events: number;
  lostTraceEvents: number;
  /** Some loss of an unknown size was reported too ("[LOST EVENTS]"). */
  lostUnknown?: boolean;
}

const RATE_WINDOW_S = 1;

interface Doorbell {
  virq: number;
  controller: string | null;
  chip: string | null;
  index: number | null;
  action: string;
  count: number;
  /** [time, rings] of the last RATE_WINDOW_S. */
  recent: Array<[number, number]>;
  /** Row not in the last poll (tracefs: freed on the next poll, late trace lines still count). */
  missing: boolean;
}

const monotonic = (): number => Number(process.hrtime.bigint()) / 1e9;

function sleep(timers: WatchTimers, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      timers.clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = timers.setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

export const POLL_LIMITS = [
  'a doorbell allocated and freed between two polls is never seen (pci-epf-test enables, rings and disables one within a few ms)',
  'rings are counted per poll: a burst shows as one `rung` with its delta, timed when the poll saw it',
];

export async function watchDoorbells(port: KernelPort, opts: WatchOptions): Promise<WatchSummary> {
  if (opts.controller !== undefined) {
    // A name the board does not have would watch nothing, silently.
    const names = await listEpcNames(port);
    if (!names.includes(opts.controller))
      throw new EpctlError(`--controller ${opts.controller}: the board has no endpoint controller of that name (${names.length > 0 ? `it has ${names.join(', ')}` : 'it has none'})`, {
        exitCode: EXIT.USAGE,
        hint: names.length > 0 ? `use one of: ${names.map((n) => `--controller ${n}`).join(', ')}` : 'leave out --controller; `epctl probe` says why no controller probed',
      });
  }
  const clock = opts.now ?? monotonic;
  const timers = opts.timers ?? realTimers;
  // With tracefs, poll-seen changes are put on the trace clock: the last ring's timestamp minus
  // when it was read. On a board both clocks count from boot and this is ~0; the fake's trace
  // clock is its own simulated one.
  let traceOffset = 0;
  const now = (): number => clock() + traceOffset;
  let intervalMs: number = opts.intervalMs ?? DEFAULT_INTERVAL_MS.poll;
  const known = new Map<number, Doorbell>();
  /** virqs whose trace lines belong to another controller's doorbell (re-checked every poll). */
  const foreign = new Set<number>();
  let events = 0;
  let lost = 0;
  let lostUnknown = false;
  /** The note that some rings cannot be attributed to --controller was given. */
  let unattributed = false;

  const emit = (db: Doorbell, event: DoorbellEventKind, time: number, delta: number): void => {
    if (delta > 0) db.recent.push([time, delta]);
    while (db.recent.length > 0 && db.recent[0]![0] <= time - RATE_WINDOW_S) db.recent.shift();
    const rate = db.recent.reduce((s, [, d]) => s + d, 0) / RATE_WINDOW_S;
    events++;
    opts.onEvent({ time, event, controller: db.controller, virq: db.virq, index: db.index, chip: db.chip, action: db.action, count: db.count, delta, rate });
  };
  const fromRow = (row: DoorbellRow, count: number): Doorbell => ({ virq: row.virq, controller: row.controller, chip: row.chip, index: row.index ?? null, action: row.action, count, recent: [], missing: false });
  const rows = async (): Promise<DoorbellRow[]> => findDoorbellRows(await readText(port, PROC_INTERRUPTS), opts.controller);

  let trace: IrqTrace | undefined;
  let why = '';
  if (opts.source !== 'poll') {
    const loc = await findTracefs(port);
    if (isDenied(loc)) {
      // tracefs and debugfs roots are 0700 (fs/tracefs/inode.c TRACEFS_DEFAULT_MODE, fs/debugfs/inode.c DEBUGFS_DEFAULT_MODE).
      why = `tracefs cannot be read: ${loc.denied} is ${loc.code} (tracefs is mode 0700, root only); run as root`;
      if (opts.source === 'tracefs') throw new EpctlError(`--source tracefs: ${why}`, { exitCode: EXIT.ERROR, hint: 'run epctl as root (sudo), or use --source poll' });
    } else if (!loc) {
      why = 'tracefs is not available (no tracefs in /proc/mounts and no /sys/kernel/debug/tracing; the kernel needs CONFIG_FTRACE)';
      if (opts.source === 'tracefs')
        throw new EpctlError(`--source tracefs: ${why}`, { exitCode: EXIT.ERROR, hint: 'mount it (mount -t tracefs nodev /sys/kernel/tracing), or use --source poll' });
    } else {
      // The baseline first: rows that exist now keep their count; rings after it come as events.
      const baseline = await rows();
      try {
        trace = await openIrqTrace(port, { root: loc.root, actions: DOORBELL_ACTIONS, ...(opts.atExit ? { atExit: opts.atExit } : {}) });
      } catch (e) {
        // Not root (EACCES/EPERM on instances/), or a tracefs without instances: poll instead.
        if (opts.source === 'tracefs' || !(e instanceof KernelError && ['EACCES', 'EPERM', 'ENOENT', 'ENODEV', 'EROFS'].includes(e.code))) throw e;
        why = `no tracefs instance could be made in ${loc.root}/instances (${e.code}; it needs root)`;
      }
      if (trace) {
        intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS.tracefs;
        const t = now();
        for (const row of baseline) {
          const db = fromRow(row, row.total);
          known.set(row.virq, db);
          emit(db, 'allocated', t, 0);
        }
      }
    }
  }

  // One poll: rows that appeared, grew (poll source only), changed owner or went. True when it
  // found any of that (a row first missed counts too: it goes at the next poll).
  const poll = async (countRings: boolean): Promise<boolean> => {
    const before = events;
    let missed = false;
    const t0 = performance.now();
    const list = await rows();
    opts.onPoll?.((performance.now() - t0) / 1000);
    const t = now();
    foreign.clear();
    const seen = new Set<number>();
    for (const row of list) {
      seen.add(row.virq);
      let db = known.get(row.virq);
      if (db && (db.action !== row.action || (db.chip !== null && db.chip !== row.chip) || (countRings && row.total < db.count))) {
        known.delete(row.virq);
        emit(db, 'freed', t, 0);
        db = undefined;
      }
      if (!db) {
        // A row first seen after the watch began starts from 0 in tracefs mode (a new virq's
        // counts start at 0; its rings come as trace events).
        db = fromRow(row, countRings || !trace ? row.total : 0);
        known.set(row.virq, db);
        emit(db, 'allocated', t, 0);
        continue;
      }
      db.missing = false;
      if (db.chip === null) Object.assign(db, { chip: row.chip, controller: row.controller, index: row.index ?? null });
      if (countRings && row.total > db.count) {
        const delta = row.total - db.count;
        db.count = row.total;
        emit(db, 'rung', t, delta);
      }
    }
    for (const [virq, db] of known) {
      if (seen.has(virq)) continue;
      // tracefs: wait one more poll, so that trace lines still in the pipe are counted first.
      if (trace && !db.missing) {
        db.missing = true;
        missed = true;
        continue;
      }
      known.delete(virq);
      emit(db, 'freed', t, 0);
    }
    return missed || events !== before;
  };

  const ring = async (virq: number, action: string, time: number): Promise<void> => {
    let db = known.get(virq);
    if (db && db.action !== action) {
      known.delete(virq);
      emit(db, 'freed', time, 0);
      db = undefined;
    }
    if (!db) {
      if (foreign.has(virq)) return;
      // A virq the polls have not seen: read its row now; a short-lived doorbell may be gone.
      const row = findDoorbellRows(await readText(port, PROC_INTERRUPTS)).find((r) => r.virq === virq && r.action === action);
      // An embedded (eDMA) row names no controller (chip dw-edma-emul): findDoorbellRows keeps
      // it for any controller, and so does this; only a row naming another EPC is foreign.
      if (row && opts.controller !== undefined && row.controller !== null && row.controller !== opts.controller) {
        foreign.add(virq);
        return;
      }
      if (!row && opts.controller !== undefined && !unattributed) {
        unattributed = true;
        opts.onWarning?.(`virq ${virq} (${action}) rang and was freed before its row could be read: its controller is unknown, so it is shown with controller null and may not be ${opts.controller}'s`);
      }
      db = row ? fromRow(row, 0) : { virq, controller: null, chip: null, index: null, action, count: 0, recent: [], missing: true };
      known.set(virq, db);
      emit(db, 'allocated', time, 0);
    }
    db.count++;
    emit(db, 'rung', time, 1);
  };

  // Stops the reader and the poller together: on the caller's signal, or when one fails.
  const inner = new AbortController();
  const stop = (): void => inner.abort();
  opts.signal.addEventListener('abort', stop);
  if (opts.signal.aborted) stop();
  const signal = inner.signal;
  try {
    if (trace) {
      const t = trace;
      // "mono": the trace timestamps are CLOCK_MONOTONIC, as clock() is (the fake stamps with it too).
      const sameClock = opts.now === undefined && t.clock === 'mono';
      opts.onReady?.({ source: 'tracefs', instance: trace.dir, intervalMs, limits: [] });
      // The poll's period: intervalMs, slowing down to idleMs while nothing happens (WatchOptions.idleIntervalMs).
      const fast = intervalMs;
      const idleMs = Math.max(fast, opts.idleIntervalMs ?? fast);
      let period = fast;
      /** A trace line came since the last poll began. */
      let lively = false;
      /** Cuts the poll's wait under way short to `fast` from now (no-op when less is left). */
      let hurry: (() => void) | undefined;
      const pause = (ms: number): Promise<void> =>
        new Promise((resolve) => {
          if (signal.aborted) return resolve();
          let due = timers.now() + ms;
          const done = (): void => {
            timers.clearTimeout(h);
            signal.removeEventListener('abort', done);
            hurry = undefined;
            resolve();
          };
          let h = timers.setTimeout(done, ms);
          signal.addEventListener('abort', done);
          hurry = () => {
            if (due - timers.now() <= fast) return;
            timers.clearTimeout(h);
            due = timers.now() + fast;
            h = timers.setTimeout(done, fast);
          };
        });
      const reader = (async () => {
        for await (const ev of t.events(signal)) {
          if (!lively) {
            lively = true;
            period = fast;
            hurry?.();
          }
          if (ev.kind === 'lost') {
            if (ev.count === null) lostUnknown = true;
            else lost += ev.count;
            if (opts.onLost) opts.onLost({ time: now(), event: 'lost', cpu: ev.cpu, count: ev.count });
            else opts.onWarning?.(`the kernel dropped ${ev.count ?? 'an unknown number of'} trace events on CPU${ev.cpu} (buffer full): counts from here on are low by that much`);
          } else if (ev.kind === 'irq_handler_entry' && DOORBELL_ACTIONS.includes(ev.name)) {
            // On the "mono" trace clock both are CLOCK_MONOTONIC already: no offset.
            if (!sameClock) traceOffset = ev.usec / 1e6 - clock();
            await ring(ev.irq, ev.name, ev.usec / 1e6);
          }
        }
      })();
      const poller = (async () => {
        while (!signal.aborted) {
          await pause(period);
          if (signal.aborted) break;
          const wasLively = lively;
          lively = false;
          const changed = await poll(false);
          period = changed || wasLively || lively ? fast : Math.min(period * 2, idleMs);
        }
      })();
      const settled = await Promise.allSettled([reader.finally(stop), poller.finally(stop)]);
      for (const r of settled) if (r.status === 'rejected') throw r.reason;
      return { source: 'tracefs', events, lostTraceEvents: lost, ...(lostUnknown ? { lostUnknown } : {}) };
    }
    opts.onReady?.({ source: 'poll', intervalMs, limits: [...(why ? [why] : []), ...POLL_LIMITS] });
    while (!signal.aborted) {
      await poll(true);
      await sleep(timers, intervalMs, signal);
    }
    return { source: 'poll', events, lostTraceEvents: 0 };
  } finally {
    opts.signal.removeEventListener('abort', stop);
    await trace?.close();
  }
}
