// The doorbell rows of /proc/interrupts, found without parsing the rest: a poll every few
// milliseconds must not split 600 rows × 16 CPUs to find two. A doorbell row has the chip of
// the EPC's per-device platform-MSI domain, `ITS-pMSI-<epc>` (or, for the DesignWare eDMA's
// embedded doorbell, `dw-edma-emul`, which names no controller), and a doorbell action
// (`pci-ep-test-doorbell`, `pci_epf_vntb_db`; kernel/irq/msi.c, procfs/interrupts.ts). The
// action names are rare, so the text is searched for them (one native regexp scan, about as
// costly as the split); a line holding one is dropped unread unless it holds the wanted chip
// (a native search bounded by the line), and the few left are read in place in the text, one
// character at a time, by the same rules as parseInterrupts (whitespace separates, never
// columns; all three layouts of kernel/irq/proc.c): label, one count per CPU of the header,
// chip, then [hwirq] [trigger] [-descName] and the actions joined by ", ". A line
// parseInterrupts would reject is skipped. bench/doorbell-poll.ts measures it against a bare
// split of the same text.
import { DOORBELL_ACTION, EMBEDDED_DOORBELL_CHIP, doorbellChip } from '../procfs/interrupts.js';

export const DOORBELL_ACTIONS: readonly string[] = Object.values(DOORBELL_ACTION);
const CHIP_PREFIX = doorbellChip('');

export interface DoorbellRow {
  virq: number;
  /** `ITS-pMSI-<epc>`, or `dw-edma-emul` for an embedded (eDMA) doorbell. */
  chip: string;
  /** The EPC the chip names; null for an embedded doorbell, whose chip names none. */
  controller: string | null;
  /** hwirq = the doorbell's MSI index (db_msg[i]). */
  index: number | undefined;
  /** The doorbell action of the row (the first, if a row had both). */
  action: string;
  actions: string[];
  /** One count per online CPU. */
  counts: number[];
  /** Sum of counts. */
  total: number;
}

/** Counts and hwirqs are u32/unsigned long (≤ 20 digits); IRQ numbers ≤ 10 digits, as parseInterrupts reads them. */
const MAX_DIGITS = 20;
const MAX_IRQ_DIGITS = 10;

const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 13;
function isDoorbellAction(a: string): boolean {
  for (const name of DOORBELL_ACTIONS) if (a.length === name.length && a === name) return true;
  return false;
}

