// The status API on a real unix socket in a temp directory: routes, mode and group, the stale
// socket rule, the event stream's baseline and its bounds, and the CLI client's errors.
import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { tempDirs } from '../../test/helpers/tmp.js';
import { startApi, type AgentStreamEvent, type ApiServer, type ApiOptions } from './api.js';
import { agentGet, agentStream } from './client.js';
import { parseGroupFile } from './group.js';
import type { AgentStatus } from './status.js';
import { agentStatus, ring } from '../../test/helpers/agent.js';
import { EXIT } from '../exit-codes.js';
import { EpctlError } from '../kernel/errors.js';

const tmp = tempDirs('epctl-api', { each: true });

/** An event source the test drives, as the agent core will. */
function bus(): { events: ApiOptions['events']; emit(e: AgentStreamEvent): void; readonly listeners: number } {
  const set = new Set<(e: AgentStreamEvent) => void>();
  return {
    events: (l) => {
      set.add(l);
      return () => set.delete(l);
    },
    emit: (e) => {
      for (const l of set) l(e);
    },
    get listeners() {
      return set.size;
    },
  };
}

const logs: Array<{ obj: object; msg?: string }> = [];
const log = { info: (obj: object, msg?: string) => logs.push({ obj, msg }), warn: (obj: object, msg?: string) => logs.push({ obj, msg }) };

const servers: ApiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  logs.length = 0;
});

async function start(opts: Partial<ApiOptions> & { dir?: string } = {}): Promise<{ api: ApiServer; sock: string; b: ReturnType<typeof bus>; status: { now: AgentStatus } }> {
  const dir = opts.dir ?? (await tmp());
  const sock = opts.socketPath ?? path.join(dir, 'agent.sock');
  const b = bus();
  const status = { now: agentStatus() };
  const api = await startApi({ socketPath: sock, status: () => status.now, events: b.events, log, now: () => 500.25, ...opts });
  servers.push(api);
  return { api, sock, b, status };
}

