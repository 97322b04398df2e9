// `epctl agent`'s CLI glue as a process on a simulated board (src/cli/commands/agent.ts): a
// reload on SIGHUP and on an editor's save (rename over the file), a bad config written while
// it runs refused with the last good one kept, the exit codes at start (65, 1, and running on
// with agent.ready_on_failure), --metrics (a scrape the strict text-format parser accepts, with
// the apply counted; a remote address refused without --metrics-allow-remote; a taken port), and
// the sd_notify protocol as systemd sees it: a python3 AF_UNIX datagram receiver on NOTIFY_SOCKET
// gets what /usr/bin/systemd-notify sends for the agent — STATUS, READY=1 once converged,
// WATCHDOG=1, STOPPING=1; no READY=1 from a SIGHUP during the controller wait; SIGTERM during the
// wait a clean stop.
import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { epctl, isOneLineRefusal, noStackTrace } from '../helpers/cli.js';
import { agentProcesses, eachLine, until, type Line } from '../helpers/agent-process.js';
import { parsePromText } from '../helpers/prom-text.js';
import type { AgentStatus } from '../../src/agent/status.js';

const { tempDir, startAgent, track } = agentProcesses('epctl-agent-glue-');

const FUNC1 = '  - { driver: pci_epf_test, name: func1, controller: auto, header: { vendorid: 0x104c, deviceid: 0xb500 }, msi_interrupts: 16, msix_interrupts: 8 }\n';
const FUNC2 = '  - { driver: pci_epf_test, name: func2, controller: auto, header: { vendorid: 0x104c, deviceid: 0xb500 }, msi_interrupts: 4, msix_interrupts: 8 }\n';
/** A board with one pci_epf_test function; no drift checks, so every apply counted is one the test caused. */
const CONFIG = `version: 1
agent: { drift_interval_s: 0 }
controllers: { auto: { start: true } }
functions:
${FUNC1}`;

async function board(config = CONFIG) {
  const dir = await tempDir();
  const file = path.join(dir, 'epctl.yaml');
  await fs.writeFile(file, config);
  const state = path.join(dir, 'board.json');
  const mock = ['--mock', 'qemu-virt', '--mock-state', state];
  return { dir, config: file, mock, socket: `${state}.agent.sock` };
}

/** GET PATH of the agent's status API on its unix socket. */
function api(socketPath: string, urlPath = '/v1/status'): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path: urlPath, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (b: Buffer) => (text += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('status API timed out')));
  });
}

/** `epctl plan -c FILE` on the board: exit 0 and "nothing to do" when the board is as FILE says. */
async function expectBoardMatches(file: string, mock: string[]): Promise<void> {
  const plan = await epctl(['plan', '-c', file, ...mock], { timeout: 30_000 });
  expect(plan.exitCode, `${plan.stdout}\n${plan.stderr}`).toBe(0);
  expect(plan.stdout).toContain('nothing to do');
}

/** `epctl plan -c FILE` on the board: exit 2, changes pending (the board is not as FILE says). */
async function expectBoardDiffers(file: string, mock: string[]): Promise<void> {
  const plan = await epctl(['plan', '-c', file, ...mock], { timeout: 30_000 });
  expect(plan.exitCode, `${plan.stdout}\n${plan.stderr}`).toBe(2);
}