/** Number of "CPU<n>" columns of the header (the first non-blank line). */
function cpuColumns(text: string): number {
  let start = 0;
  let end = text.indexOf('\n');
  while (end >= 0 && text.slice(start, end).trim() === '') {
    start = end + 1;
    end = text.indexOf('\n', start);
  }
  const header = text.slice(start, end < 0 ? text.length : end);
  let n = 0;
  for (let i = header.indexOf('CPU'); i >= 0; i = header.indexOf('CPU', i + 3)) n++;
  return n;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The doorbell action names, either. Irregexp scans for the alternation natively: on the
 * bench's text about as fast as text.split('\n'), where one String.prototype.indexOf pass per
 * name took about 2.5 times that, each. A hit only makes its line a candidate, which is then
 * read in full (the name must be one of the line's actions).
 */
const CANDIDATES = new RegExp(DOORBELL_ACTIONS.map(escape).join('|'), 'g');

/**
 * The doorbell rows of TEXT (/proc/interrupts), all controllers' or CONTROLLER's only, in
 * file order. Lines that are not well-formed IRQ rows are skipped, never thrown on.
 */
export function findDoorbellRows(text: string, controller?: string): DoorbellRow[] {
  const chip = controller === undefined ? undefined : doorbellChip(controller);
  // One shared RegExp (compiled to native code once); the loop below is synchronous, so its
  // lastIndex is this call's alone.
  const re = CANDIDATES;
  re.lastIndex = 0;
  const rows: DoorbellRow[] = [];
  // The header is read at the first hit only: a text without a doorbell costs one scan.
  let ncpu = -1;
  while (re.test(text)) {
    // lastIndex: just past the hit, in the hit's line.
    const hit = re.lastIndex;
    let lineEnd = text.indexOf('\n', hit);
    if (lineEnd < 0) lineEnd = text.length;
    // The scan goes on after this line: a line with both names is one candidate, one row.
    re.lastIndex = lineEnd;
    if (ncpu < 0) ncpu = cpuColumns(text);
    const lineStart = lineStartOf(text, hit, lineEnd, ncpu);
    // The header (a hit there is no row).
    if (lineStart === 0) continue;
    // A line without the chip is dropped unread: the substring is a view of the text (no
    // copy), and indexOf a native search bounded by the line. In a well-formed row the first
    // occurrence of the chip is its chip column: before it are only blanks and digits.
    const line = text.substring(lineStart, lineEnd);
    const at = line.indexOf(chip ?? CHIP_PREFIX);
    if (at < 0 && !line.includes(EMBEDDED_DOORBELL_CHIP)) continue;
    const row = parseRow(text, lineStart, lineEnd, ncpu, at < 0 ? -1 : lineStart + at, chip, controller);
    if (row) rows.push(row);
  }
  re.lastIndex = 0;
  return rows;
}

/**
 * Where the line holding HIT (the end of a doorbell name; the line ends at LINEEND) begins.
 * Counts are "%10u" per CPU (u32: never wider), and label, chip, hwirq, trigger and the name
 * take under 130 more characters while the chip column is under about 60 wide (the 7.2+
 * layout pads every chip to the widest): look for the newline before the line from there,
 * forward, instead of walking back over the counts (lastIndexOf steps back one character at a
 * time). A longer line (wider chips, long action lists, hostile text) falls back to lastIndexOf.
 */
function lineStartOf(text: string, hit: number, lineEnd: number, ncpu: number): number {
  const guess = hit - ncpu * 11 - 130;
  if (guess > 0) {
    const nl = text.indexOf('\n', guess);
    if (nl >= 0 && nl < hit) {
      const next = text.indexOf('\n', nl + 1);
      if ((next < 0 ? text.length : next) === lineEnd) return nl + 1;
    }
  }
  return text.lastIndexOf('\n', hit - 1) + 1;
}

/** Whether text[from, to) is one or more decimal digits. */
function isDigits(text: string, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function digitsValue(text: string, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) v = v * 10 + (text.charCodeAt(i) - 48);
  return v;
}

/** "Edge" / "Level" at text[from, to). */
function isTrigger(text: string, from: number, to: number): boolean {
  const n = to - from;
  if (n === 4) return text.charCodeAt(from) === 69 && text.startsWith('Edge', from);
  return n === 5 && text.charCodeAt(from) === 76 && text.startsWith('Level', from);
}

/**
 * The doorbell row of text[lineStart, lineEnd), or undefined: not a well-formed IRQ row (as
 * parseInterrupts reads one), another chip, or no doorbell action. Read in place, one
 * charCodeAt at a time; only the actions (and the chip, when no controller is asked for) are
 * sliced out.
 */
function parseRow(
  text: string,
  lineStart: number,
  lineEnd: number,
  ncpu: number,
  chipAt: number,
  chipWanted: string | undefined,
  controller: string | undefined,
): DoorbellRow | undefined {
  // Past `stop` there is only whitespace, then "\n" or the end of the text (charCodeAt: NaN),
  // so scans of digits and of the blanks between tokens end there without a bound check.
  let stop = lineEnd;
  while (stop > lineStart && isSpace(text.charCodeAt(stop - 1))) stop--;
  let i = lineStart;
  let c = text.charCodeAt(i);
  while (c === 32 || c === 9 || c === 13) c = text.charCodeAt(++i);
  // Label: the virq's digits, then ":".
  const labelStart = i;
  let virq = 0;
  while (c >= 48 && c <= 57) {
    virq = virq * 10 + (c - 48);
    c = text.charCodeAt(++i);
  }
  if (c !== 58 || i === labelStart || i - labelStart > MAX_IRQ_DIGITS) return undefined;
  c = text.charCodeAt(++i);
  // One count per CPU: decimals of at most 20 digits, separated by whitespace.
  const counts = new Array<number>(ncpu);
  let total = 0;
  for (let k = 0; k < ncpu; k++) {
    while (c === 32 || c === 9 || c === 13) c = text.charCodeAt(++i);
    const s = i;
    let v = c - 48;
    if (!(v >= 0 && v <= 9)) return undefined;
    c = text.charCodeAt(++i);
    while (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      c = text.charCodeAt(++i);
    }
    if (i - s > MAX_DIGITS || !(c === 32 || c === 9 || c === 13 || i >= stop)) return undefined;
    counts[k] = v;
    total += v;
  }
  while (i < stop && isSpace(c)) c = text.charCodeAt(++i);
  // Chip: the wanted one where findDoorbellRows found it (CHIPAT), or an embedded doorbell's,
  // which names no controller and is kept whichever controller is asked for.
  const chipStart = i;
  while (i < stop && !isSpace(c)) c = text.charCodeAt(++i);
  const chipLength = i - chipStart;
  let chip: string;
  let epc: string | null;
  if (chipStart === chipAt && (chipWanted === undefined ? chipLength > CHIP_PREFIX.length : chipLength === chipWanted.length)) {
    chip = chipWanted ?? text.slice(chipStart, i);
    epc = controller ?? chip.slice(CHIP_PREFIX.length);
  } else if (chipLength === EMBEDDED_DOORBELL_CHIP.length && text.startsWith(EMBEDDED_DOORBELL_CHIP, chipStart)) {
    chip = EMBEDDED_DOORBELL_CHIP;
    epc = null;
  } else {
    return undefined;
  }
  // [hwirq] [Edge|Level] [-descName], as parseInterrupts reads them: a hwirq is a number
  // followed by the trigger, or a plain number, or x86's "<hwirq>-<descName>".
  while (i < stop && isSpace(text.charCodeAt(i))) i++;
  const t1s = i;
  while (i < stop && !isSpace(text.charCodeAt(i))) i++;
  const t1e = i;
  let index: number | undefined;
  let descName = false;
  let rest = t1s;
  if (isTrigger(text, t1s, t1e)) {
    rest = t1e;
  } else if (t1e > t1s) {
    while (i < stop && isSpace(text.charCodeAt(i))) i++;
    const t2s = i;
    while (i < stop && !isSpace(text.charCodeAt(i))) i++;
    if (isDigits(text, t1s, t1e)) {
      // parseInterrupts rejects the line.
      if (t1e - t1s > MAX_DIGITS) return undefined;
      index = digitsValue(text, t1s, t1e);
      rest = isTrigger(text, t2s, i) ? i : t1e;
    } else {
      let d = t1s;
      while (d < t1e && text.charCodeAt(d) !== 45) d++;
      if (d > t1s && d - t1s <= MAX_DIGITS && d < t1e - 1 && isDigits(text, t1s, d)) {
        index = digitsValue(text, t1s, d);
        descName = true;
        rest = t1e;
      }
    }
  }
  i = rest;
  while (i < stop && isSpace(text.charCodeAt(i))) i++;
  if (!descName && text.charCodeAt(i) === 45) {
    const ds = i;
    while (i < stop && !isSpace(text.charCodeAt(i))) i++;
    if (i - ds > 1) {
      while (i < stop && isSpace(text.charCodeAt(i))) i++;
    } else {
      i = ds;
    }
  }
  // Actions: the rest of the line, split on ", " (most rows have one).
  let actions: string[] = [];
  if (i < stop) {
    const list = text.slice(i, stop);
    actions = list.includes(', ') ? list.split(', ') : [list];
  }
  const action = actions.find(isDoorbellAction);
  if (action === undefined) return undefined;
  return { virq, chip, controller: epc, index, action, actions, counts, total };
}
