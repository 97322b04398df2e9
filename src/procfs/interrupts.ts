// Parser of /proc/interrupts: the header of online CPUs, one row per listed IRQ, then the arch
// rows (arm64 IPI<n> and Err, x86 NMI/LOC/…/ERR/MIS). Mirrors kernel/irq/proc.c
// show_interrupts() (irq_seq_show() after the 2026 rework) and arch/arm64/kernel/smp.c
// arch_show_interrupts(); every layout (6.1, 6.12, observed 7.3.4) parses, because rows are split on
// whitespace, never on columns: ≤ v6.13 ("%*d: ", "%10u " per CPU, " %8s" chip), v6.14+
// (f9ed1f7c2e26: "%*d:", " %10u" per CPU, one space, "%8s" chip) and the rework observed on 7.3.4
// ("%4d:", two spaces, chip left-aligned to the widest chip). One pass over the text's code
// units in a typed array: no per-line regex, no split of the file, few allocations.
import { Buffer } from 'node:buffer';
import { KernelDataError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';

/** One row of /proc/interrupts. */
export interface IrqRow {
  /** The label before the colon: "18", "IPI0", "Err", "NMI". */
  id: string;
  /** The virq, for numeric rows. */
  irq?: number;
  /** One count per online CPU; a single count for Err/ERR/MIS-style rows. */
  counts: number[];
  /** Chip column (numeric rows): "GICv3", "ITS-pMSI-7e000000.pcie-ep". */
  chip?: string;
  /** hwirq column; absent when the IRQ has no domain (blank column). */
  hwirq?: number;
  /** "Edge" or "Level" (CONFIG_GENERIC_IRQ_SHOW_LEVEL kernels: every arm64 one). */
  trigger?: string;
  /** The descriptor name printed as "-%-8s" (x86 "edge", "fasteoi"), without the dash. */
  descName?: string;
  /** Action names (request_irq names), in the kernel's order; [] when the IRQ has none. */
  actions: string[];
  /** The text after the counts of an arch row ("Rescheduling interrupts"). */
  text?: string;
}

export interface ParsedInterrupts {
  /** Header names, one per online CPU: "CPU0", "CPU1", … (offline CPUs have no column). */
  cpus: string[];
  rows: IrqRow[];
}

export const PROC_INTERRUPTS = '/proc/interrupts';

/**
 * The chip name of an EP's doorbell IRQs: per-device MSI domains are named parent prefix
 * ("ITS-", irq-gic-v3-its-msi-parent.c) + template chip ("pMSI", drivers/base/platform-msi.c)
 * + "-" + dev_name of the EPC's parent device (kernel/irq/msi.c); observed 7.3.4.
 */
export const doorbellChip = (epcName: string): string => `ITS-pMSI-${epcName}`;

/**
 * The action name each doorbell-capable function driver gives its doorbell IRQs (request_irq
 * in pci-epf-vntb.c and pci-epf-test.c; observed 7.3.4 in the QEMU lane).
 */
export const DOORBELL_ACTION = { pci_epf_vntb: 'pci_epf_vntb_db', pci_epf_test: 'pci-ep-test-doorbell' } as const;

/**
 * The chip of an embedded (eDMA) doorbell: dw-edma's interrupt-emulation virq, allocated with
 * irq_alloc_desc() (no domain: blank hwirq), Level, every doorbell an IRQF_SHARED action on it
 * (drivers/dma/dw-edma/dw-edma-core.c dw_edma_emul_irq_alloc, 7.3.4). The name does not say
 * which controller: one per DesignWare controller with eDMA.
 */
export const EMBEDDED_DOORBELL_CHIP = 'dw-edma-emul';

const MAX_SHOWN = 120;
/** Counts and hwirqs are u32/unsigned long (≤ 20 digits); IRQ numbers ≤ 10 digits (prec ≤ 10). */
const MAX_DIGITS = 20;
const MAX_IRQ_DIGITS = 10;

/** /proc/interrupts (or a saved copy) held something no kernel layout produces. */
export class InterruptsParseError extends KernelDataError {
  /** 1-based line number. */
  readonly line: number;
  /** The offending line, without its newline. */
  readonly text: string;

  constructor(path: string, line: number, text: string, reason: string) {
    const shown = text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
    const hint =
      `check that ${path} is a complete, unedited copy of /proc/interrupts ` +
      `(cat /proc/interrupts > file); if it is, report this line with the kernel release`;
    super(path, `line ${line}: ${reason}`, { message: `${path}:${line}: ${reason}: ${JSON.stringify(shown)}; ${hint}`, hint });
    this.line = line;
    this.text = text;
  }
}

// Only these separate tokens: the kernel pads with spaces, old x86 headers start with a tab and
// a dump read from a serial console ends each line in "\r".
function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

function isDigits(codes: Uint16Array, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const c = codes[i] as number;
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function digitsValue(codes: Uint16Array, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) v = v * 10 + ((codes[i] as number) - 48);
  return v;
}

/**
 * The text's UTF-16 code units plus a "\n" sentinel: indexing a typed array is about twice as
 * fast as charCodeAt, and Buffer.write copies the string natively. Offsets match the string's.
 */
function codeUnits(text: string): Uint16Array {
  const n = text.length + 1;
  if (!LITTLE_ENDIAN) {
    const codes = new Uint16Array(n);
    for (let i = 0; i < text.length; i++) codes[i] = text.charCodeAt(i);
    codes[text.length] = 10;
    return codes;
  }
  // allocUnsafe skips the zero fill; its pool slices are 8-byte aligned, as Uint16Array needs.
  const buf = Buffer.allocUnsafe(2 * n);
  buf.write(text, 0, 'utf16le');
  const codes = new Uint16Array(buf.buffer, buf.byteOffset, n);
  codes[text.length] = 10;
  return codes;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** "Edge" / "Level" token at [from, to), as the shared constant, or undefined. */
function triggerAt(s: string, from: number, to: number): string | undefined {
  if (to - from === 4 && s.startsWith('Edge', from)) return 'Edge';
  if (to - from === 5 && s.startsWith('Level', from)) return 'Level';
  return undefined;
}

/**
 * Parses /proc/interrupts text. `path` names the file in errors. Throws InterruptsParseError
 * (EXIT.BAD_DATA, with the 1-based line) for anything no kernel prints, and nothing else.
 */
export function parseInterrupts(text: string, path = PROC_INTERRUPTS): ParsedInterrupts {
  const len = text.length;
  const codes = codeUnits(text);
  let cpus: string[] | undefined;
  const rows: IrqRow[] = [];
  let lineNo = 0;
  let pos = 0;
  // Each pass takes one line; a last line without "\n" ends at len, and pos then passes len.
  while (pos <= len) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = len;
    lineNo++;
    const lineStart = pos;
    pos = end + 1;
    // Trim both ends: the header and padded descriptor names carry trailing spaces. Past
    // `stop` there is only whitespace, so token scans end there without a bound check.
    let stop = end;
    while (stop > lineStart && isSpace(codes[stop - 1] as number)) stop--;
    let i = lineStart;
    while (i < stop && isSpace(codes[i] as number)) i++;
    if (i === stop) continue;
    let result: IrqRow | string;
    if (cpus === undefined) {
      const header = parseHeader(text, codes, i, stop);
      if (typeof header === 'string') result = header;
      else {
        cpus = header;
        continue;
      }
    } else {
      result = parseRow(text, codes, i, stop, cpus.length);
    }
    if (typeof result === 'string') throw new InterruptsParseError(path, lineNo, text.slice(lineStart, end), result);
    rows.push(result);
  }
  if (cpus === undefined) {
    throw new InterruptsParseError(path, Math.max(lineNo, 1), '', 'empty file: no header of CPU columns');
  }
  return { cpus, rows };
}

/** "CPU0 CPU1 …" → names, or the reason the first line is not a header. */
function parseHeader(text: string, codes: Uint16Array, i: number, stop: number): string[] | string {
  const cpus: string[] = [];
  while (i < stop) {
    const s = i;
    while (i < stop && !isSpace(codes[i] as number)) i++;
    if (!(i - s > 3 && text.startsWith('CPU', s) && isDigits(codes, s + 3, i))) {
      return 'expected the header of CPU columns ("CPU0 CPU1 …") as the first line';
    }
    cpus.push(text.slice(s, i));
    while (i < stop && isSpace(codes[i] as number)) i++;
  }
  return cpus;
}

/** One row from its first non-space character to `stop`, or the reason it is malformed. */
function parseRow(text: string, codes: Uint16Array, i: number, stop: number, ncpu: number): IrqRow | string {
  // Label: up to the first ':'. A count may follow it with no space: arm64's old IPI rows
  // print "%*s%u:" then "%10u ", so a 10-digit count reads "IPI6:1000000000".
  const idStart = i;
  let c = codes[i] as number;
  while (i < stop && c !== 58 && !(c === 32 || c === 9 || c === 13)) c = codes[++i] as number;
  if (c !== 58 || i === idStart) return 'expected a row label ending in ":"';
  const idEnd = i;
  c = codes[++i] as number;
  const numeric = isDigits(codes, idStart, idEnd);
  if (numeric && idEnd - idStart > MAX_IRQ_DIGITS) return `IRQ number has more than ${MAX_IRQ_DIGITS} digits`;

  // Counts: up to one per CPU, decimals separated by whitespace.
  const counts = new Array<number>(ncpu);
  let found = 0;
  let badCount: string | undefined;
  while (found < ncpu) {
    while (i < stop && (c === 32 || c === 9 || c === 13)) c = codes[++i] as number;
    if (i >= stop) break;
    const s = i;
    let v = c - 48;
    if (v >= 0 && v <= 9) {
      c = codes[++i] as number;
      while (c >= 48 && c <= 57) {
        v = v * 10 + (c - 48);
        c = codes[++i] as number;
      }
      if (i - s <= MAX_DIGITS && (i >= stop || c === 32 || c === 9 || c === 13)) {
        counts[found++] = v;
        continue;
      }
    }
    while (i < stop && !isSpace(codes[i] as number)) i++;
    badCount = text.slice(s, i);
    i = s;
    break;
  }
  while (i < stop && isSpace(codes[i] as number)) i++;
  if (found < ncpu) counts.length = found;

  if (!numeric) {
    // Arch rows: a count per CPU then a text, or one count alone (arm64 Err, x86 ERR/MIS).
    if (found < ncpu && !(found === 1 && i === stop)) return countReason(found, ncpu, badCount);
    const arch: IrqRow = { id: text.slice(idStart, idEnd), counts, actions: [] };
    if (i < stop) arch.text = text.slice(i, stop);
    return arch;
  }
  if (found < ncpu) return countReason(found, ncpu, badCount);
  if (i === stop) return 'IRQ row has no chip column';

  // Chip, then [hwirq], [trigger], [-descName], actions.
  const chipStart = i;
  while (i < stop && !isSpace(codes[i] as number)) i++;
  const row: IrqRow = {
    id: text.slice(idStart, idEnd),
    irq: digitsValue(codes, idStart, idEnd),
    counts,
    chip: text.slice(chipStart, i),
    actions: [],
  };
  while (i < stop && isSpace(codes[i] as number)) i++;
  const t1s = i;
  while (i < stop && !isSpace(codes[i] as number)) i++;
  const t1e = i;
  let trigger = triggerAt(text, t1s, t1e);
  let rest = t1s;
  if (trigger !== undefined) {
    rest = t1e;
  } else if (t1e > t1s) {
    // A hwirq is followed by the trigger; without one (no SHOW_LEVEL) take a plain number,
    // or x86's "<hwirq>-<descName>".
    while (i < stop && isSpace(codes[i] as number)) i++;
    const t2s = i;
    while (i < stop && !isSpace(codes[i] as number)) i++;
    const t2trigger = triggerAt(text, t2s, i);
    if (isDigits(codes, t1s, t1e)) {
      if (t1e - t1s > MAX_DIGITS) return `hwirq has more than ${MAX_DIGITS} digits`;
      row.hwirq = digitsValue(codes, t1s, t1e);
      trigger = t2trigger;
      rest = t2trigger === undefined ? t1e : i;
    } else {
      let d = t1s;
      while (d < t1e && (codes[d] as number) !== 45) d++;
      if (d > t1s && d - t1s <= MAX_DIGITS && d < t1e - 1 && isDigits(codes, t1s, d)) {
        row.hwirq = digitsValue(codes, t1s, d);
        row.descName = text.slice(d + 1, t1e);
        rest = t1e;
      }
    }
  }
  if (trigger !== undefined) row.trigger = trigger;
  i = rest;
  while (i < stop && isSpace(codes[i] as number)) i++;
  if (row.descName === undefined && (codes[i] as number) === 45) {
    const ds = i;
    while (i < stop && !isSpace(codes[i] as number)) i++;
    if (i - ds > 1) {
      row.descName = text.slice(ds + 1, i);
      while (i < stop && isSpace(codes[i] as number)) i++;
    } else {
      i = ds;
    }
  }
  // Actions: the rest of the line, split on ", ".
  if (i < stop) {
    const actions: string[] = [];
    let from = i;
    for (let k = i; k < stop - 1; k++) {
      if (codes[k] === 44 && codes[k + 1] === 32) {
        actions.push(text.slice(from, k));
        from = k + 2;
        k++;
      }
    }
    actions.push(text.slice(from, stop));
    row.actions = actions;
  }
  return row;
}

function countReason(found: number, ncpu: number, bad: string | undefined): string {
  if (bad !== undefined && /^\d+$/.test(bad)) return `count ${found + 1} of ${ncpu} has more than ${MAX_DIGITS} digits`;
  if (bad !== undefined) return `count ${found + 1} of ${ncpu} is not a decimal number (${JSON.stringify(bad)})`;
  return `row has ${found} count${found === 1 ? '' : 's'} for ${ncpu} CPU column${ncpu === 1 ? '' : 's'}`;
}
