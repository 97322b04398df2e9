// The doorbell rows of /proc/interrupts, found without parsing the rest: a poll every few
// milliseconds must not split 600 rows × 16 CPUs to find two. A doorbell row has the chip of
// the EPC's per-device platform-MSI domain, `ITS-pMSI-<epc>`, and a doorbell action
// (`pci-ep-test-doorbell`, `pci_epf_vntb_db`; kernel-abi.md §8.2, procfs/interrupts.ts), so
// the text is searched for that chip prefix with indexOf (native, no allocation) and only
// the lines holding it are tokenised, by the same rules as parseInterrupts (whitespace
// separates, never columns; all three layouts of kernel-abi.md §8.1): label, one count per
// CPU of the header, chip, then [hwirq] [trigger] [-descName] and the actions joined by ", ".
import { DOORBELL_ACTION, doorbellChip } from '../procfs/interrupts.js';

export const DOORBELL_ACTIONS: readonly string[] = Object.values(DOORBELL_ACTION);
const CHIP_PREFIX = doorbellChip('');

export interface DoorbellRow {
  virq: number;
  /** `ITS-pMSI-<epc>`. */
  chip: string;
  /** The EPC the chip names. */
  controller: string;
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

/**
 * The doorbell rows of TEXT (/proc/interrupts), all controllers' or CONTROLLER's only, in
 * file order. Lines that are not well-formed IRQ rows are skipped, never thrown on.
 */
export function findDoorbellRows(text: string, controller?: string): DoorbellRow[] {
  const needle = controller === undefined ? CHIP_PREFIX : doorbellChip(controller);
  const rows: DoorbellRow[] = [];
  let ncpu = -1;
  let from = 0;
  for (;;) {
    const hit = text.indexOf(needle, from);
    if (hit < 0) break;
    const lineStart = text.lastIndexOf('\n', hit) + 1;
    let lineEnd = text.indexOf('\n', hit);
    if (lineEnd < 0) lineEnd = text.length;
    from = lineEnd + 1;
    if (lineStart === 0) continue; // the header
    const line = text.slice(lineStart, lineEnd);
    let has = false;
    for (const a of DOORBELL_ACTIONS) if (line.includes(a)) has = true;
    if (!has) continue;
    if (ncpu < 0) ncpu = cpuColumns(text);
    const row = parseRow(line, ncpu, controller === undefined ? undefined : needle);
    if (row) rows.push(row);
  }
  return rows;
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
  const colon = line.indexOf(':', i);
  if (colon < 0 || colon >= stop) return undefined;
  const label = line.slice(i, colon);
  if (!/^\d{1,10}$/.test(label)) return undefined;
  i = colon + 1;
  const counts: number[] = [];
  let total = 0;
  for (let c = 0; c < ncpu; c++) {
    skip();
    const t = token();
    if (!/^\d{1,20}$/.test(t)) return undefined;
    const v = Number(t);
    counts.push(v);
    total += v;
  }
  skip();
  const chip = token();
  if (!(chipWanted === undefined ? chip.startsWith(CHIP_PREFIX) && chip.length > CHIP_PREFIX.length : chip === chipWanted)) return undefined;
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
  return { virq: Number(label), chip, controller: chip.slice(CHIP_PREFIX.length), index, action, actions, counts, total };
}