/** Writes TEXT to FILE as an editor saves: a temp file beside it, renamed over it. */
async function saveByRename(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.swp`);
  await fs.writeFile(tmp, text);
  await fs.rename(tmp, file);
}

const isConverged = (reason: string, outcome?: string) => (l: Line) => l.msg === 'converged' && l.reason === reason && (outcome === undefined || l.outcome === outcome);

describe('epctl agent reloads', () => {
  it('on SIGHUP sent right after the config is written: logs the reload and converges the board to the new config', async () => {
    const b = await board();
    const a = startAgent(['-c', b.config, ...b.mock]);
    await a.until((l) => l.msg === 'ready');
    expect(a.lines.find((l) => l.msg === 'converged')).toMatchObject({ reason: 'start', outcome: 'applied' });

    // func1's interrupts change and a second function comes; SIGHUP at once, before the file
    // watcher's settle time (200 ms write-finish + 250 ms debounce) could fire.
    const next = CONFIG.replace('msi_interrupts: 16', 'msi_interrupts: 8') + FUNC2;
    const other = path.join(b.dir, 'next.yaml');
    await fs.writeFile(other, next);
    await expectBoardDiffers(other, b.mock);
    await fs.writeFile(b.config, next);
    a.child.kill('SIGHUP');
    await a.until((l) => l.msg === 'SIGHUP: reloading');
    await a.until(isConverged('sighup'));
    expect(a.lines.find(isConverged('sighup'))).toMatchObject({ outcome: 'applied' });
    expect((a.lines.find(isConverged('sighup'))!.operations as number) > 0).toBe(true);
    await expectBoardMatches(other, b.mock);
    const s = (await api(b.socket)).body as AgentStatus;
    expect(s.phase).toBe('converged');
    expect(s.config.error).toBeNull();
    expect(s.board?.ownership?.functions.map((f) => f.split('/').pop()).sort()).toEqual(['func1', 'func2']);

    a.child.kill('SIGTERM');
    expect((await a.child).exitCode).toBe(0);
  }, 60_000);

  it('when an editor saves the config by renaming a temp file over it: reloads through the file watcher and converges', async () => {
    const b = await board();
    const a = startAgent(['-c', b.config, ...b.mock]);
    await a.until((l) => l.msg === 'ready');
    const next = CONFIG + FUNC2;
    await saveByRename(b.config, next);
    await a.until((l) => l.msg === 'config changed: reloading');
    await a.until(isConverged('config-changed', 'applied'));
    await expectBoardMatches(b.config, b.mock);
    // A second save, of the first config again: watched still (the watch survived the rename).
    await saveByRename(b.config, CONFIG);
    await a.until(isConverged('config-changed', 'applied'), 2);
    await expectBoardMatches(b.config, b.mock);
    expect(a.count((l) => l.msg === 'SIGHUP: reloading')).toBe(0);

    a.child.kill('SIGTERM');
    expect((await a.child).exitCode).toBe(0);
  }, 60_000);

  it('refuses a config written while it runs that is not YAML or not valid: logs the error naming the file, keeps the board and serves the error, then applies a good one', async () => {
    const b = await board();
    const good = path.join(b.dir, 'good.yaml');
    await fs.writeFile(good, CONFIG);
    const a = startAgent(['-c', b.config, ...b.mock, '--metrics', '127.0.0.1:0']);
    await a.until((l) => l.msg === 'ready');
    const refused = (l: Line): boolean => l.msg === 'config refused: the last good config stays in use';

    // Not YAML.
    await fs.writeFile(b.config, 'version: 1\nfunctions: [\n');
    await a.until(refused);
    expect(a.lines.find(refused)).toMatchObject({ level: 50, file: b.config, error: expect.stringContaining(`${b.config}:`) });
    await expectBoardMatches(good, b.mock);
    let s = (await api(b.socket)).body as AgentStatus;
    expect(s.config.error).toContain(b.config);
    // The board is still converged to the last good config.
    expect(s.lastApply).toMatchObject({ reason: 'start', outcome: 'applied' });
    expect(s.board?.ownership?.functions.map((f) => f.split('/').pop())).toEqual(['func1']);

    // YAML, but not a valid config (msi_interrupts is 1..32).
    await fs.writeFile(b.config, CONFIG.replace('msi_interrupts: 16', 'msi_interrupts: 99'));
    await a.until(refused, 2);
    const second = a.lines.filter(refused)[1]!;
    expect(second).toMatchObject({ file: b.config, error: expect.stringContaining('msi_interrupts') });
    expect(String(second.error)).toContain(`${b.config}:`);
    await expectBoardMatches(good, b.mock);
    s = (await api(b.socket)).body as AgentStatus;
    expect(s.config.error).toContain('msi_interrupts');
    expect(a.count((l) => l.msg === 'converged')).toBe(1);
    // Both refusals counted, no apply.
    const listen = a.lines.find((l) => l.msg === 'metrics listening')!.listen as string;
    const fams = parsePromText(await (await fetch(`http://${listen}/metrics`)).text());
    expect(fams.get('epctl_config_reload_errors_total')?.samples[0]?.value).toBe(2);
    expect(fams.get('epctl_applies_total')?.samples.find((x) => x.labels['outcome'] === 'applied')?.value).toBe(1);

    // A good one: applied, and the error is gone.
    const next = CONFIG + FUNC2;
    await fs.writeFile(b.config, next);
    await a.until(isConverged('config-changed', 'applied'));
    await expectBoardMatches(b.config, b.mock);
    s = (await api(b.socket)).body as AgentStatus;
    expect(s.config.error).toBeNull();
    expect(s.phase).toBe('converged');

    a.child.kill('SIGTERM');
    expect((await a.child).exitCode).toBe(0);
  }, 60_000);
});

