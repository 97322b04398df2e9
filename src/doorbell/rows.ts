// The doorbell rows of /proc/interrupts, found without parsing the rest: a poll every few
// milliseconds must not split 600 rows × 16 CPUs to find two. A doorbell row has the chip of
// the EPC's per-device platform-MSI domain, `ITS-pMSI-<epc>` (or, for the DesignWare eDMA's
// embedded doorbell, `dw-edma-emul`, which names no controller), and a doorbell action
// (`pci-ep-test-doorbell`, `pci_epf_vntb_db`; kernel/irq/msi.c, procfs/interrupts.ts). The
// action names are rare, so the text is searched for them (one native regexp scan); only the
// lines holding one, and the wanted chip, are tokenised, by the same rules as parseInterrupts
// (whitespace separates, never columns; all three layouts of kernel/irq/proc.c): label, one
// count per CPU of the header, chip, then [hwirq] [trigger] [-descName] and the actions joined
// by ", ". bench/doorbell-poll.ts measures it against a bare split of the same text.
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

const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 13;

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
 * A doorbell action as one element of a line's action list, up to the end of the line.
 * Irregexp scans for the names natively; the few lines found are then parsed in full (the
 * chip, ITS-pMSI-<epc>, is checked there).
 */
const CANDIDATES = new RegExp(`(?:${DOORBELL_ACTIONS.map(escape).join('|')})(?:, [^\\n]*)?[ \\t\\r]*$`, 'gm');

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
  let ncpu = -1;
  let last = -1;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (ncpu < 0) ncpu = cpuColumns(text);
    const lineStart = lineStartOf(text, m.index, ncpu);
    // The header, or a second hit in a line already taken.
    if (lineStart === 0 || lineStart === last) continue;
    last = lineStart;
    const line = text.slice(lineStart, re.lastIndex);
    if (!line.includes(chip ?? CHIP_PREFIX) && !line.includes(EMBEDDED_DOORBELL_CHIP)) continue;
    const row = parseRow(line, ncpu, chip);
    if (row) rows.push(row);
  }
  re.lastIndex = 0;
  return rows;
}

/**
 * Where the line holding an action at HIT begins. Counts are "%10u" per CPU (u32: never
 * wider), and label, chip, hwirq and trigger take under 100 more characters for any chip
 * epctl looks for: look for the newline before the line from there, forward, instead of
 * walking back over the counts (lastIndexOf steps back one character at a time). A longer
 * line falls back to lastIndexOf.
 */
function lineStartOf(text: string, hit: number, ncpu: number): number {
  const guess = hit - ncpu * 11 - 100;
  if (guess > 0) {
    const nl = text.indexOf('\n', guess);
    if (nl >= 0 && nl < hit && text.indexOf('\n', nl + 1) >= hit) return nl + 1;
  }
  return text.lastIndexOf('\n', hit) + 1;
}

function parseRow(line: string, ncpu: number, chipWanted: string | undefined): DoorbellRow | undefined {
  let stop = line.length;
  while (stop > 0 && isSpace(line.charCodeAt(stop - 1))) stop--;
  let i = 0;
  const skip = (): void => {
    while (i < stop && isSpace(line.charCodeAt(i))) i++;
  };
  const token = (): string => {
    const s = i;
    while (i < stop && !isSpace(line.charCodeAt(i))) i++;
    return line.slice(s, i);
  };
  skip();
  // Label: the virq's digits, then ":".
  const labelStart = i;
  let virq = 0;
  let c = line.charCodeAt(i);
  while (c >= 48 && c <= 57) {
    virq = virq * 10 + (c - 48);
    c = line.charCodeAt(++i);
  }
  if (c !== 58 || i === labelStart || i - labelStart > 10) return undefined;
  i++;
  // One count per CPU: decimals of at most 20 digits, separated by whitespace.
  const counts = new Array<number>(ncpu);
  let total = 0;
  for (let k = 0; k < ncpu; k++) {
    skip();
    const s = i;
    let v = 0;
    c = line.charCodeAt(i);
    while (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      c = line.charCodeAt(++i);
    }
    if (i === s || i - s > 20 || (i < stop && !isSpace(c))) return undefined;
    counts[k] = v;
    total += v;
  }
  skip();
  const chip = token();
  // An embedded doorbell's chip names no controller: it is kept whichever controller is asked for.
  const embedded = chip === EMBEDDED_DOORBELL_CHIP;
  if (!embedded && !(chipWanted === undefined ? chip.startsWith(CHIP_PREFIX) && chip.length > CHIP_PREFIX.length : chip === chipWanted)) return undefined;
  skip();
  // [hwirq] [Edge|Level] [-descName], as parseInterrupts reads them.
  let index: number | undefined;
  let mark = i;
  let t = token();
  if (/^\d{1,20}$/.test(t)) {
    index = Number(t);
    skip();
    mark = i;
    t = token();
  }
  if (t === 'Edge' || t === 'Level') {
    skip();
    mark = i;
    t = token();
  }
  if (t.length > 1 && t.startsWith('-')) {
    skip();
    mark = i;
  }
  i = mark;
  skip();
  const actions = i < stop ? line.slice(i, stop).split(', ') : [];
  const action = actions.find((a) => DOORBELL_ACTIONS.includes(a));
  if (action === undefined) return undefined;
  return { virq, chip, controller: embedded ? null : chip.slice(CHIP_PREFIX.length), index, action, actions, counts, total };
}
