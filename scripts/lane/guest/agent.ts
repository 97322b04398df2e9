// Scenario `agent` in the guest: `epctl agent` from the bundle (/lane/epctl.cjs), started as
// systemd would start the unit (NOTIFY_SOCKET and WATCHDOG_USEC set), on the real kernel. The
// guest has no systemd: `systemd-notify` is a busybox sh script first on PATH that records each
// call's arguments, so the host sees every READY/STATUS/WATCHDOG/STOPPING message in order.
// Steps, each recorded with what the host judges (scripts/lane/agent-check.ts):
//   wait    a config naming a controller the board lacks: the bounded wait ends, exit 1;
//   start   the agent converges the board, then READY=1; the status API and the board agree;
//   idle    CPU and RSS at rest with the doorbell watch on, against a bare node;
//   sighup  the config with a 2 s drift period, by SIGHUP: reloaded, nothing to do on the board;
//   drift   `epctl clear` beside it (told the agent keeps the board) is drift, corrected;
//   bad     a config that does not load, by SIGHUP: refused, the board kept;
//   change  a new config saved by rename: reloaded by the file watch and applied;
//   stop    SIGTERM: STOPPING=1 (watchdog pings all along before it), exit 0, the board left as configured, socket and marker gone.
import fs from 'node:fs/promises';
import { execa, type ResultPromise } from 'execa';
import { run, type Ran } from './run.js';
import type { Scenario } from './scenarios.js';

const EPCTL = '/lane/epctl.cjs';
const NOTIFY_LOG = '/tmp/agent-notify.log';
const NOTIFY_BIN = '/tmp/agent-bin';
/** The unit's RuntimeDirectory and lock (packaging/epctl.service): the agent's defaults on a live board. */
const SOCKET = '/run/epctl/agent.sock';
const LOCK_MARKER = '/run/lock/epctl.lock.agent';
const STATE = ['--state', '/tmp/epctl-agent-state.json'];
/** The unit's WatchdogSec=30s (packaging/epctl.service): the agent pings every 15 s. */
const WATCHDOG_USEC = 30_000_000;
const IDLE_MS = 10_000;
const CLK_TCK = 100;

export interface AgentParams {
  /** The config the agent keeps (pci-epf-test on the board's controller, drift checked at the default period), the same checked every 2 s, and a changed one. */
  config: string;
  fast: string;
  changed: string;
  /** A config naming a controller the board lacks. */
  absent: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(250);
  }
}

/** The fake systemd-notify's records: one array of arguments per call, in order. */
async function notified(): Promise<string[][]> {
  const text = await fs.readFile(NOTIFY_LOG, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => l.split('\x1f').filter(Boolean));
}

function json(r: Ran): unknown {
  try {
    return JSON.parse(r.stdout);
  } catch {
    return undefined;
  }
}

/** utime + stime of PID in seconds (/proc/PID/stat fields 14 and 15, after the comm). */
async function cpuSeconds(pid: number): Promise<number> {
  const text = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

async function rssKiB(pid: number): Promise<number> {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(await fs.readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(() => true, () => false);
}

interface Agent {
  child: ResultPromise;
  lines: unknown[];
  t0: number;
}

/** The agent's end, or SIGKILL after MS (recorded as `hung`): a scenario step never waits forever. */
async function bounded(a: Agent, ms: number): Promise<{ exitCode: number | undefined; signal: string | null; hung: boolean }> {
  let hung = false;
  const t = setTimeout(() => {
    hung = true;
    a.child.kill('SIGKILL');
  }, ms);
  const r = await a.child;
  clearTimeout(t);
  return { exitCode: r.exitCode, signal: r.signal ?? null, hung };
}

function startAgent(configFile: string): Agent {
  const env = { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: String(WATCHDOG_USEC), PATH: `${NOTIFY_BIN}:${process.env['PATH'] ?? '/bin'}` };
  const child = execa(process.execPath, [EPCTL, 'agent', '-c', configFile, ...STATE], { reject: false, stdin: 'ignore', buffer: false, env, extendEnv: true });
  const lines: unknown[] = [];
  let rest = '';
  child.stdout!.on('data', (b: Buffer) => {
    rest += b.toString();
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ notJson: line });
      }
    }
  });
  child.stderr!.on('data', (b: Buffer) => lines.push({ stderr: b.toString() }));
  return { child, lines, t0: Date.now() };
}

