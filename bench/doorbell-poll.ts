// doorbell watch costs, as ratios measured in this one run:
// 1. one poll's work: find one controller's doorbell rows (src/doorbell/rows.ts) in a 16-CPU ×
//    600-row /proc/interrupts (7.x tabular layout, rendered by the fake) vs a bare
//    text.split('\n') of the same text (target ≤ 3×);
// 2. a whole poll, read + find (the text read from a file, as /proc/interrupts is), vs spawning
//    `grep -F <chip>` once per poll through execa (target: the poll is cheaper, ≤ 1×);
// 3. the delay from a ring (the fake's IRQ fire) to its event in watchDoorbells, tracefs
//    source and 5 ms polling (reported in ms against 5 ms and 10 ms).
import fs from 'node:fs';
import { median, timeCalls as time } from './lib/timing.js';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { IrqTable } from '../src/fake/irq.js';
import { parseRelease } from '../src/kernel/version.js';
import { findDoorbellRows } from '../src/doorbell/rows.js';
import { createFakeKernel } from '../src/fake/index.js';
import type { FakeKernelImpl } from '../src/fake/kernel.js';
import { watchDoorbells, type DoorbellEvent } from '../src/doorbell/watch.js';
import { DOORBELL_ACTION, doorbellChip } from '../src/procfs/interrupts.js';
import type { BootIrq } from '../src/boards/types.js';

const CPUS = 16;
const ROWS = 600;
const EPC = 'a40000000.pcie-ep';

/** 16 CPUs × 600 rows: GIC SPIs, NVMe MSI-X, two EPCs' platform-MSI rows, a few doorbells. */
function sampleText(): string {
  const irqs: BootIrq[] = [];
  let seed = 12345;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0);
  for (let k = 0; k < ROWS; k++) {
    const counts = Array.from({ length: CPUS }, () => (rnd() % 4 === 0 ? rnd() % 100000000 : 0));
    const kind = k % 4;
    const chip = kind === 0 ? 'GICv3' : kind === 1 ? 'ITS-PCI-MSIX-0002:21:00.0' : doorbellChip(kind === 2 ? EPC : '4c380000.pcie-ep');
    const doorbell = kind >= 2 && k % 50 < 4;
    irqs.push({ irq: 10 + k, chip, hwirq: kind === 0 ? 32 + k : k % 64, trigger: kind === 0 ? 'Level' : 'Edge', actions: doorbell ? [DOORBELL_ACTION.pci_epf_vntb] : [`nvme0q${k % 64}`], counts });
  }
  return IrqTable.fromBoard(irqs, CPUS, parseRelease('7.3.4')!).procInterrupts();
}



async function timeAsync(fn: () => Promise<unknown>, n: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0));
  }
  return median(samples);
}

/** Median ms from a fire to its `rung` event, over N rings spaced by `gapMs`. */
async function ringDelay(source: 'tracefs' | 'poll', n: number, gapMs: number): Promise<number> {
  const k = createFakeKernel({ board: 'qemu-virt' }) as FakeKernelImpl;
  const virq = k.irq.request(doorbellChip('7e000000.pcie-ep'), 0, 'Edge', DOORBELL_ACTION.pci_epf_vntb);
  const ac = new AbortController();
  let waiting: ((e: DoorbellEvent) => void) | undefined;
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const done = watchDoorbells(k, { source, intervalMs: 5, signal: ac.signal, onReady: () => ready(), onEvent: (e) => e.event === 'rung' && waiting?.(e) });
  await isReady;
  await new Promise((r) => setTimeout(r, 20));
  const delays: number[] = [];
  for (let i = 0; i < n; i++) {
    const seen = new Promise<DoorbellEvent>((r) => (waiting = r));
    const t0 = process.hrtime.bigint();
    k.irq.fire(virq, 0);
    await seen;
    delays.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  ac.abort();
  await done;
  return median(delays);
}

export async function run(): Promise<Array<{ name: string; ratio: number; target: number; detail: string }>> {
  const text = sampleText();
  const split = (): string[] => text.split('\n');
  const find = (): unknown[] => findDoorbellRows(text, EPC);
  for (const fn of [split, find]) time(fn, 100, 20);
  const splits: number[] = [];
  const finds: number[] = [];
  for (let r = 0; r < 21; r++) {
    splits.push(time(split, 5, 20));
    finds.push(time(find, 5, 20));
  }
  const s = median(splits);
  const f = median(finds);
  const us = (ns: number): string => (ns / 1000).toFixed(1);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'epctl-bench-'));
  const file = path.join(dir, 'interrupts');
  let poll: number;
  let grep: number;
  try {
    fs.writeFileSync(file, text);
    const readFind = async (): Promise<unknown> => findDoorbellRows(await fs.promises.readFile(file, 'utf8'), EPC);
    const grepOnce = (): Promise<unknown> => execa('grep', ['-F', doorbellChip(EPC), file], { reject: false });
    await timeAsync(readFind, 50);
    await timeAsync(grepOnce, 5);
    poll = await timeAsync(readFind, 200);
    grep = await timeAsync(grepOnce, 30);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const rows = findDoorbellRows(text, EPC).length;
  const traceMs = await ringDelay('tracefs', 50, 2);
  const pollMs = await ringDelay('poll', 50, 7);
  return [
    {
      name: 'doorbell poll: find one controller\'s doorbell rows, 16 CPUs × 600 rows, vs split',
      ratio: f / s,
      target: 3,
      detail: `${text.length} bytes, ${rows} doorbell rows of ${EPC}; find ${us(f)} µs, split ${us(s)} µs (medians)`,
    },
    {
      name: 'doorbell poll: read + find vs spawning grep once per poll',
      ratio: poll / grep,
      target: 1,
      detail: `read + find ${us(poll)} µs, execa grep -F ${us(grep)} µs (medians)`,
    },
    { name: 'doorbell watch: ring → event delay, tracefs source (ms)', ratio: traceMs, target: 5, detail: `median of 50 rings on the fake kernel: ${traceMs.toFixed(3)} ms` },
    { name: 'doorbell watch: ring → event delay, polling every 5 ms (ms)', ratio: pollMs, target: 10, detail: `median of 50 rings on the fake kernel: ${pollMs.toFixed(3)} ms` },
  ];
}
