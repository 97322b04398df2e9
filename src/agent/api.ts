// The agent's status API: HTTP/1.1 with JSON bodies on a unix socket (node:http over a
// node:net path listener), read by `epctl status --agent`, `epctl doorbell watch --agent` and
// curl (`curl --unix-socket /run/epctl/agent.sock http://localhost/v1/status`).
//
//   GET /v1/status           200 the AgentStatus (src/agent/status.ts)
//   GET /v1/health           200 {ok: true, phase} when converged; 503 {ok: false, phase, statusLine} otherwise
//   GET /v1/doorbells/events 200 NDJSON until the client goes: first the current counts as
//                            `allocated` lines (as `epctl doorbell watch` begins: its baseline,
//                            src/doorbell/watch.ts), then each DoorbellEvent / lost line as
//                            `doorbell watch --json` prints it (src/cli/render/watch.ts)
//   anything else            404 (unknown path) or 405 with Allow (other method), JSON {error}
//
// HEAD is answered as GET without the body (RFC 9110 9.3.2). Request bodies are ignored.
//
// Bounded, whatever clients do: each response is the last on its connection (Connection:
// close, so pipelined requests cannot queue responses); at most `connections` connections
// (more get a 503 and are closed) and `streams` event streams; a stream whose client reads
// too slowly holds at most `bufferedEvents` lines beyond the socket's own buffer, then gets a
// last `dropped` line and is closed (destroyed if it does not take even that in DROP_GRACE_MS).
//
// The socket: a stale file from a dead agent is removed (nothing answers a connect: ECONNREFUSED),
// never a live one (another agent answers: refused, naming its pid) nor a file that is not a
// socket. connect(2) on a unix socket needs write permission on it (unix(7)), so the mode is
// who may talk: 0660, owner and the configured group. The agent's unit runs with UMask=0077,
// so the socket is 0700 from bind(2) until the chmod, never wider.
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { AgentStatus } from './status.js';
import type { DoorbellEvent, LostEvents } from '../doorbell/watch.js';
import { eventJson, lostJson } from '../cli/render/watch.js';
import { EpctlError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';
import { resolveGroup } from './group.js';
import { agentGet } from './client.js';


/** What flows on the event stream: a doorbell event, or rings the trace lost. */
export type AgentStreamEvent = DoorbellEvent | LostEvents;

/** The stream's last line when the agent drops a client that does not keep up. */
export interface DroppedLine {
  time: number;
  event: 'dropped';
  reason: string;
  /** Lines that were waiting for the client. */
  buffered: number;
}

/** Structured log calls the API makes (pino's Logger has them). */
export interface ApiLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface ApiLimits {
  /** Open connections at once (default 64); more are answered 503 and closed. */
  connections: number;
  /** Event streams at once (default 16); more are answered 503. */
  streams: number;
  /** Lines a stream may hold for a slow client beyond the socket's buffer (default 1024). */
  bufferedEvents: number;
}

export const DEFAULT_LIMITS: ApiLimits = { connections: 64, streams: 16, bufferedEvents: 1024 };

export interface ApiOptions {
  socketPath: string;
  /** Group (name from /etc/group, or a number) given the socket; default: the agent's own. */
  group?: string;
  /** Default 0o660. */
  mode?: number;
  status: () => AgentStatus;
  /** Subscribes LISTENER to the agent's doorbell events; returns the unsubscribe. */
  events: (listener: (e: AgentStreamEvent) => void) => () => void;
  log: ApiLog;
  limits?: Partial<ApiLimits>;
  /** Where group names are resolved (default /etc/group; for tests). */
  groupFile?: string;
  /** Seconds since boot, the watch's clock (CLOCK_MONOTONIC), for the baseline lines. */
  now?: () => number;
}

export interface ApiServer {
  readonly socketPath: string;
  /** Event streams open now. */
  readonly streams: number;
  /** Ends the streams, closes the server and removes the socket file (if it is still ours). */
  close(): Promise<void>;
}

/** sun_path is UNIX_PATH_MAX (108) bytes with its NUL (include/uapi/linux/un.h): a longer path cannot be bound. */
const SUN_PATH_MAX = 107;
/** How long a dropped or ending stream may take to flush its last line before it is cut. */
const DROP_GRACE_MS = 2000;
/** How long the stale-socket check waits for an answer. */
const PROBE_TIMEOUT_MS = 1000;

const monotonic = (): number => Number(process.hrtime.bigint()) / 1e9;

/** The baseline of a stream: one `allocated` line per doorbell row the agent counts now, with its count. */
export function baselineEvents(status: AgentStatus, time: number): DoorbellEvent[] {
  return status.doorbells.counts.map((c) => ({
    time,
    event: 'allocated' as const,
    controller: c.controller,
    virq: c.virq,
    index: c.index ?? null,
    chip: c.chip,
    action: c.action,
    count: c.count,
    delta: 0,
    rate: 0,
  }));
}

const streamLine = (e: AgentStreamEvent): string => (e.event === 'lost' ? lostJson(e) : eventJson(e));

function sendJson(res: http.ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store', Connection: 'close', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

/** What answers on SOCKETPATH now: nothing (no file, or a stale socket) or an agent (its pid if it said). */
async function probe(socketPath: string): Promise<{ state: 'none' } | { state: 'stale' } | { state: 'alive'; who: string }> {
  let st;
  try {
    st = await fs.lstat(socketPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'none' };
    throw e;
  }
  if (!st.isSocket())
    throw new EpctlError(`${socketPath} exists and is not a socket: the agent will not remove it`, { exitCode: EXIT.ERROR, hint: `move that file away, or give the agent another socket path` });
  const connected = await new Promise<boolean>((resolve, reject) => {
    const s = net.connect(socketPath);
    const t = setTimeout(() => {
      s.destroy();
      resolve(true); // accepted nothing in time but did not refuse: something holds it
    }, PROBE_TIMEOUT_MS);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT') resolve(false);
      else reject(e);
    });
  });
  if (!connected) return { state: 'stale' };
  // Someone listens: say who, if it is an agent that answers its status.
  // Through the CLI's own client (its size and time limits); anything but an agent's status is "not an agent".
  const who = await agentGet(socketPath, '/v1/status').then(
    ({ body }) => {
      const s = body as Partial<AgentStatus> | null;
      return s?.format === 'epctl-agent-status' ? `another epctl agent (pid ${s.pid}, ${s.phase})` : 'a program that is not an epctl agent';
    },
    () => 'a program that is not an epctl agent',
  );
  return { state: 'alive', who };
}