export const agent: Scenario = async (params, ctx) => {
  const p = params as AgentParams;
  await fs.mkdir(NOTIFY_BIN, { recursive: true });
  // One call per line, its arguments separated by US (0x1f): STATUS= values carry blanks.
  await fs.writeFile(`${NOTIFY_BIN}/systemd-notify`, `#!/bin/sh\nprintf '%s\\037' "$@" >> ${NOTIFY_LOG}\nprintf '\\n' >> ${NOTIFY_LOG}\n`, { mode: 0o755 });
  await fs.writeFile('/tmp/agent.yaml', p.config);
  await fs.writeFile('/tmp/agent-absent.yaml', p.absent);
  const out: Record<string, unknown> = {};
  const epctl = async (args: string[]) => {
    ctx.op(`epctl ${args.join(' ')}`);
    const r = await run(process.execPath, [EPCTL, ...args]);
    return { args, exitCode: r.exitCode, json: json(r), stderr: r.stderr, kmsg: ctx.kmsg() };
  };

  // wait: the bounded wait for a controller the board lacks ends with exit 1, the board untouched.
  ctx.op('epctl agent (a controller the board lacks)');
  const absent = startAgent('/tmp/agent-absent.yaml');
  const absentEnd = await bounded(absent, 90_000);
  out['wait'] = { exitCode: absentEnd.exitCode, hung: absentEnd.hung, seconds: (Date.now() - absent.t0) / 1000, notify: await notified(), log: absent.lines, board: await epctl(['status', '--json', ...STATE]) };
  await fs.rm(NOTIFY_LOG, { force: true });

  // start: converge, then READY=1.
  ctx.op('epctl agent');
  const a = startAgent('/tmp/agent.yaml');
  let stopped = false;
  void a.child.then(() => (stopped = true));
  try {
    const readyAt = await until('READY=1', 180_000, async () => {
      if (stopped) throw new Error(`the agent exited before READY: ${JSON.stringify(a.lines.slice(-10))}`);
      return (await notified()).some((m) => m.includes('READY=1')) ? Date.now() : undefined;
    });
    out['start'] = {
      readySeconds: (readyAt - a.t0) / 1000,
      notify: await notified(),
      log: [...a.lines],
      socket: (await fs.stat(SOCKET)).mode & 0o777,
      marker: await exists(LOCK_MARKER),
      agentStatus: await epctl(['status', '--agent', '--json']),
      board: await epctl(['status', '--json', ...STATE]),
      kmsg: ctx.kmsg(),
    };

    // idle: CPU and RSS over IDLE_MS at rest, the doorbell watch on; the watchdog pings meanwhile.
    ctx.op('agent idle');
    // Beside it, as bench/agent-idle.ts does, a bare node that only keeps its event loop alive: this
    // guest is emulated (TCG), so the agent's figures mean something only as ratios to that one.
    const bare = execa(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { reject: false, stdin: 'ignore' });
    try {
      await sleep(5000); // past the bare node's start
      const [c0, b0] = [await cpuSeconds(a.child.pid!), await cpuSeconds(bare.pid!)];
      await sleep(IDLE_MS);
      out['idle'] = {
        ms: IDLE_MS,
        cpuSeconds: (await cpuSeconds(a.child.pid!)) - c0,
        rssKiB: await rssKiB(a.child.pid!),
        bare: { cpuSeconds: (await cpuSeconds(bare.pid!)) - b0, rssKiB: await rssKiB(bare.pid!) },
      };
    } finally {
      bare.kill('SIGKILL');
      await bare;
    }

    // sighup: the config with a 2 s drift period, by SIGHUP (`systemctl reload`): nothing to do on the board.
    // The write also wakes the file watch, whose own reload may follow at once: the SIGHUP's is
    // read from the agent's log, not from its last apply, which that one soon overwrites.
    const mark = a.lines.length;
    await fs.writeFile('/tmp/agent.yaml', p.fast);
    a.child.kill('SIGHUP');
    const isSighup = (l: unknown): boolean => (l as { msg?: string; reason?: string }).msg === 'converged' && (l as { reason?: string }).reason === 'sighup';
    await until('the SIGHUP reload', 60_000, async () => (a.lines.slice(mark).some(isSighup) ? true : undefined));
    out['sighup'] = { converged: a.lines.slice(mark).find(isSighup), agentStatus: json(await run(process.execPath, [EPCTL, 'status', '--agent', '--json'])), notify: await notified() };

    // drift: a clear by hand beside the agent; with correct_drift the agent applies again.
    const cleared = await epctl(['clear', '--yes', '--json', '--wait', '120', ...STATE]);
    const corrected = await until('the drift correction', 120_000, async () => {
      const s = json(await run(process.execPath, [EPCTL, 'status', '--agent', '--json'])) as { applies?: { driftCorrections?: number }; phase?: string } | undefined;
      return (s?.applies?.driftCorrections ?? 0) >= 1 && s?.phase === 'converged' ? s : undefined;
    });
    out['drift'] = { cleared, agentStatus: corrected, board: await epctl(['status', '--json', ...STATE]) };

    // bad: a config that does not load, by SIGHUP: refused, the last good one kept.
    await fs.writeFile('/tmp/agent.yaml', 'version: 1\nfunctions: [ {driver: pci_epf_test\n');
    a.child.kill('SIGHUP');
    const refused = await until('the refusal of the bad config', 60_000, async () => {
      const s = json(await run(process.execPath, [EPCTL, 'status', '--agent', '--json'])) as { config?: { error?: string | null } } | undefined;
      return s?.config?.error ? s : undefined;
    });
    out['bad'] = { agentStatus: refused, board: await epctl(['status', '--json', ...STATE]) };

    // change: the changed config saved by rename (as editors do); the file watch reloads it.
    const applies = (refused as { applies: { total: number } }).applies.total;
    await fs.writeFile('/tmp/agent.yaml.new', p.changed);
    await fs.rename('/tmp/agent.yaml.new', '/tmp/agent.yaml');
    const changed = await until('the reload of the changed config', 120_000, async () => {
      const s = json(await run(process.execPath, [EPCTL, 'status', '--agent', '--json'])) as { applies?: { total: number }; phase?: string; config?: { error?: string | null } } | undefined;
      return s && s.applies && s.applies.total > applies && s.phase === 'converged' && !s.config?.error ? s : undefined;
    });
    out['change'] = { agentStatus: changed, board: await epctl(['status', '--json', ...STATE]), plan: await epctl(['plan', '-c', '/tmp/agent.yaml', '--json', ...STATE]) };

    // stop: SIGTERM.
    ctx.op('agent SIGTERM');
    const readyFor = (Date.now() - readyAt) / 1000;
    a.child.kill('SIGTERM');
    const end = await bounded(a, 60_000);
    out['stop'] = {
      exitCode: end.exitCode,
      signal: end.signal,
      hung: end.hung,
      notify: await notified(),
      readyForSeconds: readyFor,
      watchdogUsec: WATCHDOG_USEC,
      log: [...a.lines],
      socketLeft: await exists(SOCKET),
      markerLeft: await exists(LOCK_MARKER),
      traceInstances: (await fs.readdir('/sys/kernel/tracing/instances').catch(() => [])).filter((n) => n.startsWith('epctl-')),
      board: await epctl(['status', '--json', ...STATE]),
    };
  } catch (e) {
    // The steps so far stay in the result, with the agent's last log lines, for the host to judge.
    out['error'] = { message: (e as Error).stack ?? String(e), log: a.lines.slice(-20), notify: (await notified()).slice(-10) };
  } finally {
    if (!stopped) {
      a.child.kill('SIGKILL');
      await a.child;
    }
  }
  out['clear'] = await epctl(['clear', '--yes', '--json', ...STATE]);
  return out;
};