describe('epctl agent exit codes', () => {
  it('exits 65 at start on a config that is not valid, the error naming the file and line, no stack trace, nothing applied', async () => {
    for (const [text, says] of [
      ['version: 1\nfunctions: [\n', 'YAML'],
      ['version: 1\nfunctions: 3\n', 'functions'],
    ] as const) {
      const b = await board(text);
      const a = startAgent(['-c', b.config, ...b.mock]);
      const end = await a.child;
      expect(end.exitCode, `${says}: ${JSON.stringify(a.lines)}`).toBe(65);
      const err = a.lines.find((l) => l.msg === 'config refused: nothing to apply until it is fixed');
      expect(err, JSON.stringify(a.lines)).toMatchObject({ level: 50, file: b.config, error: expect.stringMatching(new RegExp(`^${b.config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `)) });
      expect(typeof err!.hint).toBe('string');
      expect(noStackTrace({ exitCode: 65, stdout: '', stderr: a.stderr() })).toBe(true);
      expect(a.lines.some((l) => /\n\s+at .+:\d+:\d+/.test(JSON.stringify(l)))).toBe(false);
      expect(a.count((l) => l.msg === 'converged' || l.msg === 'ready')).toBe(0);
      // Nothing left behind: no socket, no agent marker.
      expect((await fs.readdir(b.dir)).filter((f) => f.includes('sock') || f.endsWith('.agent'))).toEqual([]);
    }
  }, 60_000);

  const UNREACHABLE = `version: 1
agent: { wait_timeout_s: 1, drift_interval_s: 0 }
functions:
  - { driver: pci_epf_test, name: func1, controller: nosuch.pcie-ep, header: { vendorid: 0x104c, deviceid: 0xb500 } }
`;

  it('exits 1 when its first apply cannot converge (a controller the board does not have, after waiting for it)', async () => {
    const b = await board(UNREACHABLE);
    const a = startAgent(['-c', b.config, ...b.mock]);
    const end = await a.child;
    expect(end.exitCode, JSON.stringify(a.lines)).toBe(1);
    expect(a.lines.find((l) => l.msg.startsWith('gave up waiting for controllers'))).toMatchObject({ missing: ['nosuch.pcie-ep'] });
    const failed = a.lines.find((l) => l.msg === 'apply did not converge');
    expect(failed).toMatchObject({ reason: 'start' });
    expect(JSON.stringify(failed!.errors)).toContain('nosuch.pcie-ep');
    expect(a.count((l) => l.msg === 'ready')).toBe(0);
    expect(noStackTrace({ exitCode: 1, stdout: '', stderr: a.stderr() })).toBe(true);
    expect((await fs.readdir(b.dir)).filter((f) => f.includes('sock') || f.endsWith('.agent'))).toEqual([]);
  }, 60_000);

  it('with agent.ready_on_failure: true the same failure keeps it running, ready, its status saying failed', async () => {
    const b = await board(UNREACHABLE.replace('wait_timeout_s: 1,', 'wait_timeout_s: 1, ready_on_failure: true,'));
    const a = startAgent(['-c', b.config, ...b.mock]);
    await a.until((l) => l.msg === 'ready');
    expect(a.lines.find((l) => l.msg === 'ready')).toMatchObject({ phase: 'failed' });
    expect(a.lines.findIndex((l) => l.msg === 'apply did not converge')).toBeLessThan(a.lines.findIndex((l) => l.msg === 'ready'));
    // Still there a moment later, answering.
    await new Promise((r) => setTimeout(r, 500));
    expect(a.child.exitCode).toBeNull();
    const s = (await api(b.socket)).body as AgentStatus;
    expect(s.phase).toBe('failed');
    expect(s.lastApply).toMatchObject({ reason: 'start' });
    expect(s.lastApply!.outcome).not.toBe('applied');
    expect((await api(b.socket, '/v1/health')).status).toBe(503);
    a.child.kill('SIGTERM');
    expect((await a.child).exitCode).toBe(0);
  }, 60_000);
});

