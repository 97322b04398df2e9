// The online CPUs: /sys/devices/system/cpu/online, which drivers/base/cpu.c show_cpus_attr
// prints as sysfs_emit("%*pbl\n") of cpu_online_mask. lib/vsprintf.c bitmap_list_string writes
// that list: each maximal run of set bits (for_each_set_bitrange) in ascending order, "a" for a
// run of one and "a-b" otherwise, joined by ",", in plain decimal ("0-5", "0,2-3"). The parser
// takes exactly that and nothing else: any other text is not what the kernel wrote.
import { readTextIfExists, type KernelPort } from '../kernel/port.js';
import { KernelDataError } from '../kernel/errors.js';

export const CPU_ONLINE = '/sys/devices/system/cpu/online';

/** One run of CPUs, first to last inclusive. */
export interface CpuRange {
  first: number;
  last: number;
}

/** CPU numbers are unsigned int in the kernel (nr_cpu_ids, include/linux/cpumask.h). */
const MAX_CPU = 0xffff_ffff;
const NUMBER = /^(0|[1-9][0-9]{0,9})$/;

/** Why the text is not a cpulist as bitmap_list_string writes it, or the runs it lists. */
export function parseCpuList(text: string): { ok: true; ranges: CpuRange[] } | { ok: false; reason: string } {
  if (!text.endsWith('\n')) return { ok: false, reason: 'does not end in a newline, which sysfs_emit("%*pbl\\n") always writes' };
  const body = text.slice(0, -1);
  // An empty mask prints nothing before the newline.
  if (body === '') return { ok: true, ranges: [] };
  const ranges: CpuRange[] = [];
  for (const part of body.split(',')) {
    const bounds = part.split('-');
    if (bounds.length > 2 || !bounds.every((b) => NUMBER.test(b))) return { ok: false, reason: `has ${JSON.stringify(clip(part))} where a CPU number or a range "a-b" belongs` };
    const [first, last] = bounds.map(Number) as [number, number | undefined];
    if (first > MAX_CPU || (last ?? first) > MAX_CPU) return { ok: false, reason: `names CPU ${bounds.find((b) => Number(b) > MAX_CPU)}, above any CPU number` };
    if (last !== undefined && last <= first) return { ok: false, reason: `has the range ${part}, but the kernel writes a range only from a lower to a higher CPU` };
    const prev = ranges.at(-1);
    // Runs are maximal and ascending: the next starts at least two above the last one's end.
    if (prev && first <= prev.last + 1) return { ok: false, reason: `lists ${clip(part)} after ${prev.first === prev.last ? prev.first : `${prev.first}-${prev.last}`}, but the kernel writes ascending runs with gaps between them` };
    ranges.push({ first, last: last ?? first });
  }
  return { ok: true, ranges };
}

/** How many CPUs the runs hold. */
export function cpuCount(ranges: readonly CpuRange[]): number {
  return ranges.reduce((n, r) => n + r.last - r.first + 1, 0);
}

/** The list bitmap_list_string writes for these CPU numbers (any order, duplicates ignored), with sysfs_emit's newline. */
export function formatCpuList(cpus: Iterable<number>): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return `${parts.join(',')}\n`;
}

/**
 * The number of online CPUs, or undefined when the file is not there (a recording made before
 * probe read it). A file that is not the kernel's list, or one that lists no CPU (the kernel
 * never takes the last CPU offline: kernel/cpu.c _cpu_down returns -EBUSY when num_online_cpus() == 1), throws KernelDataError.
 */
export async function readOnlineCpus(port: KernelPort): Promise<number | undefined> {
  const text = await readTextIfExists(port, CPU_ONLINE);
  if (text === undefined) return undefined;
  const parsed = parseCpuList(text);
  const hint = `read it again (cat ${CPU_ONLINE}); if it still holds that, re-record the board`;
  if (!parsed.ok) throw new KernelDataError(CPU_ONLINE, `${parsed.reason}, so it is not the kernel's CPU list`, { hint });
  if (parsed.ranges.length === 0) throw new KernelDataError(CPU_ONLINE, 'lists no CPU, but one CPU at least is always online', { hint });
  return cpuCount(parsed.ranges);
}

function clip(s: string): string {
  return s.length > 24 ? `${s.slice(0, 24)}…` : s;
}
