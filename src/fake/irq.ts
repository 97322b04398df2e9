// The fake kernel's interrupt table: one descriptor per virq (chip, hwirq, trigger, actions,
// per-CPU counts), the arm64 IPIs and the error count, with the files the kernel derives from
// them: /proc/interrupts (kernel/irq/proc.c show_interrupts()/irq_seq_show(),
// arch/arm64/kernel/smp.c arch_show_interrupts()) and /sys/kernel/irq/<virq>/
// (kernel/irq/irqdesc.c *_show()). Byte-exact per modelled version; observed 6.1, 6.12, 7.3.4.
//
// Modelled, and what it rests on:
// - Layout "classic" (< 6.14; observed 6.1, 6.12): "%*d: ", "%10u " per CPU, " %8s" chip,
//   " %*lu" hwirq (" %*s" blank without a domain), " %-8s" trigger, "-%-8s" descriptor name,
//   "  " + actions joined by ", ". prec = 3, +1 per decade of nr_irqs from 1000 (max 10).
// - Layout "decimal" (6.14 .. 7.1; f9ed1f7c2e26 "genirq/proc: Use seq_put_decimal_ull_width()"):
//   "%*d:", " %10u" per CPU, " ", "%8s" chip, then the same tail.
// - Layout "tabular" (tglx's irq/core series of March–June 2026: 61b51a167c52 "genirq/proc:
//   Runtime size the chip name", 34594da7650d "…Increase default interrupt number precision to
//   four", ids as in tip irq/core and linux-next on 15 June 2026, during v7.1-rc; so [inferred]
//   first released in 7.2; observed 7.3.4):
//   "%*llu:" with num_prec ≥ 4 (+1 per decade of total_nr_irqs from 10000), " %10u" per CPU,
//   "  ", chip "%-*s" padded to chip_width, " ", hwirq right-aligned in num_prec (blank: " %*s",
//   one space more), " %-8s" trigger, same tail. chip_width = max(8, every chip name ever set
//   on a descriptor, shown or not); it never shrinks (irq_proc_update_chip()).
// - arm64 IPI rows: before the rework "%*s%u:%s" ("IPI", prec-1; " " when prec >= 4),
//   "%10u " per CPU, "      %s"; with it "%*s%u: ", "%10u " per CPU, " %s" (observed 7.3.4;
//   the smp.c commit is not settled, modelled together with the proc.c rework). Err row
//   "%*s: %10lu": one count whatever the CPU count. IPI0–IPI6 with 6.1's names before 6.7,
//   IPI0–IPI7 with 6.12's names from 6.7 (Douglas Anderson's pseudo-NMI IPI series in arm64
//   for-next/backtrace-ipi: 2b2d0a7a96ab drops IPI_WAKEUP, d7402513c935 adds CPU stop NMIs,
//   331a1b3a836c backtrace, 2f5cd0c7ffde KGDB roundup; the arm64 pull for 6.7).
// - Rows listed: IRQs with an action; before 6.11 also action-less IRQs whose count is not 0
//   ("genirq/proc: Refine percpu kstat_irqs access logic", v6.11).
// - virq allocation: first fit (irq_find_free_area()) of a contiguous range. [inferred] Numbers
//   up to the board's highest boot IRQ that the profile does not list belong to descriptors the
//   fake does not model (IPIs, PPIs, chained parents), so new virqs go above the boot IRQs;
//   freed virqs, boot ones included, are reused (observed: 7.3.4 gave the doorbell 18 after 16, 17).
//   nr_irqs starts at 64 (asm-generic NR_IRQS, [inferred]) and grows to the highest virq + 1.
// Not modelled: chained/hidden descriptors, irq_print_chip() chips, offline CPUs (possible =
// online), wakeup sources (wakeup reads "disabled"), non-arm64 arch rows.
import type { BootIrq } from '../boards/types.js';
import { atLeast, parseRelease, type KernelVersion } from '../kernel/version.js';

export type IrqTrigger = 'Edge' | 'Level';
export type InterruptsLayout = 'classic' | 'decimal' | 'tabular';

/** The /proc/interrupts layout a kernel prints (see the module comment). */
export function interruptsLayout(v: KernelVersion): InterruptsLayout {
  if (atLeast(v, '7.2')) return 'tabular';
  return atLeast(v, '6.14') ? 'decimal' : 'classic';
}