describe('epctl agent --metrics', () => {
  it('serves /metrics on 127.0.0.1:0 as strict text format with the first apply counted', async () => {
    const b = await board();
    const a = startAgent(['-c', b.config, ...b.mock, '--metrics', '127.0.0.1:0']);
    await a.until((l) => l.msg === 'ready');
    const listen = a.lines.find((l) => l.msg === 'metrics listening')?.listen;
    expect(listen).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
    const res = await fetch(`http://${listen as string}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const fams = parsePromText(await res.text());
    const applies = fams.get('epctl_applies_total');
    expect(applies?.type).toBe('counter');
    const by = Object.fromEntries(applies!.samples.map((x) => [x.labels['outcome'], x.value]));
    expect(by).toEqual({ nothing: 0, applied: 1, refused: 0, failed: 0 });
    expect(fams.get('epctl_apply_failures_total')?.samples[0]?.value).toBe(0);
    expect(fams.get('epctl_config_reload_errors_total')?.samples[0]?.value).toBe(0);
    const phase = fams.get('epctl_agent_phase')!.samples.filter((x) => x.value === 1).map((x) => x.labels['phase']);
    expect(phase).toEqual(['converged']);
    expect(fams.has('process_cpu_user_seconds_total')).toBe(true);

    // A SIGHUP with the config unchanged: a plan with nothing to do, counted as such.
    a.child.kill('SIGHUP');
    await a.until(isConverged('sighup', 'nothing'));
    const again = parsePromText(await (await fetch(`http://${listen as string}/metrics`)).text());
    expect(Object.fromEntries(again.get('epctl_applies_total')!.samples.map((x) => [x.labels['outcome'], x.value]))).toEqual({ nothing: 1, applied: 1, refused: 0, failed: 0 });

    a.child.kill('SIGTERM');
    expect((await a.child).exitCode).toBe(0);
  }, 60_000);

  it('refuses --metrics 0.0.0.0:PORT without --metrics-allow-remote: a usage error naming the flag, exit 64, at once, nothing left behind', async () => {
    const b = await board();
    const r = await epctl(['agent', '-c', b.config, ...b.mock, '--metrics', '0.0.0.0:9464'], { timeout: 15_000 });
    expect(r.exitCode, r.stderr).toBe(64);
    expect(isOneLineRefusal(r), r.stderr).toBe(true);
    expect(noStackTrace(r)).toBe(true);
    expect(r.stderr).toContain('0.0.0.0');
    expect(r.stderr).toContain('--metrics-allow-remote');
    // Refused before the board was touched or the status socket opened.
    expect((await fs.readdir(b.dir)).sort()).toEqual(['epctl.yaml']);
  }, 30_000);

  it('a metrics port already taken ends it with exit 1 naming the address, its status socket removed, at once', async () => {
    const b = await board();
    const taken = http.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    try {
      const port = (taken.address() as import('node:net').AddressInfo).port;
      const r = await epctl(['agent', '-c', b.config, ...b.mock, '--metrics', `127.0.0.1:${port}`], { timeout: 15_000 });
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stderr).toContain(`127.0.0.1:${port}: cannot listen (EADDRINUSE)`);
      expect(noStackTrace(r)).toBe(true);
      expect(await fs.readdir(b.dir)).not.toContain('board.json.agent.sock');
    } finally {
      await new Promise((r) => taken.close(r));
    }
  }, 30_000);
});

/**
 * A python3 receiver of AF_UNIX datagrams bound at SOCK, as systemd's notify socket is; each
 * datagram is printed as a JSON string on its own line. Resolves once it is bound.
 */
async function notifyReceiver(sock: string) {
  const script = [
    'import json, socket, sys',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    's.bind(sys.argv[1])',
    'print(json.dumps("BOUND"), flush=True)',
    'while True:',
    '    print(json.dumps(s.recv(65536).decode()), flush=True)',
  ].join('\n');
  const child = track(execa('python3', ['-u', '-c', script, sock], { reject: false, stdin: 'ignore', buffer: false }));
  const messages: string[] = [];
  eachLine(child.stdout!, (line) => messages.push(JSON.parse(line) as string));
  await until(() => messages.includes('BOUND'), () => messages, 10_000);
  messages.splice(0);
  return { child, messages };
}

