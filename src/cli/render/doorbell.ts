// The human view of a DoorbellStatus: per controller its start, verdict and link, then each
// linked function with its mode, readiness and reason, its doorbell IRQs as a table, the host
// commands and notes; then the unlinked functions, the overall answer and the problems.
import type { DoorbellStatus, FunctionDoorbells } from '../../doorbell/status.js';
import type { LinkState } from '../../debugfs/ltssm.js';

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** The link state in one line, and for a missing reading what to do, on a second. */
export function linkLines(l: LinkState): string[] {
  return l.available ? [`link: ${l.text}`] : [`link: unknown: ${l.reason}`, `  ${l.hint}`];
}

function functionLines(f: FunctionDoorbells, indent: string): string[] {
  const out = [`${indent}function ${f.function}  mode ${f.mode}  ${f.ready ? 'ready' : 'not ready'}${f.expected !== null && f.mode !== 'none' ? `  (${f.irqs.filter((i) => i.actions.length).length}/${f.expected} doorbell irqs now)` : ''}`];
  const more = `${indent}  `;
  out.push(`${more}${f.reason}`);
  if (f.irqs.length) {
    const rows = [['IRQ', 'INDEX', 'CHIP', 'PER-CPU', 'TOTAL', 'ACTION']];
    for (const i of f.irqs) rows.push([String(i.virq), i.index === null ? '-' : String(i.index), i.chip, i.counts.join(' '), String(i.total), i.actions.join(', ') || '(no handler yet)']);
    out.push(...table(rows).map((l) => `${more}${l}`));
  }
  if (f.host.length) out.push(`${more}on the host:`, ...f.host.map((h) => `${more}  ${h}`));
  for (const n of f.notes) out.push(`${more}note: ${n}`);
  return out;
}

export function renderDoorbellStatus(s: DoorbellStatus): string {
  const out: string[] = [];
  const src = s.source.backend === 'fake' ? `${s.source.origin} (simulated board)` : s.source.backend === 'sysroot' ? `${s.source.origin} (recorded board)` : 'this system';
  out.push(`board      ${src}`, `kernel     ${s.kernel.release ?? 'unknown'}`);
  for (const c of s.controllers) {
    const verdict = c.verdict.mode === 'unknown' ? 'unknown' : c.verdict.ringLost ? 'no: rings lost' : c.verdict.capable ? (c.verdict.mode === 'its' ? 'yes' : `yes (${c.verdict.mode === 'embedded' ? 'embedded eDMA' : 'MSI, not ITS'})`) : 'no';
    out.push('', `controller ${c.name}  start ${c.started === null ? '-' : c.started ? '1' : '0'}  doorbell ${verdict}`, ...linkLines(c.link).map((l) => `  ${l}`));
    if (c.verdict.capable !== true) out.push(`  verdict: ${c.verdict.reason}`);
    if (c.functions.length === 0) out.push('  no function linked');
    for (const f of c.functions) out.push(...functionLines(f, '  '));
    if (c.unclaimed.length) out.push(`  other irqs on ITS-pMSI-${c.name}: ${c.unclaimed.map((i) => `${i.virq} (${i.actions.join(', ') || 'no handler'})`).join(', ')}`);
  }
  for (const f of s.unlinked) out.push('', ...functionLines(f, ''));
  out.push('', s.ready ? 'ready: every doorbell function is ready' : 'ready: no', ...s.waiting.map((w) => `  waiting: ${w}`));
  for (const p of s.problems) out.push('', `error: ${p.message}`, `  fix: ${p.hint}`);
  return out.join('\n') + '\n';
}
