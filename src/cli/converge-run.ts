// apply and clear: plan, show, confirm on a terminal, apply, keep the ownership record right
// whatever happens (functions are recorded before mkdir; after a rollback the record is what
// is on the board), and report. Exit 0 done or nothing to do, 1 refused or failed.
import { createInterface } from 'node:readline/promises';
import { EXIT, type ExitCode } from '../exit-codes.js';
import type { Config } from '../config/schema.js';
import type { RunContext } from './context.js';
import type { BoardChange } from './board-change.js';
import { writeErr, writeOut } from './output.js';

export interface ConvergeOptions {
  yes: boolean;
  removeForeign?: boolean;
  /** What the plan is for, in the heading. */
  what: string;
  /** --force: skip the doorbell preflight (plan.ts PlanInput.force). */
  force?: boolean;
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export async function converge(ctx: RunContext, { port, ownership }: BoardChange, config: Config, opts: ConvergeOptions): Promise<ExitCode> {
  const { convergeBoard } = await import('../plan/run.js');
  const { renderPlan, renderApply, paintFor } = await import('./render/plan.js');
  const { deferSignals } = await import('./cleanup.js');
  const paint = paintFor(process.stdout);
  const head = `${ctx.command} ${opts.what} on ${port.origin === '/' ? 'this board' : port.origin}`;
  const interactive = !ctx.json && process.stdin.isTTY === true && process.stdout.isTTY === true;
  const stop = new AbortController();
  let restore: (() => void) | undefined;
  const out = await convergeBoard(port, ownership, config, {
    ...(opts.removeForeign ? { removeForeign: true } : {}),
    ...(opts.force ? { force: true } : {}),
    signal: stop.signal,
    confirm: async (plan) => {
      if (interactive && !opts.yes) {
        writeOut(renderPlan(plan, head, paint));
        if (!(await confirm(`carry out these ${plan.ops.length} operations? [y/N] `))) return false;
      } else if (!ctx.json) writeOut(`${head}\n`);
      restore = deferSignals((sig) => {
        writeErr(`epctl: ${sig}: stopping after this operation and rolling back (again to quit at once)\n`);
        stop.abort();
      });
      return true;
    },
  }).finally(() => restore?.());
  const { plan, problems } = out;
  if (out.kind === 'refused' || out.kind === 'nothing') {
    if (ctx.json) writeOut(JSON.stringify({ ok: out.kind === 'nothing', plan, done: [], problems }, null, 2) + '\n');
    else writeOut(renderPlan(plan, head, paint) + (out.kind === 'refused' ? 'nothing was changed\n' : ''));
    return out.kind === 'refused' ? EXIT.ERROR : EXIT.OK;
  }
  if (out.kind === 'declined') {
    writeErr('epctl: nothing was changed\n');
    return EXIT.ERROR;
  }
  if (ctx.json) writeOut(JSON.stringify({ ...out.result, plan, problems }, null, 2) + '\n');
  else writeOut(renderApply(out.result, paint));
  return out.result.ok ? EXIT.OK : EXIT.ERROR;
}
