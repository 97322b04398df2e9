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
  const { planFor } = await import('../plan/converge.js');
  const { apply } = await import('../plan/apply.js');
  const { functionPath } = await import('../plan/plan.js');
  const { renderPlan, renderApply, paintFor } = await import('./render/plan.js');
  const before = ownership.list();
  const { plan, problems, pciEp, nvmet } = await planFor(port, config, new Set(before), { ...(opts.removeForeign ? { removeForeign: true } : {}), ...(opts.force ? { force: true } : {}), pendingRestarts: ownership.restarts() });
  const paint = paintFor(process.stdout);
  const head = `${ctx.command} ${opts.what} on ${port.origin === '/' ? 'this board' : port.origin}`;
  if (plan.refusals.length || plan.ops.length === 0) {
    if (plan.refusals.length === 0) await ownership.replace(plan.owned);
    if (ctx.json) writeOut(JSON.stringify({ ok: plan.refusals.length === 0, plan, done: [], problems }, null, 2) + '\n');
    else writeOut(renderPlan(plan, head, paint) + (plan.refusals.length ? 'nothing was changed\n' : ''));
    return plan.refusals.length ? EXIT.ERROR : EXIT.OK;
  }
  const interactive = !ctx.json && process.stdin.isTTY === true && process.stdout.isTTY === true;
  if (interactive && !opts.yes) {
    writeOut(renderPlan(plan, head, paint));
    if (!(await confirm(`carry out these ${plan.ops.length} operations? [y/N] `))) {
      writeErr('epctl: nothing was changed\n');
      return EXIT.ERROR;
    }
  } else if (!ctx.json) writeOut(`${head}\n`);

  const { deferSignals } = await import('./cleanup.js');
  const stop = new AbortController();
  const restore = deferSignals((sig) => {
    writeErr(`epctl: ${sig}: stopping after this operation and rolling back (again to quit at once)\n`);
    stop.abort();
  });
  // Written before the first stop: if this run is killed before it starts them again, the next one does.
  await ownership.setRestarts(plan.ops.flatMap((o) => (o.kind === 'start' && o.value ? [o.epc] : [])).filter((epc) => plan.ops.some((o) => o.kind === 'start' && !o.value && o.epc === epc)));
  const result = await apply(port, plan, { own: (fn, owned) => ownership.set(fn, owned), signal: stop.signal }).finally(restore);
  await ownership.setRestarts([]);
  if (result.ok) await ownership.replace(plan.owned);
  else {
    // After a rollback the record is what it was, plus what this run made new and could not
    // remove; a function that was on the board before (a foreign one recreated) stays foreign.
    const { isNvmetKey, nvmetKey, nvmetKeyPath } = await import('../configfs/nvmet.js');
    const existed = new Set([...pciEp.functions.map((f) => `${f.driver}/${f.name}`), ...nvmet.subsystems.map((s) => nvmetKey(s.path)), ...nvmet.ports.map((p) => nvmetKey(p.path))]);
    const made = result.done.flatMap((d) => (d.op.kind === 'mkdir' && !existed.has(d.op.fn) ? [d.op.fn] : []));
    const keep: string[] = [];
    for (const key of new Set([...before, ...made])) if (await port.exists(isNvmetKey(key) ? nvmetKeyPath(key) : functionPath(key))) keep.push(key);
    await ownership.replace(keep);
  }
  if (ctx.json) writeOut(JSON.stringify({ ...result, plan, problems }, null, 2) + '\n');
  else writeOut(renderApply(result, paint));
  return result.ok ? EXIT.OK : EXIT.ERROR;
}