/**
 * An agent whose config (agent section AGENT, then anything after it) names a controller the
 * board lacks, with a notify receiver: resolved once its STATUS= says it waits for it.
 */
async function waitingAgent(agent: string) {
  const b = await board(`version: 1\nagent: ${agent}\nfunctions:\n${FUNC1.replace('controller: auto', 'controller: nosuch.pcie-ep')}`);
  const rx = await notifyReceiver(path.join(b.dir, 'notify.sock'));
  const a = startAgent(['-c', b.config, ...b.mock], { NOTIFY_SOCKET: path.join(b.dir, 'notify.sock') });
  // systemd-notify (systemd 252+) follows each message with a BARRIER=1 of its own.
  const sent = (): string[] => rx.messages.filter((m) => m !== 'BARRIER=1');
  await until(() => sent().some((m) => m.startsWith('STATUS=waiting for nosuch.pcie-ep')), () => ({ messages: rx.messages, lines: a.lines }), 15_000);
  return { b, a, rx, sent };
}

describe('epctl agent and systemd (sd_notify through /usr/bin/systemd-notify)', () => {
  it('sends STATUS while starting and applying, READY=1 once converged, WATCHDOG=1 about every second, STOPPING=1 on SIGTERM', async () => {
    const b = await board();
    const sock = path.join(b.dir, 'notify.sock');
    const rx = await notifyReceiver(sock);
    // Each received message, with the agent's log lines seen by then.
    const seen: { msg: string; logged: number }[] = [];
    const a = startAgent(['-c', b.config, ...b.mock], { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '2000000' });
    rx.child.stdout!.on('data', () => {
      for (const m of rx.messages.slice(seen.length)) seen.push({ msg: m, logged: a.lines.length });
    });
    // systemd-notify (systemd 252+) follows each message with a BARRIER=1 of its own.
    const sent = (): string[] => rx.messages.filter((m) => m !== 'BARRIER=1');
    const fields = (m: string): Record<string, string> => Object.fromEntries(m.split('\n').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    await a.until((l) => l.msg === 'ready');
    await until(() => sent().some((m) => fields(m)['READY'] === '1'), () => ({ messages: rx.messages, lines: a.lines }), 10_000);

    const before = sent().slice(0, sent().findIndex((m) => fields(m)['READY'] === '1'));
    expect(before.map((m) => fields(m)['STATUS'])).toEqual([`reading ${b.config}`, `applying ${b.config} (start)`, expect.stringMatching(new RegExp(`^converged to ${b.config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))]);
    const ready = fields(sent().find((m) => fields(m)['READY'] === '1')!);
    expect(ready['STATUS']).toMatch(/^converged to /);
    // READY=1 came after the agent logged 'converged'.
    const convergedAt = a.lines.findIndex((l) => l.msg === 'converged');
    expect(convergedAt).toBeGreaterThanOrEqual(0);
    const readySeen = seen.find((x) => fields(x.msg)['READY'] === '1');
    expect(readySeen).toBeDefined();
    expect(readySeen!.logged).toBeGreaterThan(convergedAt);

    // WATCHDOG_USEC=2 s: pings at half of it, so at least two in a generous window.
    await until(() => sent().filter((m) => m === 'WATCHDOG=1').length >= 2, () => rx.messages, 10_000);
    const pingsAfterReady = sent().slice(sent().findIndex((m) => fields(m)['READY'] === '1')).filter((m) => m === 'WATCHDOG=1');
    expect(pingsAfterReady.length).toBeGreaterThanOrEqual(2);
    expect(sent().slice(0, sent().findIndex((m) => fields(m)['READY'] === '1'))).not.toContain('WATCHDOG=1');

    a.child.kill('SIGTERM');
    const end = await a.child;
    expect(end.exitCode).toBe(0);
    await until(() => sent().includes('STOPPING=1'), () => rx.messages, 5000);
    const stoppingAt = sent().indexOf('STOPPING=1');
    expect(sent().slice(stoppingAt + 1).some((m) => fields(m)['READY'] === '1')).toBe(false);
    expect(a.lines.some((l) => l.msg === 'systemd-notify failed')).toBe(false);
  }, 60_000);

  it('a SIGHUP while it waits for its controllers sends no READY=1 or RELOADING=1 and applies nothing: the start applies the config read, READY once', async () => {
    const { b, a, sent, rx } = await waitingAgent('{ wait_timeout_s: 20, drift_interval_s: 0 }\ncontrollers: { nosuch.pcie-ep: { start: true } }');
    // The same config again: nothing applied, nothing told to systemd, still waiting.
    a.child.kill('SIGHUP');
    await a.until((l) => l.msg === 'config read during the start: applied by the first apply, or right after it');
    await new Promise((r) => setTimeout(r, 500));
    expect(sent().filter((m) => /^(READY|RELOADING)=1|STATUS=applying/m.test(m))).toEqual([]);
    expect(a.count((l) => l.msg === 'converged' || l.msg === 'apply did not converge')).toBe(0);
    // Now the config names the board's controller: the wait ends and the start applies it.
    await fs.writeFile(b.config, CONFIG);
    a.child.kill('SIGHUP');
    await a.until((l) => l.msg === 'ready');
    expect(a.lines.find((l) => l.msg === 'converged')).toMatchObject({ reason: 'start', outcome: 'applied' });
    await expectBoardMatches(b.config, b.mock);
    await until(() => sent().some((m) => m.startsWith('READY=1')), () => rx.messages, 10_000);
    const firstReady = sent().findIndex((m) => m.startsWith('READY=1'));
    expect(sent()[firstReady]).toMatch(/\nSTATUS=converged to /);
    expect(sent().slice(0, firstReady).some((m) => m.startsWith('RELOADING=1'))).toBe(false);
    a.child.kill('SIGTERM');
    expect((await a.child).exitCode).toBe(0);
  }, 60_000);

  it('SIGTERM while it waits for its controllers: STOPPING=1, no READY=1, nothing applied, exit 0 (a stop, not a failure)', async () => {
    const { b, a, sent, rx } = await waitingAgent('{ wait_timeout_s: 60, drift_interval_s: 0 }');
    a.child.kill('SIGTERM');
    const end = await a.child;
    expect(end.exitCode, JSON.stringify(a.lines)).toBe(0);
    await until(() => sent().includes('STOPPING=1'), () => rx.messages, 5000);
    expect(sent().filter((m) => /^READY=1|STATUS=applying/m.test(m))).toEqual([]);
    expect(a.count((l) => l.msg === 'converged' || l.msg === 'apply did not converge')).toBe(0);
    expect((await fs.readdir(b.dir)).filter((f) => f.includes('.agent'))).toEqual([]);
  }, 60_000);

  it('sends STATUS lines while waiting for a controller, then READY=1 with the failure when agent.ready_on_failure says so', async () => {
    const b = await board(`version: 1
agent: { wait_timeout_s: 2, drift_interval_s: 0, ready_on_failure: true }
functions:
  - { driver: pci_epf_test, name: func1, controller: nosuch.pcie-ep, header: { vendorid: 0x104c, deviceid: 0xb500 } }
`);
    const sock = path.join(b.dir, 'notify.sock');
    const rx = await notifyReceiver(sock);
    const a = startAgent(['-c', b.config, ...b.mock], { NOTIFY_SOCKET: sock });
    const sent = (): string[] => rx.messages.filter((m) => m !== 'BARRIER=1');
    await a.until((l) => l.msg === 'ready');
    await until(() => sent().some((m) => m.startsWith('READY=1')), () => rx.messages, 10_000);
    const waiting = sent().filter((m) => m.startsWith('STATUS=waiting for nosuch.pcie-ep'));
    expect(waiting.length, JSON.stringify(sent())).toBeGreaterThanOrEqual(1);
    expect(waiting[0]).toMatch(/^STATUS=waiting for nosuch\.pcie-ep \(\d+ of 2 s\)$/);
    const ready = sent().find((m) => m.startsWith('READY=1'))!;
    expect(ready).toMatch(/\nSTATUS=refused: /);
    // No watchdog asked for (no WATCHDOG_USEC): no pings.
    expect(sent()).not.toContain('WATCHDOG=1');
    a.child.kill('SIGTERM');
    expect((await a.child).exitCode).toBe(0);
    await until(() => sent().includes('STOPPING=1'), () => rx.messages, 5000);
  }, 60_000);
});
