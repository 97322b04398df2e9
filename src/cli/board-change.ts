// What every command that may change a board shares: the board opened once, the lock taken
// (one epctl at a time per state file; released on exit and on a signal), the ownership
// record loaded, and the plan made from probe + observe.
import type { KernelPort } from '../kernel/port.js';
import type { Ownership } from '../state/ownership.js';
import { UsageError, withBoard, type RunContext } from './context.js';

export interface BoardChange {
  port: KernelPort;
  ownership: Ownership;
}

/** Opens the board, locks it (when its state is kept in a file) and loads what epctl owns there. */
export async function withBoardChange<T>(ctx: RunContext, opts: { lock: boolean; waitSeconds?: number }, fn: (c: BoardChange) => Promise<T>): Promise<T> {
  if (opts.lock && ctx.board?.kind === 'root')
    throw new UsageError(`--root ${ctx.board.path} is a recording: \`epctl ${ctx.command}\` changes a board and cannot change a recording`, `run \`epctl plan --root ${ctx.board.path}\` to see what it would do, or run on the board itself or with --mock`);
  const { loadOwnership } = await import('../state/ownership.js');
  const { acquireLock } = await import('../state/lock.js');
  // The lock spans opening the board and saving it: a simulated board (--mock-state) is read
  // at open and written at close, and another run must not slip in between.
  const lock = !opts.lock || ctx.lockFile === undefined ? undefined : await acquireLock(ctx.lockFile, ctx.command, (opts.waitSeconds ?? 0) * 1000);
  if (lock) await sayIfAgentRuns(ctx.lockFile!);
  // Tracked once it is ours: a signal then removes our lock, never another run's.
  const forget = lock && ctx.cleanup.track(lock.file);
  try {
    return await withBoard(ctx, async (port) => {
      const ownership = await loadOwnership(port.backend === 'sysroot' ? undefined : ctx.stateFile, port.origin);
      return fn({ port, ownership });
    });
  } finally {
    await lock?.release();
    forget?.();
  }
}

/** Parses --wait SECONDS. */
export function waitSeconds(v: string | undefined): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 86400) throw new UsageError(`--wait ${JSON.stringify(v)} is not a number of seconds`, 'give --wait 0..86400 (0: fail at once when another epctl holds the board)');
  return n;
}

/** Beside the board's lock while `epctl agent` runs: who keeps the board, and to which config. */
export const agentMarker = (lockFile: string): string => `${lockFile}.agent`;

export interface AgentMarker {
  pid: number;
  config: string;
  since: string;
}

/** A change made by hand while the agent keeps the board: the user is told what the agent will make of it. */
async function sayIfAgentRuns(lockFile: string): Promise<void> {
  const fs = await import('node:fs/promises');
  const { writeErr } = await import('./output.js');
  const { alive } = await import('../state/lock.js');
  let m: AgentMarker;
  try {
    m = JSON.parse(await fs.readFile(agentMarker(lockFile), 'utf8')) as AgentMarker;
  } catch {
    return;
  }
  // The agent's own board changes, and a marker a dead agent left, say nothing.
  if (typeof m?.pid !== 'number' || m.pid === process.pid || !alive(m.pid)) return;
  writeErr(`epctl: note: the epctl agent (pid ${m.pid}, since ${m.since}) keeps this board converged to ${m.config}: what this command changes is drift to it, reported at its next check (and undone with agent.correct_drift); change ${m.config} instead to make it last\n`);
}