const IPI_NAMES_6_1 = [
  'Rescheduling interrupts',
  'Function call interrupts',
  'CPU stop interrupts',
  'CPU stop (for crash dump) interrupts',
  'Timer broadcast interrupts',
  'IRQ work interrupts',
  'CPU wake-up interrupts',
] as const;
const IPI_NAMES_6_7 = [
  'Rescheduling interrupts',
  'Function call interrupts',
  'CPU stop interrupts',
  'CPU stop NMIs',
  'Timer broadcast interrupts',
  'IRQ work interrupts',
  'CPU backtrace interrupts',
  'KGDB roundup interrupts',
] as const;

/** arm64 ipi_types[] of a kernel, IPI0 first. */
export function ipiNames(v: KernelVersion): readonly string[] {
  return atLeast(v, '6.7') ? IPI_NAMES_6_7 : IPI_NAMES_6_1;
}

/** The IRQ-number column width (prec / num_prec) for nr_irqs. */
export function irqPrec(layout: InterruptsLayout, nrIrqs: number): number {
  let prec = layout === 'tabular' ? 4 : 3;
  for (let n = layout === 'tabular' ? 10000 : 1000; prec < 10 && n <= nrIrqs; n *= 10) prec++;
  return prec;
}

/** What request_irq()/irq_domain_alloc_irqs() set on a descriptor. */
export interface IrqSpec {
  chip: string;
  /** Absent for an IRQ without a domain: blank hwirq column, empty hwirq file. */
  hwirq?: number;
  trigger: IrqTrigger;
  /** desc->name, shown as "-%-8s" after the trigger. */
  descName?: string;
}

export interface IrqDescState extends IrqSpec {
  irq: number;
  actions: string[];
  /** One per CPU, u32. */
  counts: number[];
}

/** The table as saved in the fake kernel's state file. */
export interface IrqTableState {
  release: string;
  cpus: number;
  /** nr_irqs / total_nr_irqs: only grows. */
  nrIrqs: number;
  /** Longest chip name ever set, at least 8: only grows (tabular layout). */
  chipWidth: number;
  /** Boot IRQ numbers: the only numbers below firstDynamic that may be (re)allocated. */
  bootIrqs: number[];
  firstDynamic: number;
  irqs: IrqDescState[];
  /** ipis[n][cpu]. */
  ipis: number[][];
  err: number;
}

/** Everything the /proc/interrupts renderer needs; rows already filtered and sorted. */
export interface InterruptsView {
  layout: InterruptsLayout;
  cpus: number;
  prec: number;
  chipWidth: number;
  rows: readonly IrqDescState[];
  ipis: ReadonlyArray<{ name: string; counts: readonly number[] }>;
  err: number;
}

/** /proc/interrupts text for a view, byte for byte as the layout's kernel prints it. */
export function renderInterrupts(view: InterruptsView): string {
  const { layout, cpus, prec, chipWidth } = view;
  const parts: string[] = [' '.repeat(prec + 8)];
  for (let c = 0; c < cpus; c++) parts.push('CPU', String(c).padEnd(8));
  parts.push('\n');
  for (const d of view.rows) {
    parts.push(String(d.irq).padStart(prec), layout === 'classic' ? ': ' : ':');
    for (let c = 0; c < cpus; c++) {
      const n = String(d.counts[c] ?? 0).padStart(10);
      parts.push(layout === 'classic' ? `${n} ` : ` ${n}`);
    }
    if (layout === 'tabular') {
      parts.push('  ', d.chip.padEnd(chipWidth), ' ');
      parts.push(d.hwirq === undefined ? ' '.repeat(prec + 1) : String(d.hwirq).padStart(prec));
    } else {
      parts.push(' ', d.chip.padStart(8), ' ');
      parts.push(d.hwirq === undefined ? ' '.repeat(prec) : String(d.hwirq).padStart(prec));
    }
    parts.push(' ', d.trigger.padEnd(8));
    if (d.descName !== undefined) parts.push('-', d.descName.padEnd(8));
    if (d.actions.length > 0) parts.push('  ', d.actions.join(', '));
    parts.push('\n');
  }
  view.ipis.forEach((ipi, n) => {
    parts.push('IPI'.padStart(prec - 1), String(n), ':');
    if (layout === 'tabular') parts.push(' ');
    else if (prec >= 4) parts.push(' ');
    for (let c = 0; c < cpus; c++) parts.push(String(ipi.counts[c] ?? 0).padStart(10), ' ');
    parts.push(layout === 'tabular' ? ' ' : '      ', ipi.name, '\n');
  });
  parts.push('Err'.padStart(prec), ': ', String(view.err).padStart(10), '\n');
  return parts.join('');
}

