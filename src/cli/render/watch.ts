// The human views of `epctl doorbell watch`: one plain line per event (not a terminal), and
// the live table a person reads at a glance on a terminal — per doorbell its count, rate and
// a sparkline of the rings of the last SPARK_SPAN seconds — redrawn in place.
import type { DoorbellEvent, LostEvents } from '../../doorbell/watch.js';

/** `time event controller virq #index action count (+delta) rate/s`, as --json says it. */
export function eventLine(e: DoorbellEvent): string {
  const where = `${e.controller ?? '?'} virq ${e.virq}${e.index === null ? '' : ` #${e.index}`} ${e.action}`;
  const tail = e.event === 'rung' ? ` count ${e.count} (+${e.delta}) ${e.rate.toFixed(1)}/s` : ` count ${e.count}`;
  return `${e.time.toFixed(6).padStart(14)} ${e.event.padEnd(9)} ${where}${tail}`;
}

/** The --json line: fixed keys, times to the microsecond. */
export function eventJson(e: DoorbellEvent): string {
  return JSON.stringify({
    time: Math.round(e.time * 1e6) / 1e6,
    event: e.event,
    controller: e.controller,
    virq: e.virq,
    index: e.index,
    chip: e.chip,
    action: e.action,
    count: e.count,
    delta: e.delta,
    rate: Math.round(e.rate * 100) / 100,
  });
}

/** Lost trace events as a plain line: the counts after it are low. */
export function lostLine(l: LostEvents): string {
  return `${l.time.toFixed(6).padStart(14)} ${'lost'.padEnd(9)} ${l.count ?? 'an unknown number of'} trace events on CPU${l.cpu} (the kernel dropped them): counts from here on are low by up to that much`;
}

/** The --json line of lost trace events: {time, event: "lost", cpu, count}. */
export function lostJson(l: LostEvents): string {
  return JSON.stringify({ time: Math.round(l.time * 1e6) / 1e6, event: 'lost', cpu: l.cpu, count: l.count });
}

const SPARK = '▁▂▃▄▅▆▇█';
export const SPARK_BUCKETS = 30;
export const SPARK_SPAN = 15;

interface Row {
  e: DoorbellEvent;
  freed: boolean;
  /** The table showed it as freed once: the next table leaves it out (a long view stays bounded). */
  shownFreed: boolean;
  /** Rings per bucket, newest last; bucket = floor(wall seconds / bucket width). */
  buckets: Map<number, number>;
}

/** A sparkline of N values, scaled to the largest (blank for zero). */
export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values);
  return values.map((v) => (v <= 0 || max === 0 ? ' ' : SPARK[Math.min(SPARK.length - 1, Math.floor(((v - 1e-9) / max) * SPARK.length))]!)).join('');
}

export class LiveView {
  private readonly rows = new Map<number, Row>();
  private drawn = 0;
  private lostTotal = 0;
  private lostUnknown = false;
  private readonly width = SPARK_SPAN / SPARK_BUCKETS;

  constructor(
    private readonly write: (s: string) => void,
    private readonly header: string,
    private readonly wall: () => number = () => Date.now() / 1000,
    /** Terminal width: longer lines are cut, so that the cursor-up count stays right. */
    private readonly columns: () => number = () => Infinity,
  ) {}

  add(e: DoorbellEvent): void {
    let r = this.rows.get(e.virq);
    if (!r || (e.event === 'allocated' && r.freed)) {
      r = { e, freed: false, shownFreed: false, buckets: new Map() };
      this.rows.set(e.virq, r);
    }
    r.e = e;
    if (e.event === 'freed') r.freed = true;
    if (e.delta > 0) {
      const b = Math.floor(this.wall() / this.width);
      r.buckets.set(b, (r.buckets.get(b) ?? 0) + e.delta);
      // Here too, not only when drawn: a view that is not redrawn still holds one window.
      if (r.buckets.size > SPARK_BUCKETS) this.prune(r, b);
    }
  }

  /** The trace lost COUNT events: said under the header until the view ends. */
  lost(count: number | null): void {
    if (count === null) this.lostUnknown = true;
    else this.lostTotal += count;
  }

  /** Drops the buckets that fell out of the sparkline window ending at bucket NOWB. */
  private prune(r: Row, nowB: number): void {
    for (const b of r.buckets.keys()) if (b <= nowB - SPARK_BUCKETS) r.buckets.delete(b);
  }

  /** Rows held (for tests). */
  get size(): number {
    return this.rows.size;
  }

  /** Buckets held over all rows (for tests). */
  get bucketCount(): number {
    let n = 0;
    for (const r of this.rows.values()) n += r.buckets.size;
    return n;
  }

  /** The table as lines (no escapes). */
  lines(): string[] {
    const nowB = Math.floor(this.wall() / this.width);
    // A freed doorbell is shown once as freed, then dropped.
    for (const [virq, r] of this.rows) if (r.shownFreed) this.rows.delete(virq);
    const out = [this.header, ...(this.lostTotal > 0 || this.lostUnknown ? [`! ${this.lostTotal > 0 ? `${this.lostTotal}${this.lostUnknown ? '+' : ''}` : 'some'} trace events lost (the kernel dropped them): counts are low by up to that much`] : []), `${'controller'.padEnd(22)} ${'virq'.padStart(5)} ${'idx'.padStart(3)} ${'action'.padEnd(21)} ${'count'.padStart(10)} ${'rate/s'.padStart(8)}  last ${SPARK_SPAN}s`];
    if (this.rows.size === 0) out.push('  (no doorbell rows yet: they appear when a function allocates doorbells)');
    for (const r of [...this.rows.values()].sort((a, b) => a.e.virq - b.e.virq)) {
      this.prune(r, nowB);
      if (r.freed) r.shownFreed = true;
      const values = Array.from({ length: SPARK_BUCKETS }, (_, i) => r.buckets.get(nowB - SPARK_BUCKETS + 1 + i) ?? 0);
      const recent = values.slice(-Math.round(1 / this.width)).reduce((s, v) => s + v, 0);
      const e = r.e;
      out.push(
        `${(e.controller ?? '?').padEnd(22)} ${String(e.virq).padStart(5)} ${(e.index === null ? '-' : String(e.index)).padStart(3)} ${e.action.padEnd(21)} ${String(e.count).padStart(10)} ${(r.freed ? 'freed' : recent.toFixed(0)).padStart(8)}  ${sparkline(values)}`,
      );
    }
    return out;
  }

  /** Redraws in place: cursor up over the last drawing, clear to the end, draw. */
  draw(): void {
    const width = Math.max(20, this.columns());
    const lines = this.lines().map((l) => ([...l].length > width ? [...l].slice(0, width - 1).join('') + '…' : l));
    this.write(`${this.drawn > 0 ? `\x1b[${this.drawn}A\r\x1b[J` : ''}${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}
