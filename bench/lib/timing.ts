// Timing a whole process, the way the cold-start benchmarks compare epctl with `node -e 0`.
import { spawnSync } from 'node:child_process';

/** Wall time of one `node ARGS` run, in milliseconds; a failing run is an error. */
export function time(args: string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
