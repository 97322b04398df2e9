// The `agent` scenario's configs and its verdict (issue 11 on the real kernel): `epctl agent`
// from the bundle, started as the unit starts it, converges the board before READY=1, serves
// its status, pings the watchdog, corrects drift, refuses a bad config keeping the board,
// reloads a changed one, and stops on SIGTERM leaving the board as configured.
import fs from 'node:fs';
import type { AgentParams } from './guest/agent.js';
import type { CheckResult } from './checks.js';

const FN = 'pci_epf_test/func1';

/** The configs: the pci-epf-test example kept with drift correction, the same checked every 2 s, that with 8 MSI, and one naming a controller the board lacks. */
export function agentParams(): AgentParams {
  const example = fs.readFileSync('examples/pci-epf-test.yaml', 'utf8');
  // At rest no drift check falls in the idle window (every 300 s); before the drift step a
  // SIGHUP reload makes it 2 s.
  const config = `${example}agent: { correct_drift: true, wait_timeout_s: 120, drift_interval_s: 300 }\n`;
  const fast = `${example}agent: { correct_drift: true, wait_timeout_s: 120, drift_interval_s: 2 }\n`;
  const changed = fast.replace(/^(\s*)msi_interrupts: 16$/m, '$1msi_interrupts: 8');
  if (changed === fast) throw new Error('examples/pci-epf-test.yaml no longer says msi_interrupts: 16; update scripts/lane/agent-check.ts');
  const absent = `version: 1
agent: { wait_timeout_s: 5 }
controllers:
  absent.pcie-ep: { start: true }
functions:
  - { driver: pci_epf_test, name: func1, controller: absent.pcie-ep }
`;
  return { config, fast, changed, absent };
}

interface Cmd {
  args: string[];
  exitCode: number;
  json?: unknown;
  stderr: string;
}
interface BoardJson {
  pciEp?: { functions?: { driver: string; name: string; controllers?: string[]; attributes?: Record<string, { text?: string }> }[] };
}
interface AgentJson {
  phase?: string;
  statusLine?: string;
  config?: { file?: string; error?: string | null };
  lastApply?: { outcome?: string; reason?: string; operations?: number } | null;
  applies?: { total: number; failed: number; refused: number; driftCorrections: number };
  board?: BoardJson | null;
  doorbells?: unknown;
}
interface LogLine {
  msg?: string;
  [k: string]: unknown;
}

const fn = (b: unknown) => ((b as BoardJson | undefined)?.pciEp?.functions ?? []).find((f) => `${f.driver}/${f.name}` === FN);
const msi = (b: unknown) => fn(b)?.attributes?.['msi_interrupts']?.text?.trim();

