// probe cold start: the whole `epctl probe --json` process (node start, module load, probe,
// print) as a ratio to `node -e 0`, measured interleaved in one run. Target ≤ 2×. The recorded
// board is read both as a directory (unpacked here, removed at the end) and as the .tar.gz.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { timeProcess as time, median } from './lib/timing.js';

const RUNS = 25;


export async function run(): Promise<{ name: string; ratio: number; target: number; detail: string }[]> {
  const bin = path.resolve('dist/epctl.js');
  const archive = path.resolve('test/fixtures/sysroot/imx95.tar.gz');
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'epctl-bench-'));
  const cases: Record<string, string[]> = {
    baseline: ['-e', '0'],
    sysroot: [bin, '--root', root, 'probe', '--json'],
    archive: [bin, '--root', archive, 'probe', '--json'],
    mock: [bin, '--mock', 'imx95', 'probe', '--json'],
  };
  const samples: Record<string, number[]> = { baseline: [], sysroot: [], archive: [], mock: [] };
  try {
    await tar.extract({ file: archive, cwd: root, preserveOwner: false });
    for (const args of Object.values(cases)) time(args); // warm the page cache
    for (let i = 0; i < RUNS; i++) for (const [k, args] of Object.entries(cases)) samples[k]!.push(time(args));
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
  const base = median(samples['baseline']!);
  const label = { sysroot: '--root fixture directory, jailed node:fs', archive: '--root fixture .tar.gz, read in memory', mock: '--mock imx95, fake kernel' };
  return (['sysroot', 'archive', 'mock'] as const).map((k) => ({
    name: `probe cold start (${label[k]}) / node -e 0`,
    ratio: median(samples[k]!) / base,
    target: 2,
    detail: `median ${median(samples[k]!).toFixed(1)} ms vs ${base.toFixed(1)} ms over ${RUNS} interleaved runs`,
  }));
}
