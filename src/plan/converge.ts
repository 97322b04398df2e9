// probe → observe → plan, in one place for plan, apply and clear: what the board is, what the
// pci_ep and nvmet trees hold, and the operations that take it to the config.
import type { KernelPort } from '../kernel/port.js';
import { parseRelease } from '../kernel/version.js';
import { observePciEp, type PciEpState } from '../configfs/observe.js';
import { probe, attempter, type BoardState, type Problem } from '../probe/probe.js';
import type { Config } from '../config/schema.js';
import { plan, type Plan } from './plan.js';
import { observeNvmet, type NvmetState } from '../configfs/nvmet.js';
import { NULL_BLK_DEVICE } from '../configfs/nvmet.js';

export interface Planned {
  board: BoardState;
  pciEp: PciEpState;
  nvmet: NvmetState;
  plan: Plan;
  /** Entries of the board that could not be read (they spoil only themselves). */
  problems: Problem[];
}

export async function planFor(port: KernelPort, config: Config, owned: ReadonlySet<string>, opts: { removeForeign?: boolean; pendingRestarts?: readonly string[]; force?: boolean } = {}): Promise<Planned> {
  const board = await probe(port);
  const problems: Problem[] = [...board.problems];
  const pciEp = await observePciEp(port, attempter(problems));
  const nvmet = await observeNvmet(port, attempter(problems));
  // The block devices and files NVMe namespaces name: plan refuses a missing one before any write.
  const devices = new Map<string, boolean>();
  for (const f of config.functions ?? [])
    for (const ns of f.nvme?.namespaces ?? []) {
      const path = ns.device ?? NULL_BLK_DEVICE;
      if (!devices.has(path)) devices.set(path, await port.exists(path).catch(() => false));
    }
  const release = board.kernel.release === null ? null : (parseRelease(board.kernel.release) ?? null);
  return { board, pciEp, nvmet, problems, plan: plan({ config, board, pciEp, nvmet, devices, owned, release, ...opts }) };
}
