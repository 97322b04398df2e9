// `epctl status --agent` and `epctl doorbell watch --agent` as a person runs them, against the
// status API (src/agent/api.ts) served in this process on a socket in a temp directory.
import { describe, it, expect, afterEach } from 'vitest';
import http from 'node:http';
import path from 'node:path';
import { execa } from 'execa';
import { BIN, epctl, isOneLineRefusal, noStackTrace } from '../helpers/cli.js';
import { tempDirs } from '../helpers/tmp.js';
import { agentStatus, ring } from '../helpers/agent.js';
import { startApi, type AgentStreamEvent, type ApiServer } from '../../src/agent/api.js';
import { openPort } from '../../src/kernel/open.js';
import { status as boardStatus } from '../../src/status/status.js';
import { renderStatus } from '../../src/cli/render/status.js';
import { eventLine } from '../../src/cli/render/watch.js';
import type { AgentStatus } from '../../src/agent/status.js';
import { EXIT } from '../../src/exit-codes.js';

const tmp = tempDirs('epctl-agentcli', { each: true });
const log = { info: () => undefined, warn: () => undefined };
const servers: ApiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(s: AgentStatus): Promise<{ sock: string; api: ApiServer; emit(e: AgentStreamEvent): void; dir: string }> {
  const dir = await tmp();
  const sock = path.join(dir, 'agent.sock');
  const listeners = new Set<(e: AgentStreamEvent) => void>();
  const api = await startApi({
    socketPath: sock,
    status: () => s,
    events: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    log,
    now: () => 42,
  });
  servers.push(api);
  return { sock, api, dir, emit: (e) => listeners.forEach((l) => l(e)) };
}

async function qemuBoard(): Promise<NonNullable<AgentStatus['board']>> {
  const o = await openPort({ mock: 'qemu-virt' });
  try {
    return await boardStatus(o.port);
  } finally {
    await o.close();
  }
}

describe('epctl status --agent', () => {
  it("prints the agent's life, then the board as `epctl status` renders it; --json is the AgentStatus as is", async () => {
    const board = await qemuBoard();
    const s = agentStatus({
      board,
      phase: 'failed',
      statusLine: 'failed: apply refused',
      config: { file: '/etc/epctl/board.yaml', loadedAt: '2026-11-30T10:00:01.000Z', sha256: 'ab'.repeat(32), error: 'board.yaml:3:5: functions.ntb.driver: unknown driver' },
      lastApply: { at: '2026-11-30T10:00:02.000Z', reason: 'drift', outcome: 'refused', operations: 0, errors: ['pci_epf_vntb/ntb: linked to 7e000000.pcie-ep by someone else'], durationMs: 9 },
      drift: { intervalS: 30, correct: false, detected: { at: '2026-11-30T10:05:00.000Z', operations: ['write functions/pci_epf_vntb/ntb/deviceid 0x0002'] }, lastCheckAt: '2026-11-30T10:05:00.000Z' },
      waitingFor: ['controller 7e000000.pcie-ep'],
    });
    const { sock, dir } = await serve(s);
    const r = await epctl(['status', '--agent', sock], { env: { TMPDIR: dir } });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const [life, rest] = [r.stdout.slice(0, r.stdout.indexOf('\nboard ')), r.stdout.slice(r.stdout.indexOf('\nboard ') + 1)];
    expect(life.split('\n')).toEqual([
      `agent      pid 4242 at ${sock}, started 2026-11-30T10:00:00.000Z`,
      'phase      failed',
      'status     failed: apply refused',
      `config     /etc/epctl/board.yaml (loaded 2026-11-30T10:00:01.000Z, sha256 ${'ab'.repeat(6)})`,
      '  error: board.yaml:3:5: functions.ntb.driver: unknown driver',
      '  (the last reload failed: the config loaded before it stays in use)',
      'waiting    for controller 7e000000.pcie-ep',
      'last apply 2026-11-30T10:00:02.000Z (drift): refused in 9 ms',
      '  error: pci_epf_vntb/ntb: linked to 7e000000.pcie-ep by someone else',
      'drift      checked every 30 s, reported only; last check 2026-11-30T10:05:00.000Z',
      '  detected 2026-11-30T10:05:00.000Z: 1 operation would bring the board back to the config',
      '    write functions/pci_epf_vntb/ntb/deviceid 0x0002',
      'applies    1 in total, 0 failed, 0 drift corrections',
      '',
    ]);
    // execa strips the output's final newline.
    expect(`${rest}\n`).toBe(renderStatus(board));
    const j = await epctl(['status', '--agent', sock, '--json'], { env: { TMPDIR: dir } });
    expect(j.exitCode).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual(JSON.parse(JSON.stringify(s)));
  });

  it('no agent on the socket: exit 69, one line naming the socket, the fix', async () => {
    const dir = await tmp();
    const sock = path.join(dir, 'agent.sock');
    for (const args of [['status', '--agent', sock], ['doorbell', 'watch', '--agent', sock]]) {
      const r = await epctl(args, { env: { TMPDIR: dir } });
      expect(r.exitCode).toBe(EXIT.AGENT_UNAVAILABLE);
      expect(isOneLineRefusal(r) && noStackTrace(r)).toBe(true);
      expect(r.stderr).toContain(`epctl: no epctl agent answers on ${sock}: the socket does not exist (ENOENT)`);
      expect(r.stderr).toContain('systemctl status epctl');
      expect(r.stderr).toContain('without --agent');
    }
  });

  it('board options and the watch source do not apply with --agent (exit 64)', async () => {
    const dir = await tmp();
    const sock = path.join(dir, 'agent.sock');
    const a = await epctl(['status', '--agent', sock, '--mock', 'qemu-virt'], { env: { TMPDIR: dir } });
    expect(a.exitCode).toBe(EXIT.USAGE);
    expect(a.stderr).toContain('--mock does not apply to `epctl status --agent`');
    const b = await epctl(['doorbell', 'watch', '--agent', sock, '--source', 'poll'], { env: { TMPDIR: dir } });
    expect(b.exitCode).toBe(EXIT.USAGE);
    expect(b.stderr).toContain('--source does not apply with --agent');
  });
});

