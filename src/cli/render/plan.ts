// The human view of a plan and of an apply: each configfs operation as the shell command a
// person would type (paths under pci_ep/, nvmet's as ../nvmet/), marked + (adds), ~ (changes), - (removes), in
// colour on a terminal; then the notes, and the refusals with their fixes.
import { CONFIGFS, PCI_EP } from '../../configfs/paths.js';
import { NVMET } from '../../configfs/nvmet.js';
import type { Plan, PlanOp } from '../../plan/plan.js';
import type { ApplyResult } from '../../plan/apply.js';

export interface Paint {
  add(s: string): string;
  change(s: string): string;
  remove(s: string): string;
  dim(s: string): string;
}

const plain: Paint = { add: (s) => s, change: (s) => s, remove: (s) => s, dim: (s) => s };
const ansi = (code: number) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;
const coloured: Paint = { add: ansi(32), change: ansi(33), remove: ansi(31), dim: ansi(2) };

/** Colour only on a terminal, and never when NO_COLOR is set (no-color.org). */
export function paintFor(stream: NodeJS.WriteStream): Paint {
  return stream.isTTY && !process.env['NO_COLOR'] ? coloured : plain;
}

const rel = (p: string): string => (p.startsWith(PCI_EP + '/') ? p.slice(PCI_EP.length + 1) : p.startsWith(NVMET + '/') ? `../${p.slice(CONFIGFS.length + 1)}` : p);
const shown = (v: string): string => v.trimEnd();

/** The marker and shell form of one operation. */
export function describeOp(op: PlanOp): { mark: '+' | '~' | '-' | '·'; text: string } {
  switch (op.kind) {
    case 'mount':
      return { mark: '+', text: `mount -t configfs none ${op.path}` };
    case 'modprobe':
      return { mark: '+', text: `modprobe ${op.module}` };
    case 'start':
      return { mark: '~', text: `echo ${op.value ? 1 : 0} > ${rel(op.path)}` };
    case 'unlink':
      return { mark: '-', text: `rm ${rel(op.path)}` };
    case 'rmdir':
      return { mark: '-', text: `rmdir ${rel(op.path)}` };
    case 'mkdir':
      return { mark: '+', text: `mkdir ${rel(op.path)}` };
    case 'wait':
      return { mark: '·', text: `wait for ${rel(op.path)}/ (made by delayed work before Linux 7.0)` };
    case 'write':
      return { mark: '~', text: `echo ${shown(op.value)} > ${rel(op.path)}${typeof op.before === 'object' ? `   (was ${shown(op.before.text)})` : ''}` };
    case 'link':
    case 'nvmet-link':
      return { mark: '+', text: `ln -s ${rel(op.target)} ${rel(op.path)}` };
    case 'nvmet-unlink':
      return { mark: '-', text: `rm ${rel(op.path)}` };
    case 'nvmet-rmdir':
      return { mark: '-', text: `rmdir ${rel(op.path)}` };
  }
}

function mark(paint: Paint, m: '+' | '~' | '-' | '·', text: string): string {
  return (m === '+' ? paint.add : m === '~' ? paint.change : m === '-' ? paint.remove : paint.dim)(`${m} ${text}`);
}

export function renderPlan(plan: Plan, head: string, paint: Paint = plain): string {
  const out = [head];
  if (plan.ops.length === 0 && plan.refusals.length === 0) out.push('nothing to do: the board matches the config');
  for (const op of plan.ops) {
    const d = describeOp(op);
    out.push(`  ${mark(paint, d.mark, d.text)}`);
  }
  if (plan.ops.length) {
    const n = (m: string) => plan.ops.filter((o) => describeOp(o).mark === m && o.kind !== 'wait').length;
    out.push('', `${plan.ops.filter((o) => o.kind !== 'wait').length} operations: ${n('+')} to add, ${n('~')} to change, ${n('-')} to remove`);
  }
  for (const note of plan.notes) out.push(paint.dim(`note: ${note}`));
  for (const r of plan.refusals) out.push('', `error: ${r.where}: ${r.reason}`, ...r.fix.split('\n').map((l, i) => (i === 0 ? `  fix: ${l}` : `    ${l}`)));
  return out.join('\n') + '\n';
}

export function renderApply(r: ApplyResult, paint: Paint = plain): string {
  const out: string[] = [];
  for (const d of r.done) {
    const x = describeOp(d.op);
    out.push(`  ${mark(paint, x.mark, x.text)}${d.outcome === 'already' ? '   (already so)' : ''}`);
  }
  const warned = r.warnings.map((w) => `warning: ${w}`);
  if (r.ok) {
    out.push('', `applied: ${r.done.filter((d) => d.op.kind !== 'wait').length} operations, every write read back`, ...warned);
    return out.join('\n') + '\n';
  }
  const f = r.failure!;
  out.push('', `failed: ${describeOp(f.op).text}`, `  ${f.code}: ${f.message}`);
  if (f.kernelLog.length) out.push('  the kernel logged:', ...f.kernelLog.map((l) => `    ${l}`));
  const rb = r.rollback!;
  if (rb.errors.length === 0) out.push(`rolled back: ${rb.undone} operations undone; the board is as it was before apply`);
  else out.push(`rollback INCOMPLETE: ${rb.undone} undone, ${rb.errors.length} failed; the board is partly changed:`, ...rb.errors.map((e) => `  ${e.step}: ${e.message}`), '  run `epctl status` and `epctl plan` to see what is left');
  out.push(...warned);
  return out.join('\n') + '\n';
}

