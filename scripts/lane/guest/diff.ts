// Scenario `diff` (issue 7 scenario 2, guest side): runs the host's Op list on the real kernel
// with the same executor the host runs over the fake (src/lane/run-ops.ts), announcing each Op
// before it runs (an oops then names it) and streaming each raw result as it comes. It judges
// nothing: generating, comparing and shrinking happen on the host.
import { RealKernel } from '../../../src/kernel/real.js';
import { kmsgTap } from '../../../src/lane/kmsg.js';
import { describeOp, type Op } from '../../../src/lane/ops.js';
import { runOps } from '../../../src/lane/run-ops.js';
import type { Scenario } from './scenarios.js';

/** The `diff` scenario's parameters. */
export interface DiffParams {
  ops: Op[];
  /** runProfile(release).settleSubGroups on the host. */
  settleSubGroups: boolean;
}

/** Runs the Op list on the live kernel, streaming each result as a `data` record {i, r}. */
export const diff: Scenario = async (params, ctx) => {
  const { ops, settleSubGroups } = params as DiffParams;
  const log = kmsgTap();
  try {
    const results = await runOps(new RealKernel(), log, ops, {
      settleSubGroups,
      onStart: (i, op) => ctx.op(`${i}: ${describeOp(op)}`),
      onResult: (i, r) => ctx.data({ i, r }),
    });
    return { count: results.length };
  } finally {
    log.close();
  }
};