/** Starts the status API on OPTS.socketPath; resolves once it listens with its mode and group. */
export async function startApi(opts: ApiOptions): Promise<ApiServer> {
  const limits: ApiLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const mode = opts.mode ?? 0o660;
  const socketPath = path.resolve(opts.socketPath);
  const now = opts.now ?? monotonic;
  const log = opts.log;
  if (Buffer.byteLength(socketPath) > SUN_PATH_MAX)
    throw new EpctlError(`socket path ${socketPath} is ${Buffer.byteLength(socketPath)} bytes: a unix socket path holds at most ${SUN_PATH_MAX}`, { exitCode: EXIT.USAGE, hint: 'give a shorter socket path' });
  // Before anything is bound: a missing group is refused with nothing to undo.
  const gid = opts.group === undefined ? undefined : await resolveGroup(opts.group, opts.groupFile);

  const found = await probe(socketPath);
  if (found.state === 'alive')
    throw new EpctlError(`${found.who} answers on ${socketPath}`, { exitCode: EXIT.ERROR, hint: 'stop it first (systemctl stop epctl), or give this agent another socket path' });
  if (found.state === 'stale') {
    await fs.unlink(socketPath).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
    log.info({ socket: socketPath }, 'removed a stale socket (nothing answered on it)');
  }
  await fs.mkdir(path.dirname(socketPath), { recursive: true, mode: 0o755 });

  const streams = new Set<{ end(reason?: string): void }>();
  let connections = 0;
  let closing = false;

  const server = http.createServer((req, res) => {
    // Bodies are ignored: read and dropped, so a client that sends one is not stalled.
    req.resume();
    if (overLimit.has(req.socket)) return sendJson(res, 503, { error: { status: 503, message: `too many connections to the agent (${limits.connections})` } }, { 'Retry-After': '5' });
    const url = (req.url ?? '/').split('?')[0] ?? '/';
    const route = url === '/v1/status' || url === '/v1/health' || url === '/v1/doorbells/events' ? url : undefined;
    if (!route) return sendJson(res, 404, { error: { status: 404, message: `no such route: ${url}`, routes: ['/v1/status', '/v1/health', '/v1/doorbells/events'] } });
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: { status: 405, message: `${req.method} is not allowed on ${route}: use GET` } }, { Allow: 'GET, HEAD' });
    let status: AgentStatus;
    try {
      status = opts.status();
    } catch (e) {
      log.warn({ err: e, route }, 'the status provider failed');
      return sendJson(res, 500, { error: { status: 500, message: `the agent could not give its status: ${(e as Error).message}` } });
    }
    if (route === '/v1/status') return sendJson(res, 200, status);
    if (route === '/v1/health') return status.phase === 'converged' ? sendJson(res, 200, { ok: true, phase: status.phase }) : sendJson(res, 503, { ok: false, phase: status.phase, statusLine: status.statusLine });
    if (streams.size >= limits.streams || closing)
      return sendJson(res, 503, { error: { status: 503, message: closing ? 'the agent is stopping' : `too many event streams open (${limits.streams})` } }, closing ? {} : { 'Retry-After': '5' });
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store', Connection: 'close', 'X-Content-Type-Options': 'nosniff' });
    if (req.method === 'HEAD') return res.end();
    openStream(status, res);
  });
  // A request must arrive whole soon; a stream then lives as long as its client reads.
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;

  // Over the cap a connection is still answered (503, so the client learns why) but has
  // DROP_GRACE_MS to send its request; past twice the cap the kernel's accept is closed at once
  // (net.Server maxConnections).
  const overLimit = new WeakSet<net.Socket>();
  server.maxConnections = limits.connections * 2;
  server.on('connection', (socket: net.Socket) => {
    connections++;
    socket.once('close', () => connections--);
    if (connections > limits.connections) {
      overLimit.add(socket);
      setTimeout(() => socket.destroy(), DROP_GRACE_MS).unref();
    }
  });

  function openStream(status: AgentStatus, res: http.ServerResponse): void {
    const queue: string[] = [];
    let waiting = false;
    let ended = false;
    const flush = (): void => {
      waiting = false;
      while (queue.length > 0 && !ended) {
        if (!res.write(queue.shift()!)) {
          waiting = true;
          return;
        }
      }
    };
    const push = (line: string): void => {
      if (ended) return;
      if (waiting) {
        queue.push(line);
        if (queue.length > limits.bufferedEvents) {
          const dropped: DroppedLine = { time: now(), event: 'dropped', reason: `the client did not read the stream fast enough: ${queue.length} lines were waiting (the agent keeps at most ${limits.bufferedEvents})`, buffered: queue.length };
          log.warn({ buffered: queue.length }, 'dropped an event stream client that did not keep up');
          queue.length = 0;
          end(JSON.stringify(dropped) + '\n');
        }
        return;
      }
      if (!res.write(line)) waiting = true;
    };
    res.on('drain', flush);
    const unsubscribe = opts.events((e) => push(streamLine(e) + '\n'));
    const stream = {
      end: (last?: string) => end(last),
    };
    function end(last?: string): void {
      if (ended) return;
      ended = true;
      unsubscribe();
      streams.delete(stream);
      res.off('drain', flush);
      res.end(last);
      // A client that does not take even the last line is cut.
      const t = setTimeout(() => res.destroy(), DROP_GRACE_MS);
      t.unref();
      res.once('close', () => clearTimeout(t));
    }
    streams.add(stream);
    res.once('close', () => end());
    for (const e of baselineEvents(status, now())) push(eventJson(e) + '\n');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((e: NodeJS.ErrnoException) => {
    throw new EpctlError(`cannot listen on ${socketPath}: ${e.code ?? e.message}`, { exitCode: EXIT.ERROR, hint: e.code === 'EACCES' ? `the agent needs write access to ${path.dirname(socketPath)}` : 'check the socket path and its directory', cause: e });
  });
  server.on('error', (e) => log.warn({ err: e }, 'status API server error'));
  const ino = (await fs.stat(socketPath)).ino;

  const close = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    for (const s of [...streams]) s.end();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), DROP_GRACE_MS).unref();
    });
    // Only our own socket: another agent may have taken the path since.
    const st = await fs.stat(socketPath).catch(() => undefined);
    if (st?.ino === ino) await fs.unlink(socketPath).catch(() => undefined);
  };

  try {
    await fs.chmod(socketPath, mode);
    if (gid !== undefined) await fs.chown(socketPath, -1, gid);
  } catch (e) {
    await close();
    const err = e as NodeJS.ErrnoException;
    throw new EpctlError(
      gid !== undefined && err.syscall === 'chown'
        ? `cannot give ${socketPath} to group ${opts.group} (gid ${gid}): ${err.code}`
        : `cannot set the mode of ${socketPath}: ${err.code}`,
      { exitCode: EXIT.ERROR, hint: gid !== undefined && err.syscall === 'chown' ? `run the agent as root or as a member of ${opts.group} (the unit's SupplementaryGroups=)` : 'check the socket directory', cause: e },
    );
  }
  log.info({ socket: socketPath, mode: mode.toString(8), ...(opts.group === undefined ? {} : { group: opts.group, gid }) }, 'status API listening');
  return {
    socketPath,
    get streams() {
      return streams.size;
    },
    close,
  };
}
