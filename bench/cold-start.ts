// probe cold start: the whole `epctl probe --json` process (node start, module load, probe,
// print) as a ratio to `node -e 0`, measured interleaved in one run. Target ≤ 2×. The unpacked
// fixture is removed at the end.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { unpackToTemp } from '../src/snapshot/archive.js';

const RUNS = 25;

function time(args: string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<{ name: string; ratio: number; target: number; detail: string }[]> {
  const bin = path.resolve('dist/epctl.js');
  const root = await unpackToTemp(path.resolve('test/fixtures/sysroot/imx95.tar.gz'));
  try {
    return measure(bin, root);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

function measure(bin: string, root: string): { name: string; ratio: number; target: number; detail: string }[] {
  const cases: Record<string, string[]> = {
    baseline: ['-e', '0'],
    sysroot: [bin, '--root', root, 'probe', '--json'],
    mock: [bin, '--mock', 'imx95', 'probe', '--json'],
  };
  const samples: Record<string, number[]> = { baseline: [], sysroot: [], mock: [] };
  for (const args of Object.values(cases)) time(args); // warm the page cache
  for (let i = 0; i < RUNS; i++) for (const [k, args] of Object.entries(cases)) samples[k]!.push(time(args));
  const base = median(samples['baseline']!);
  return (['sysroot', 'mock'] as const).map((k) => ({
    name: `probe cold start (${k === 'sysroot' ? '--root fixture, real node:fs backend' : '--mock imx95, fake kernel'}) / node -e 0`,
    ratio: median(samples[k]!) / base,
    target: 2,
    detail: `median ${median(samples[k]!).toFixed(1)} ms vs ${base.toFixed(1)} ms over ${RUNS} interleaved runs`,
  }));
}
