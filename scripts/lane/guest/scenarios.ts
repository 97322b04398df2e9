// The scenarios the guest harness can run, by name. Each takes the host's parameters and a
// context, does its work against the real kernel, and returns raw observations (JSON) for the
// host to judge. Add a scenario by adding an entry here.
import { agent } from './agent.js';
import { apply } from './apply.js';
import { diff } from './diff.js';
import { doorbellRefusal, doorbells } from './doorbells.js';
import { ntbLinks } from './ntb.js';
import { nvme } from './nvme.js';
import { nvmeApply } from './nvme-apply.js';
import { probe } from './probe.js';
import { vntbDoorbell } from './vntb.js';

/** What a scenario can do besides returning its result. */
export interface GuestContext {
  /** Announces the operation about to run: if the kernel oopses, the host names it. */
  op(name: string): void;
  /** Streams a piece of data to the host now (results of a long scenario as they come). */
  data(data: unknown): void;
  /** Kernel log lines since the last call (the result record gets the rest). */
  kmsg(): string[];
}

export type Scenario = (params: unknown, ctx: GuestContext) => Promise<unknown>;

/** Every scenario the harness dispatches to. */
export const SCENARIOS: Readonly<Record<string, Scenario>> = {
  probe,
  'vntb-doorbell': vntbDoorbell,
  'ntb-links': ntbLinks,
  diff,
  apply,
  agent,
  nvme,
  'nvme-apply': nvmeApply,
  doorbells,
  'doorbell-refusal': doorbellRefusal,
};
