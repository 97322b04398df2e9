// Parser timing: parseInterrupts() on a 16-CPU × 600-row /proc/interrupts (rendered by the fake
// kernel in the 7.x tabular layout) against a bare text.split('\n') of the same text, timed in
// the same run. Reported as a ratio of medians; the target is 3 (parse ≤ 3× split).
import { IrqTable } from '../src/fake/irq.js';
import { median, timeCalls as time } from './lib/timing.js';
import { parseRelease } from '../src/kernel/version.js';
import { parseInterrupts } from '../src/procfs/interrupts.js';
import type { BootIrq } from '../src/boards/types.js';

const CPUS = 16;
const ROWS = 600;
const TARGET = 3;

/** A deterministic 16-CPU table: GIC SPIs, PCI MSI-X and doorbells, some shared IRQs. */
function sampleText(): string {
  const irqs: BootIrq[] = [];
  let seed = 12345;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed;
  };
  for (let k = 0; k < ROWS; k++) {
    const counts = Array.from({ length: CPUS }, () => (rnd() % 4 === 0 ? rnd() % 100000000 : 0));
    const kind = k % 3;
    irqs.push({
      irq: 10 + k,
      chip: kind === 0 ? 'GICv3' : kind === 1 ? 'ITS-PCI-MSIX-0002:21:00.0' : 'ITS-pMSI-a40000000.pcie-ep',
      hwirq: kind === 0 ? 32 + k : k % 64,
      trigger: kind === 0 ? 'Level' : 'Edge',
      actions: k % 7 === 0 ? ['dw-edma-core:a40000000.pcie-ep', 'pci-ep-test-doorbell'] : [`nvme0q${k % 64}`],
      counts,
    });
  }
  const release = parseRelease('7.3.4');
  if (!release) throw new Error('bad release');
  return IrqTable.fromBoard(irqs, CPUS, release).procInterrupts();
}



/** The floor for any JS parser: read every code unit once and do nothing else. */
function bareScan(text: string): { length: number } {
  let spaces = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 32) spaces++;
  return { length: spaces };
}

export async function run(): Promise<{ name: string; ratio: number; target: number; detail: string }> {
  const text = sampleText();
  const split = (): string[] => text.split('\n');
  const parse = (): unknown[] => parseInterrupts(text).rows;
  const scan = (): { length: number } => bareScan(text);
  // Warm up so the JIT has optimised all three before timing; then interleave rounds so that
  // machine noise hits them alike.
  for (const fn of [split, parse, scan]) time(fn, 100, 20);
  const splits: number[] = [];
  const parses: number[] = [];
  const scans: number[] = [];
  for (let r = 0; r < 21; r++) {
    splits.push(time(split, 5, 20));
    parses.push(time(parse, 5, 20));
    scans.push(time(scan, 5, 20));
  }
  const s = median(splits);
  const p = median(parses);
  const b = median(scans);
  const us = (ns: number): string => (ns / 1000).toFixed(1);
  return {
    name: 'parse /proc/interrupts 16 CPUs × 600 rows vs split',
    ratio: p / s,
    target: TARGET,
    detail:
      `${text.length} bytes; parse ${us(p)} µs, split ${us(s)} µs, bare charCodeAt scan ${us(b)} µs ` +
      `(${(b / s).toFixed(1)}× split) (medians)`,
  };
}
