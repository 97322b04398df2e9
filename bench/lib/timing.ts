// Timing for the benchmarks: a whole process (the cold-start benchmarks compare epctl with
// `node -e 0`), and one in-process call in batches (the parser benchmarks).
import { spawnSync } from 'node:child_process';

/** Wall time of one `node ARGS` run, in milliseconds; a failing run is an error. */
export function timeProcess(args: string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Nanoseconds per call of fn, median over `rounds` batches of `batch` calls. */
export function timeCalls(fn: () => unknown, rounds: number, batch: number): number {
  const samples: number[] = [];
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let b = 0; b < batch; b++) sink += (fn() as { length?: number }).length ?? 1;
    samples.push(Number(process.hrtime.bigint() - t0) / batch);
  }
  // Keeps the results alive, so the calls are not optimised away.
  if (sink < 0) console.log(sink);
  return median(samples);
}