export function checkAgent(epc: string, data: unknown): CheckResult {
  const findings: string[] = [];
  const notes: string[] = [];
  const d = data as Record<string, Record<string, unknown> | undefined>;
  const expect = (ok: boolean, what: string, detail?: unknown): void => {
    if (!ok) findings.push(`${what}${detail === undefined ? '' : `: ${JSON.stringify(detail).slice(0, 600)}`}`);
  };
  const calls = (x: unknown) => (x ?? []) as string[][];
  const has = (m: string[], k: string) => m.some((a) => a === k || a.startsWith(`${k}=`));

  const err = d['error'];
  if (err) findings.push(`the scenario stopped: ${String(err['message'])}\n  agent log tail: ${JSON.stringify(err['log'])}\n  last notifications: ${JSON.stringify(err['notify'])}`);

  // wait
  const w = d['wait'] ?? {};
  const wn = calls(w['notify']);
  expect(w['hung'] !== true, 'the agent ends its bounded wait on its own (it was killed after 90 s)');
  expect(w['exitCode'] === 1, 'a controller the board lacks: the agent exits 1 after its bounded wait', { exitCode: w['exitCode'], log: (w['log'] as unknown[] | undefined)?.slice(-3) });
  expect(!wn.some((m) => has(m, 'READY')), 'and never says READY', wn);
  expect(wn.some((m) => m.some((a) => a.startsWith('STATUS=') && a.includes('absent.pcie-ep'))), 'and its STATUS= line names the controller it waits for', wn);
  expect(fn((w['board'] as Cmd | undefined)?.json) === undefined, 'and the board is left untouched');
  notes.push(`bounded wait (5 s) ended after ${Number(w['seconds']).toFixed(1)} s`);

  // start
  const s = d['start'] ?? {};
  const sn = calls(s['notify']);
  const readyAt = sn.findIndex((m) => has(m, 'READY'));
  const log = (s['log'] ?? []) as LogLine[];
  const converged = log.find((l) => l.msg === 'converged');
  expect(readyAt >= 0, 'the agent says READY=1', sn);
  expect(converged?.['outcome'] === 'applied' && converged['reason'] === 'start', 'after its first apply converged the board', log.slice(-5));
  const statusOf = (m: string[] | undefined) => m?.find((a) => a.startsWith('STATUS='))?.slice('STATUS='.length) ?? '';
  expect(statusOf(sn[readyAt]).startsWith('converged to '), 'its READY=1 carries STATUS=converged to …', sn[readyAt]);
  expect(sn.slice(0, readyAt).some((m) => statusOf(m).startsWith('applying')), 'after a STATUS=applying line', sn.slice(0, readyAt));
  expect(s['socket'] === 0o660, 'the status socket /run/epctl/agent.sock is mode 0660', s['socket']);
  expect(s['marker'] === true, 'the board is marked as kept by the agent (/run/lock/epctl.lock.agent)');
  const st = s['agentStatus'] as Cmd | undefined;
  const sj = st?.json as AgentJson | undefined;
  expect(st?.exitCode === 0 && sj?.phase === 'converged' && sj.lastApply?.outcome === 'applied', '`epctl status --agent` answers: converged, last apply applied', st);
  expect(fn(sj?.board)?.controllers?.includes(epc) === true, `the agent's status shows ${FN} on ${epc}`, sj?.board);
  expect(fn((s['board'] as Cmd | undefined)?.json)?.controllers?.includes(epc) === true, `and so does the board read directly`, s['board']);
  notes.push(`READY ${Number(s['readySeconds']).toFixed(1)} s after start (${sj?.lastApply?.operations ?? '?'} operations)`);

  // idle
  const i = d['idle'] ?? {};
  const bare = (i['bare'] ?? {}) as { cpuSeconds?: number; rssKiB?: number };
  const pct = (cpu: unknown) => `${((Number(cpu) / (Number(i['ms']) / 1000)) * 100).toFixed(2)} %`;
  notes.push(
    `idle (emulated guest): ${pct(i['cpuSeconds'])} of a core (a bare node: ${pct(bare.cpuSeconds)}), RSS ${(Number(i['rssKiB']) / 1024).toFixed(1)} MiB (${(Number(i['rssKiB']) / Number(bare.rssKiB)).toFixed(2)}× a bare node)`,
  );

  // sighup
  const h = d['sighup'] ?? {};
  const hc = h['converged'] as LogLine | undefined;
  const hj = h['agentStatus'] as AgentJson | undefined;
  expect(hc?.['outcome'] === 'nothing' && hc['operations'] === 0, 'SIGHUP reloads the config: only its agent section changed, zero operations', hc);
  expect((hj as { drift?: { intervalS?: number } } | undefined)?.drift?.intervalS === 2, 'and the new drift period is in use', (hj as { drift?: unknown } | undefined)?.drift);
  expect(calls(h['notify']).some((m) => has(m, 'RELOADING')), 'with RELOADING=1 to systemd', calls(h['notify']).slice(-4));

  // drift
  const dr = d['drift'] ?? {};
  const cleared = dr['cleared'] as Cmd | undefined;
  expect(cleared?.exitCode === 0, '`epctl clear` beside the agent waits for the lock and clears', cleared);
  expect(cleared?.stderr.includes('note: the epctl agent (pid') === true, 'and is told the agent keeps the board', cleared?.stderr);
  const dj = dr['agentStatus'] as AgentJson | undefined;
  expect((dj?.applies?.driftCorrections ?? 0) >= 1 && dj?.lastApply?.reason === 'drift', 'the agent corrects the drift (agent.correct_drift)', dj?.applies);
  expect(fn((dr['board'] as Cmd | undefined)?.json)?.controllers?.includes(epc) === true, `${FN} is back on ${epc}`, dr['board']);

  // bad
  const b = d['bad'] ?? {};
  const bj = b['agentStatus'] as AgentJson | undefined;
  expect(bj?.config?.error?.includes('/tmp/agent.yaml') === true, 'a config that does not load is refused, its error naming the file', bj?.config);
  expect(fn((b['board'] as Cmd | undefined)?.json)?.controllers?.includes(epc) === true && msi((b['board'] as Cmd | undefined)?.json) === '16', 'and the board is kept as the last good config made it', b['board']);

  // change
  const c = d['change'] ?? {};
  const cj = c['agentStatus'] as AgentJson | undefined;
  expect(cj?.lastApply?.reason === 'config-changed' && cj.lastApply.outcome === 'applied', 'a changed config saved by rename is reloaded by the file watch and applied', cj?.lastApply);
  expect(msi((c['board'] as Cmd | undefined)?.json) === '8', 'the board has the new msi_interrupts', msi((c['board'] as Cmd | undefined)?.json));
  const plan = (c['plan'] as Cmd | undefined)?.json as { ops?: unknown[] } | undefined;
  expect(plan?.ops?.length === 0, 'and `epctl plan` finds nothing left to do', plan);

  // stop
  const t = d['stop'] ?? {};
  const tn = calls(t['notify']);
  expect(t['hung'] !== true, 'SIGTERM stops the agent within 60 s');
  expect(t['exitCode'] === 0, 'SIGTERM stops the agent with exit 0', { exitCode: t['exitCode'], signal: t['signal'] });
  expect(tn.length > 0 && has(tn.at(-1)!, 'STOPPING'), 'its last message is STOPPING=1', tn.slice(-3));
  expect(t['socketLeft'] === false && t['markerLeft'] === false, 'its socket and board marker are gone', { socket: t['socketLeft'], marker: t['markerLeft'] });
  expect(Array.isArray(t['traceInstances']) && (t['traceInstances'] as unknown[]).length === 0, 'and its tracefs instance', t['traceInstances']);
  expect(fn((t['board'] as Cmd | undefined)?.json)?.controllers?.includes(epc) === true, 'the board stays as configured after a clean stop', t['board']);
  // Watchdog: a ping every half WATCHDOG_USEC from READY to SIGTERM (one period of slack: this guest is emulated).
  const periodS = Number(t['watchdogUsec']) / 2e6;
  const alive = Number(t['readyForSeconds']);
  const pings = tn.filter((m) => has(m, 'WATCHDOG')).length;
  expect(pings >= Math.floor(alive / periodS) - 1, `watchdog pings every ${periodS} s (half WATCHDOG_USEC): at least ${Math.floor(alive / periodS) - 1} in the ${alive.toFixed(0)} s after READY`, pings);
  notes.push(`${pings} watchdog pings in ${alive.toFixed(0)} s`);
  // Every RELOADING=1 is answered by a READY=1 after it, before STOPPING=1: systemd is never left "reloading".
  const stopAt = tn.findIndex((m) => has(m, 'STOPPING'));
  const unanswered = tn.findIndex((m, i) => has(m, 'RELOADING') && !tn.slice(i + 1, stopAt < 0 ? undefined : stopAt).some((n) => has(n, 'READY')));
  expect(unanswered < 0, 'every RELOADING=1 is followed by READY=1 before STOPPING=1', tn.slice(Math.max(0, unanswered)));
  const reloads = tn.filter((m) => has(m, 'RELOADING')).length;
  notes.push(`${tn.length} notifications (${reloads} RELOADING)`);

  const cl = d['clear'] as Cmd | undefined;
  expect(cl?.exitCode === 0, '`epctl clear` after the agent leaves the board empty', cl);
  return { name: 'agent', findings, notes };
}