/** One raw HTTP exchange on the socket: what a client sees, headers and all. */
function raw(sock: string, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(sock);
    let out = '';
    s.setEncoding('utf8');
    s.on('connect', () => s.write(request));
    s.on('data', (d: string) => (out += d));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

function request(sock: string, method: string, route: string, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, method, path: route }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('status API routes', () => {
  it('GET /v1/status is the AgentStatus as JSON; HEAD the same without a body; a request body is ignored', async () => {
    const { sock, status } = await start();
    const r = await request(sock, 'GET', '/v1/status', 'ignored body');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(JSON.parse(r.text)).toEqual(JSON.parse(JSON.stringify(status.now)));
    const h = await request(sock, 'HEAD', '/v1/status');
    expect([h.status, h.text]).toEqual([200, '']);
    expect((await agentGet(sock, '/v1/status')).body).toMatchObject({ pid: 4242, phase: 'converged' });
  });

  it('GET /v1/health: 200 when converged, 503 with the phase otherwise', async () => {
    const { sock, status } = await start();
    expect(await agentGet(sock, '/v1/health')).toEqual({ status: 200, body: { ok: true, phase: 'converged' } });
    status.now = agentStatus({ phase: 'waiting', statusLine: 'waiting for 4c300000.pcie-ep' });
    expect(await agentGet(sock, '/v1/health')).toEqual({ status: 503, body: { ok: false, phase: 'waiting', statusLine: 'waiting for 4c300000.pcie-ep' } });
  });

  it('404 for an unknown path, 405 with Allow for another method, both JSON errors', async () => {
    const { sock } = await start();
    const nf = await request(sock, 'GET', '/v2/status');
    expect(nf.status).toBe(404);
    expect(JSON.parse(nf.text).error).toMatchObject({ status: 404, message: 'no such route: /v2/status' });
    const na = await request(sock, 'POST', '/v1/status', '{"phase":"failed"}');
    expect(na.status).toBe(405);
    expect(na.headers.allow).toBe('GET, HEAD');
    expect(JSON.parse(na.text).error.status).toBe(405);
  });

  it('every response closes its connection: pipelined requests get one answer', async () => {
    const { sock } = await start();
    const out = await raw(sock, 'GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(50));
    expect(out.match(/^HTTP\/1\.1 /gm)).toHaveLength(1);
  });
});

describe('the socket', () => {
  it('is mode 0660 and given the configured group (by name from the group file)', async () => {
    const dir = await tmp();
    const groupFile = path.join(dir, 'group');
    const gid = process.getgid!();
    await fs.writeFile(groupFile, `# a comment\nroot:x:0:\n+nis\nbroken line\nepctl-test:x:${gid}:alice,bob\n`);
    const { sock } = await start({ dir, group: 'epctl-test', groupFile });
    const st = await fs.stat(sock);
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.gid).toBe(gid);
    expect(st.isSocket()).toBe(true);
  });

  it('a group missing from the group file is a clear error, and nothing is left behind', async () => {
    const dir = await tmp();
    const groupFile = path.join(dir, 'group');
    await fs.writeFile(groupFile, 'root:x:0:\n');
    const e = await startApi({ socketPath: path.join(dir, 'agent.sock'), group: 'epctl', groupFile, status: () => agentStatus(), events: () => () => undefined, log }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(EpctlError);
    expect((e as EpctlError).message).toBe(`socket group epctl: there is no such group in ${groupFile}`);
    expect((e as EpctlError).hint).toContain('groupadd --system epctl');
    expect(await fs.readdir(dir)).toEqual(['group']);
  });

  it('close removes the socket file', async () => {
    const { api, sock } = await start();
    await api.close();
    await expect(fs.lstat(sock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a stale socket (nothing answers) is removed and replaced', async () => {
    const dir = await tmp();
    const sock = path.join(dir, 'agent.sock');
    // A socket file nobody listens on: a second name of a listening socket, kept after the
    // listener closed (link(2) works on sockets; close unlinks only the first name).
    const other = net.createServer();
    await new Promise<void>((r) => other.listen(path.join(dir, 'old.sock'), r));
    await fs.link(path.join(dir, 'old.sock'), sock);
    await new Promise((r) => other.close(r));
    expect((await fs.lstat(sock)).isSocket()).toBe(true);
    await expect(agentGet(sock, '/v1/status')).rejects.toMatchObject({ exitCode: EXIT.AGENT_UNAVAILABLE, message: expect.stringContaining('ECONNREFUSED') });
    await start({ dir, socketPath: sock });
    expect((await agentGet(sock, '/v1/status')).status).toBe(200);
    expect(logs.some((l) => l.msg?.includes('stale'))).toBe(true);
  });

  it('refuses to start while another agent answers, naming it', async () => {
    const { sock } = await start();
    const e = (await startApi({ socketPath: sock, status: () => agentStatus(), events: () => () => undefined, log }).catch((x: unknown) => x)) as EpctlError;
    expect(e.message).toBe(`another epctl agent (pid 4242, converged) answers on ${sock}`);
    expect(e.hint).toContain('systemctl stop epctl');
    expect((await agentGet(sock, '/v1/health')).status).toBe(200);
  });

  it('will not remove a file that is not a socket', async () => {
    const dir = await tmp();
    const sock = path.join(dir, 'agent.sock');
    await fs.writeFile(sock, 'data');
    await expect(startApi({ socketPath: sock, status: () => agentStatus(), events: () => () => undefined, log })).rejects.toThrow(`${sock} exists and is not a socket`);
    expect(await fs.readFile(sock, 'utf8')).toBe('data');
  });
});

describe('the event stream', () => {
  it('starts with the current counts as allocated lines, then each event as `doorbell watch --json` prints it', async () => {
    const { sock, b } = await start();
    const ac = new AbortController();
    const lines: string[] = [];
    const done = agentStream(sock, '/v1/doorbells/events', ac.signal, (l) => {
      lines.push(l);
      if (lines.length === 2) b.emit(ring(77, 13));
      if (lines.length === 2) b.emit({ time: 501, event: 'lost', cpu: 1, count: 3 });
      if (lines.length === 4) ac.abort();
    });
    await done;
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { time: 500.25, event: 'allocated', controller: '4c300000.pcie-ep', virq: 77, index: 0, chip: 'ITS-pMSI-4c300000.pcie-ep', action: 'pci_epf_vntb_db', count: 12, delta: 0, rate: 0 },
      { time: 500.25, event: 'allocated', controller: null, virq: 78, index: null, chip: 'dw-edma-emul', action: 'pci-ep-test-doorbell', count: 0, delta: 0, rate: 0 },
      { time: 100.013, event: 'rung', controller: '4c300000.pcie-ep', virq: 77, index: 0, chip: 'ITS-pMSI-4c300000.pcie-ep', action: 'pci_epf_vntb_db', count: 13, delta: 1, rate: 1 },
      { time: 501, event: 'lost', cpu: 1, count: 3 },
    ]);
    // The client went: its subscription goes with it.
    await expect.poll(() => b.listeners).toBe(0);
  });

  it('a client that does not read is dropped with a last line saying so; memory stays bounded', async () => {
    const { sock, b, api } = await start({ limits: { bufferedEvents: 50 } });
    const res = await new Promise<http.IncomingMessage>((r, j) => http.get({ socketPath: sock, path: '/v1/doorbells/events' }, r).on('error', j));
    // The client stops reading: the socket buffers fill, then the agent's queue.
    res.pause();
    await expect.poll(() => api.streams).toBe(1);
    // Far more than the socket buffers hold: the agent must stop queueing.
    for (let i = 0; i < 40_000 && b.listeners > 0; i++) {
      b.emit(ring(77, i));
      if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
    }
    expect(b.listeners).toBe(0);
    expect(api.streams).toBe(0);
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => (text += d));
    res.resume();
    await new Promise((r) => res.once('end', r));
    const lines = text.trimEnd().split('\n');
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ event: 'dropped', buffered: 51, reason: expect.stringContaining('did not read the stream fast enough') });
    expect(lines.slice(0, -1).every((l) => JSON.parse(l).event !== 'dropped')).toBe(true);
    expect(logs.some((l) => l.msg === 'dropped an event stream client that did not keep up')).toBe(true);
  });

  it('caps event streams and connections with 503s', async () => {
    const { sock } = await start({ limits: { streams: 1, connections: 3 } });
    const ac = new AbortController();
    const first = agentStream(sock, '/v1/doorbells/events', ac.signal, () => undefined);
    await expect.poll(async () => (await agentGet(sock, '/v1/status')).status).toBe(200);
    await expect(agentStream(sock, '/v1/doorbells/events', new AbortController().signal, () => undefined)).rejects.toMatchObject({
      exitCode: EXIT.AGENT_UNAVAILABLE,
      message: expect.stringContaining('too many event streams open (1)'),
    });
    // The stream holds one connection; two idle ones fill the cap; the next is told why.
    const idle = await Promise.all([0, 1].map(() => new Promise<net.Socket>((r) => { const s = net.connect(sock, () => r(s)); })));
    const over = await raw(sock, 'GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(over).toMatch(/^HTTP\/1\.1 503 /);
    expect(over).toContain('too many connections to the agent (3)');
    for (const s of idle) s.destroy();
    ac.abort();
    await first;
  });

  it('close ends open streams; the client says the agent ended it (exit 69)', async () => {
    const { sock, api } = await start();
    const e = agentStream(sock, '/v1/doorbells/events', new AbortController().signal, () => undefined).catch((x: unknown) => x);
    await expect.poll(() => api.streams).toBe(1);
    await api.close();
    expect(await e).toMatchObject({ exitCode: EXIT.AGENT_UNAVAILABLE, message: `no epctl agent answers on ${sock}: the agent ended the event stream (it stopped or restarted)` });
  });
});

describe('the CLI client', () => {
  it('a missing socket: exit 69, the socket named, the fix', async () => {
    const dir = await tmp();
    const sock = path.join(dir, 'none.sock');
    const e = (await agentGet(sock, '/v1/status').catch((x: unknown) => x)) as EpctlError;
    expect(e.exitCode).toBe(EXIT.AGENT_UNAVAILABLE);
    expect(e.message).toBe(`no epctl agent answers on ${sock}: the socket does not exist (ENOENT)`);
    expect(e.hint).toContain('systemctl status epctl');
    expect(e.hint).toContain('without --agent');
  });
});

describe('parseGroupFile', () => {
  it('reads group(5) lines and skips what is not one', () => {
    expect(parseGroupFile('wheel:x:10:root,alice\r\n\n#c:x:1:\n+:::\nbad:x:ten:\nshort:x:5\nepctl:!:998:\n')).toEqual([
      { name: 'wheel', gid: 10, members: ['root', 'alice'] },
      { name: 'epctl', gid: 998, members: [] },
    ]);
  });
});