/** /sys/kernel/irq/<virq>/ attributes, in irq_attrs[] order (kernel/irq/irqdesc.c). */
export type IrqSysfsAttr = 'per_cpu_count' | 'chip_name' | 'hwirq' | 'type' | 'wakeup' | 'name' | 'actions';

export class IrqTable {
  private readonly kernel: KernelVersion;
  private readonly s: IrqTableState;
  private readonly descs = new Map<number, IrqDescState>();

  private constructor(kernel: KernelVersion, state: IrqTableState) {
    this.kernel = kernel;
    this.s = state;
    for (const d of state.irqs) this.descs.set(d.irq, d);
  }

  /** The table at boot: the board's IRQs with their counts, every IPI and Err at 0. */
  static fromBoard(irqs: readonly BootIrq[], cpus: number, kernel: KernelVersion): IrqTable {
    if (!Number.isInteger(cpus) || cpus < 1) throw new RangeError(`cpus must be a positive integer, got ${cpus}`);
    const seen = new Set<number>();
    const descs: IrqDescState[] = [];
    for (const b of irqs) {
      if (!Number.isInteger(b.irq) || b.irq < 1 || seen.has(b.irq)) throw new RangeError(`bad or duplicate boot IRQ ${b.irq}`);
      seen.add(b.irq);
      const counts = Array.from({ length: cpus }, (_, c) => (b.counts?.[c] ?? 0) >>> 0);
      descs.push(desc(b.irq, b, [...b.actions], counts));
    }
    const top = Math.max(0, ...seen);
    const state: IrqTableState = {
      release: kernel.release,
      cpus,
      nrIrqs: Math.max(64, top + 1),
      chipWidth: Math.max(8, ...descs.map((d) => d.chip.length)),
      bootIrqs: [...seen].sort((a, b) => a - b),
      firstDynamic: top + 1,
      irqs: descs,
      ipis: ipiNames(kernel).map(() => new Array<number>(cpus).fill(0)),
      err: 0,
    };
    return new IrqTable(kernel, state);
  }

  /** Rebuilds a table saved with toJSON(). */
  static fromJSON(state: IrqTableState): IrqTable {
    const kernel = parseRelease(state.release);
    if (!kernel) throw new Error(`IRQ table state: not a kernel release: ${state.release}`);
    return new IrqTable(kernel, structuredClone(state));
  }

  toJSON(): IrqTableState {
    const s = structuredClone(this.s);
    s.irqs.sort((a, b) => a.irq - b.irq);
    return s;
  }

  get cpus(): number {
    return this.s.cpus;
  }

  /** Allocated virqs, ascending (each has a /sys/kernel/irq/<virq>/ directory). */
  virqs(): number[] {
    return [...this.descs.keys()].sort((a, b) => a - b);
  }

  get(virq: number): Readonly<IrqDescState> | undefined {
    const d = this.descs.get(virq);
    return d && structuredClone(d);
  }

  /**
   * Allocates descriptors for `specs` on consecutive virqs, the first free range found
   * (irq_find_free_area()); returns the first virq. No action yet: not listed from 6.11.
   */
  alloc(specs: readonly IrqSpec[]): number {
    if (specs.length === 0) throw new RangeError('alloc of no IRQs');
    let start = 1;
    for (let n = 0; n < specs.length; ) {
      if (this.isFree(start + n)) n++;
      else {
        start += n + 1;
        n = 0;
      }
    }
    specs.forEach((spec, k) => {
      const d = desc(start + k, spec, [], new Array<number>(this.s.cpus).fill(0));
      this.descs.set(d.irq, d);
      this.s.irqs.push(d);
      this.s.chipWidth = Math.max(this.s.chipWidth, d.chip.length);
    });
    this.s.nrIrqs = Math.max(this.s.nrIrqs, start + specs.length);
    return start;
  }

