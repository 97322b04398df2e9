// probe cold start on a real-sized device tree (~1,000 nodes, ~10 properties each, RK3588-like;
// bench/lib/big-board.ts), as a ratio to `node -e 0` measured interleaved in one run: with
// /sys/firmware/fdt (lookups from the boot blob, confirmed live) and without it (the fallback
// walk of every node), beside the recorded ~20-node rk3588-msi-map fixture of the same board as
// the floor. Target ≤ 2× with the blob. Temporary sysroots are removed at the end.
import path from 'node:path';
import fs from 'node:fs/promises';
import { paddedRk3588, recordBigBoard, treeSize } from './lib/big-board.js';
import os from 'node:os';
import * as tar from 'tar';
import { timeProcess as time, median } from './lib/timing.js';

const RUNS = 15;


export async function run(): Promise<{ name: string; ratio: number; target: number; detail: string }[]> {
  const bin = path.resolve('dist/epctl.js');
  const profile = paddedRk3588();
  const size = treeSize(profile.dt);
  const board = await recordBigBoard(profile);
  const small = await fs.mkdtemp(path.join(os.tmpdir(), 'epctl-bench-small-'));
  try {
    await tar.x({ file: path.resolve('test/fixtures/sysroot/rk3588-msi-map.tar.gz'), cwd: small, preserveOwner: false });
    const cases: Record<string, string[]> = {
      baseline: ['-e', '0'],
      fdt: [bin, '--root', board.withFdt, 'probe', '--json'],
      walk: [bin, '--root', board.withoutFdt, 'probe', '--json'],
      small: [bin, '--root', small, 'probe', '--json'],
    };
    const samples: Record<string, number[]> = { baseline: [], fdt: [], walk: [], small: [] };
    for (const args of Object.values(cases)) time(args); // warm the page cache
    for (let i = 0; i < RUNS; i++) for (const [k, args] of Object.entries(cases)) samples[k]!.push(time(args));
    const base = median(samples['baseline']!);
    const floor = median(samples['small']!);
    return (['fdt', 'walk'] as const).map((k) => ({
      name: `probe cold start, ${size.nodes}-node tree, ${k === 'fdt' ? 'with /sys/firmware/fdt' : 'without /sys/firmware/fdt (walk)'} / node -e 0`,
      ratio: median(samples[k]!) / base,
      target: k === 'fdt' ? 2 : 10,
      detail: `median ${median(samples[k]!).toFixed(1)} ms vs ${base.toFixed(1)} ms over ${RUNS} interleaved runs; ${size.properties} property files; the ~20-node fixture of the same board: ${(floor / base).toFixed(2)}×`,
    }));
  } finally {
    await board.remove();
    await fs.rm(small, { recursive: true, force: true });
  }
}
