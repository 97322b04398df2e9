// One converge of a board to a config, as `epctl apply`/`clear` and the agent run it: plan, stop
// on a refusal or when nothing differs, ask (the CLI's confirmation), apply, and keep the
// ownership record right whatever happens (functions and nvmet objects are recorded before
// mkdir; controllers stopped to change their links are recorded until started again; after a
// rollback the record is what is on the board). No rendering: the caller reports.
import type { KernelPort } from '../kernel/port.js';
import type { Ownership } from '../state/ownership.js';
import type { Config } from '../config/schema.js';
import type { Problem } from '../probe/probe.js';
import { planFor } from './converge.js';
import { apply, type ApplyResult } from './apply.js';
import { functionPath, type Plan } from './plan.js';
import { isNvmetKey, nvmetKey, nvmetKeyPath } from '../configfs/nvmet.js';

export interface ConvergeBoardOptions {
  removeForeign?: boolean;
  force?: boolean;
  /** Aborting it stops before the next operation and rolls back. */
  signal?: AbortSignal;
  /** Asked before anything is changed (the CLI's y/N); false: nothing is done. */
  confirm?: (plan: Plan) => Promise<boolean>;
}

export type ConvergeOutcome =
  | { kind: 'refused'; plan: Plan; problems: Problem[] }
  | { kind: 'nothing'; plan: Plan; problems: Problem[] }
  | { kind: 'declined'; plan: Plan; problems: Problem[] }
  | { kind: 'applied' | 'failed'; plan: Plan; problems: Problem[]; result: ApplyResult };

export async function convergeBoard(port: KernelPort, ownership: Ownership, config: Config, opts: ConvergeBoardOptions = {}): Promise<ConvergeOutcome> {
  const before = ownership.list();
  const { plan, problems, pciEp, nvmet } = await planFor(port, config, new Set(before), {
    ...(opts.removeForeign ? { removeForeign: true } : {}),
    ...(opts.force ? { force: true } : {}),
    pendingRestarts: ownership.restarts(),
  });
  if (plan.refusals.length) return { kind: 'refused', plan, problems };
  if (plan.ops.length === 0) {
    await ownership.replace(plan.owned);
    return { kind: 'nothing', plan, problems };
  }
  if (opts.confirm && !(await opts.confirm(plan))) return { kind: 'declined', plan, problems };
  // Written before the first stop: if this run is killed before it starts them again, the next one does.
  await ownership.setRestarts(plan.ops.flatMap((o) => (o.kind === 'start' && o.value ? [o.epc] : [])).filter((epc) => plan.ops.some((o) => o.kind === 'start' && !o.value && o.epc === epc)));
  const result = await apply(port, plan, { own: (fn, owned) => ownership.set(fn, owned), ...(opts.signal ? { signal: opts.signal } : {}) });
  await ownership.setRestarts([]);
  if (result.ok) await ownership.replace(plan.owned);
  else {
    // After a rollback the record is what it was, plus what this run made new and could not
    // remove; a function that was on the board before (a foreign one recreated) stays foreign.
    const existed = new Set([...pciEp.functions.map((f) => `${f.driver}/${f.name}`), ...nvmet.subsystems.map((s) => nvmetKey(s.path)), ...nvmet.ports.map((p) => nvmetKey(p.path))]);
    const made = result.done.flatMap((d) => (d.op.kind === 'mkdir' && !existed.has(d.op.fn) ? [d.op.fn] : []));
    const keep: string[] = [];
    for (const key of new Set([...before, ...made])) if (await port.exists(isNvmetKey(key) ? nvmetKeyPath(key) : functionPath(key))) keep.push(key);
    await ownership.replace(keep);
  }
  return { kind: result.ok ? 'applied' : 'failed', plan, problems, result };
}