describe('epctl doorbell watch --agent', () => {
  it('--json passes the lines through: the baseline, then the events; --count stops it', async () => {
    const { sock, api, emit, dir } = await serve(agentStatus());
    const child = execa(process.execPath, [BIN, 'doorbell', 'watch', '--agent', sock, '--json', '--count', '4'], { reject: false, env: { NO_COLOR: '1', TMPDIR: dir }, timeout: 20000 });
    await expect.poll(() => api.streams, { timeout: 10000 }).toBe(1);
    emit(ring(77, 13));
    emit({ time: 43, event: 'lost', cpu: 0, count: 2 });
    emit(ring(77, 14));
    emit(ring(77, 15));
    const r = await child;
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout).split('\n').filter(Boolean).map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ event: 'allocated', virq: 77, count: 12, controller: '4c300000.pcie-ep' }),
      expect.objectContaining({ event: 'allocated', virq: 78, count: 0, controller: null }),
      expect.objectContaining({ event: 'rung', count: 13 }),
      { time: 43, event: 'lost', cpu: 0, count: 2 },
      expect.objectContaining({ event: 'rung', count: 14 }),
    ]);
  });

  it('plain lines as the local watch prints them; --controller filters; the agent stopping is exit 69', async () => {
    const { sock, api, emit, dir } = await serve(agentStatus());
    const child = execa(process.execPath, [BIN, 'doorbell', 'watch', '--agent', sock, '--controller', '4c300000.pcie-ep'], { reject: false, env: { NO_COLOR: '1', TMPDIR: dir }, timeout: 20000 });
    await expect.poll(() => api.streams, { timeout: 10000 }).toBe(1);
    emit({ ...ring(90, 1), controller: 'other.pcie-ep', chip: 'ITS-pMSI-other.pcie-ep' });
    emit(ring(77, 13));
    // Let the client take them before the agent goes.
    await new Promise((r) => setTimeout(r, 300));
    await api.close();
    const r = await child;
    expect(r.exitCode).toBe(EXIT.AGENT_UNAVAILABLE);
    const agentNow = agentStatus();
    expect(String(r.stdout).split('\n').filter(Boolean)).toEqual([
      eventLine({ time: 42, event: 'allocated', controller: '4c300000.pcie-ep', virq: 77, index: 0, chip: agentNow.doorbells.counts[0]!.chip, action: 'pci_epf_vntb_db', count: 12, delta: 0, rate: 0 }),
      eventLine({ time: 42, event: 'allocated', controller: null, virq: 78, index: null, chip: 'dw-edma-emul', action: 'pci-ep-test-doorbell', count: 0, delta: 0, rate: 0 }),
      eventLine(ring(77, 13)),
    ]);
    expect(String(r.stderr)).toContain(`epctl: watching doorbells through the agent at ${sock}`);
    expect(String(r.stderr)).toContain('the agent ended the event stream (it stopped or restarted)');
    expect(noStackTrace({ exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) })).toBe(true);
  });

  it('the agent dropping this client (too slow): its last line passed through under --json, exit 1 with the reason', async () => {
    const dir = await tmp();
    const sock = path.join(dir, 'agent.sock');
    // The agent's side of a drop, as src/agent/api.ts writes it: lines, then the last one.
    const dropped = { time: 50, event: 'dropped', reason: 'the client did not read the stream fast enough: 1025 lines were waiting (the agent keeps at most 1024)', buffered: 1025 };
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
      res.end(`${JSON.stringify(ring(77, 13))}\n${JSON.stringify(dropped)}\n`);
    });
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const j = await epctl(['doorbell', 'watch', '--agent', sock, '--json'], { env: { TMPDIR: dir } });
      expect(j.exitCode).toBe(EXIT.ERROR);
      expect(j.stdout.split('\n').slice(0, 2).map((l) => JSON.parse(l))).toEqual([JSON.parse(JSON.stringify(ring(77, 13))), dropped]);
      const p = await epctl(['doorbell', 'watch', '--agent', sock], { env: { TMPDIR: dir } });
      expect(p.exitCode).toBe(EXIT.ERROR);
      expect(p.stdout).toBe(eventLine(ring(77, 13)));
      expect(p.stderr).toContain(`epctl: the agent at ${sock} dropped this watch: ${dropped.reason}`);
      expect(noStackTrace(p)).toBe(true);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
