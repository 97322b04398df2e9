// The human view of `epctl status --agent`: the agent's life (phase, its systemd status line,
// the config and its last reload error, what it waits for, the last apply and its errors,
// drift, the apply counts), then the board as `epctl status` shows it (./status.ts).
import type { AgentStatus } from '../../agent/status.js';
import { renderStatus } from './status.js';

export function renderAgentStatus(s: AgentStatus, socketPath: string): string {
  const out: string[] = [];
  out.push(`agent      pid ${s.pid} at ${socketPath}, started ${s.startedAt}`);
  out.push(`phase      ${s.phase}`);
  out.push(`status     ${s.statusLine}`);
  const c = s.config;
  out.push(`config     ${c.file}${c.loadedAt ? ` (loaded ${c.loadedAt}${c.sha256 ? `, sha256 ${c.sha256.slice(0, 12)}` : ''})` : ' (not loaded)'}`);
  if (c.error !== null) out.push(`  error: ${c.error}`, '  (the last reload failed: the config loaded before it stays in use)');
  if (s.waitingFor.length > 0) out.push(`waiting    for ${s.waitingFor.join(', ')}`);
  const a = s.lastApply;
  if (a === null) out.push('last apply none yet');
  else {
    const ops = a.outcome === 'applied' || a.outcome === 'failed' ? `, ${a.operations} operation${a.operations === 1 ? '' : 's'}` : '';
    out.push(`last apply ${a.at} (${a.reason}): ${a.outcome}${ops} in ${a.durationMs} ms`);
    for (const e of a.errors) out.push(`  error: ${e}`);
  }
  const d = s.drift;
  const how = d.intervalS > 0 ? `checked every ${d.intervalS} s, ${d.correct ? 'corrected' : 'reported only'}` : 'not checked (interval 0)';
  out.push(`drift      ${how}${d.lastCheckAt ? `; last check ${d.lastCheckAt}` : ''}`);
  if (d.detected) {
    out.push(`  detected ${d.detected.at}: ${d.detected.operations.length} operation${d.detected.operations.length === 1 ? '' : 's'} would bring the board back to the config`);
    for (const op of d.detected.operations) out.push(`    ${op}`);
  } else if (d.intervalS > 0) out.push('  none detected');
  out.push(`applies    ${s.applies.total} in total, ${s.applies.failed} failed, ${s.applies.driftCorrections} drift correction${s.applies.driftCorrections === 1 ? '' : 's'}`);
  out.push('');
  return out.join('\n') + '\n' + (s.board === null ? 'board      not read yet\n' : renderStatus(s.board));
}