  /** alloc + request_irq(): a new virq with one action. */
  request(spec: IrqSpec & { action: string }): number {
    const virq = this.alloc([spec]);
    this.addAction(virq, spec.action);
    return virq;
  }

  /** request_irq() on an allocated virq (shared IRQs get several actions, in order). */
  addAction(virq: number, name: string): void {
    this.must(virq).actions.push(name);
  }

  /** free_irq(): drops one action; the descriptor stays until free(). */
  removeAction(virq: number, name: string): void {
    const d = this.must(virq);
    const k = d.actions.indexOf(name);
    if (k < 0) throw new RangeError(`IRQ ${virq} has no action ${name}`);
    d.actions.splice(k, 1);
  }

  /** irq_free_descs(): the virq, its row and its sysfs directory are gone; the number is free. */
  free(virq: number): void {
    this.must(virq);
    this.descs.delete(virq);
    this.s.irqs = this.s.irqs.filter((d) => d.irq !== virq);
  }

  /** One interrupt on `cpu`: +1 on that CPU's count (u32, wraps). */
  fire(virq: number, cpu: number): void {
    const d = this.must(virq);
    this.checkCpu(cpu);
    d.counts[cpu] = ((d.counts[cpu] ?? 0) + 1) >>> 0;
  }

  /** One IPI<n> taken on `cpu`. */
  fireIpi(ipi: number, cpu: number): void {
    const row = this.s.ipis[ipi];
    if (!row) throw new RangeError(`no IPI${ipi} on ${this.kernel.release}`);
    this.checkCpu(cpu);
    row[cpu] = ((row[cpu] ?? 0) + 1) >>> 0;
  }

  /** The text of /proc/interrupts. */
  procInterrupts(): string {
    const layout = interruptsLayout(this.kernel);
    const listsIdle = !atLeast(this.kernel, '6.11');
    const rows = [...this.descs.values()]
      .filter((d) => d.actions.length > 0 || (listsIdle && d.counts.some((c) => c !== 0)))
      .sort((a, b) => a.irq - b.irq);
    const names = ipiNames(this.kernel);
    return renderInterrupts({
      layout,
      cpus: this.s.cpus,
      prec: irqPrec(layout, this.s.nrIrqs),
      chipWidth: this.s.chipWidth,
      rows,
      ipis: names.map((name, n) => ({ name, counts: this.s.ipis[n] ?? [] })),
      err: this.s.err,
    });
  }

  /**
   * Contents of /sys/kernel/irq/<virq>/ (CONFIG_SPARSE_IRQ), or undefined for a free virq.
   * irqdesc.c: per_cpu_count "%u" joined by "," over possible CPUs + "\n"; chip_name, name
   * "%s\n" (empty file when unset); hwirq "%lu\n" (empty without a domain); type
   * "level"/"edge"; wakeup "enabled"/"disabled"; actions joined by "," + "\n", empty when none.
   */
  sysfsAttributes(virq: number): Record<IrqSysfsAttr, string> | undefined {
    const d = this.descs.get(virq);
    if (!d) return undefined;
    return {
      per_cpu_count: `${d.counts.join(',')}\n`,
      chip_name: `${d.chip}\n`,
      hwirq: d.hwirq === undefined ? '' : `${d.hwirq}\n`,
      type: d.trigger === 'Level' ? 'level\n' : 'edge\n',
      wakeup: 'disabled\n',
      name: d.descName === undefined ? '' : `${d.descName}\n`,
      actions: d.actions.length === 0 ? '' : `${d.actions.join(',')}\n`,
    };
  }

  private isFree(n: number): boolean {
    if (this.descs.has(n)) return false;
    return n >= this.s.firstDynamic || this.s.bootIrqs.includes(n);
  }

  private must(virq: number): IrqDescState {
    const d = this.descs.get(virq);
    if (!d) throw new RangeError(`IRQ ${virq} is not allocated`);
    return d;
  }

  private checkCpu(cpu: number): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.s.cpus) throw new RangeError(`no CPU${cpu}`);
  }
}

function desc(irq: number, spec: IrqSpec, actions: string[], counts: number[]): IrqDescState {
  const d: IrqDescState = { irq, chip: spec.chip, trigger: spec.trigger, actions, counts };
  if (spec.hwirq !== undefined) d.hwirq = spec.hwirq;
  if (spec.descName !== undefined) d.descName = spec.descName;
  return d;
}
