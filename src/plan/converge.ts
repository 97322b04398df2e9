// probe → observe → plan, in one place for plan, apply and clear: what the board is, what the
// pci_ep tree holds, and the operations that take it to the config.
import type { KernelPort } from '../kernel/port.js';
import { parseRelease } from '../kernel/version.js';
import { observePciEp, type PciEpState } from '../configfs/observe.js';
import { probe, attempter, type BoardState, type Problem } from '../probe/probe.js';
import type { Config } from '../config/schema.js';
import { plan, type Plan } from './plan.js';

export interface Planned {
  board: BoardState;
  pciEp: PciEpState;
  plan: Plan;
  /** Entries of the board that could not be read (they spoil only themselves). */
  problems: Problem[];
}

export async function planFor(port: KernelPort, config: Config, owned: ReadonlySet<string>, opts: { removeForeign?: boolean; pendingRestarts?: readonly string[]; force?: boolean } = {}): Promise<Planned> {
  const board = await probe(port);
  const problems: Problem[] = [...board.problems];
  const pciEp = await observePciEp(port, attempter(problems));
  const release = board.kernel.release === null ? null : (parseRelease(board.kernel.release) ?? null);
  return { board, pciEp, problems, plan: plan({ config, board, pciEp, owned, release, ...opts }) };
}
