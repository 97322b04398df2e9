// The CLI's side of the agent's status API (src/agent/api.ts): one GET for a JSON answer, or
// the NDJSON event stream read line by line. Whatever keeps the agent from answering — no
// socket, nothing listening, not allowed to connect, an answer that is not the agent's — is an
// EpctlError with exit 69 (EX_UNAVAILABLE) that names the socket and the fix.
import http from 'node:http';
import { EpctlError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';
import type { AgentStatus } from './status.js';

/** The socket `epctl agent` serves and `--agent` reads by default (systemd RuntimeDirectory=epctl). */
export const DEFAULT_SOCKET = '/run/epctl/agent.sock';

/** A status or health answer is a few hundred KiB at most (bounded lists); more is not the agent. */
const MAX_BODY = 16 << 20;
/** A stream line is one event; a longer one is not the agent's. */
const MAX_LINE = 1 << 20;
const CONNECT_TIMEOUT_MS = 5000;

function unavailable(socketPath: string, why: string, hint?: string): EpctlError {
  return new EpctlError(`no epctl agent answers on ${socketPath}: ${why}`, {
    exitCode: EXIT.AGENT_UNAVAILABLE,
    hint: hint ?? 'check the agent with `systemctl status epctl` (and start it), give --agent the socket it serves, or run the command without --agent to read the board directly',
  });
}

function connectError(socketPath: string, e: NodeJS.ErrnoException): EpctlError {
  switch (e.code) {
    case 'ENOENT':
      return unavailable(socketPath, 'the socket does not exist (ENOENT)');
    case 'ECONNREFUSED':
      return unavailable(socketPath, 'nothing listens on it (ECONNREFUSED): the agent stopped and left its socket');
    case 'EACCES':
    case 'EPERM':
      return unavailable(
        socketPath,
        `this user may not connect to it (${e.code})`,
        "the socket is mode 0660: run as root or as a member of the agent's socket group (its --socket-group; `id` lists yours), or run without --agent",
      );
    case 'ENOTSOCK':
      return unavailable(socketPath, 'it is not a socket (ENOTSOCK)');
    default:
      return unavailable(socketPath, `${e.code ?? e.message}`);
  }
}

/** GET ROUTE: the status code and the parsed JSON body. */
export async function agentGet(socketPath: string, route: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path: route, headers: { Accept: 'application/json' }, timeout: CONNECT_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          req.destroy();
          reject(unavailable(socketPath, `its answer to GET ${route} is over ${MAX_BODY} bytes: it is not an epctl agent`));
        } else chunks.push(c);
      });
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        } catch {
          reject(unavailable(socketPath, `its answer to GET ${route} is not JSON (HTTP ${res.statusCode}): it is not an epctl agent`));
        }
      });
      res.on('error', (e: NodeJS.ErrnoException) => reject(connectError(socketPath, e)));
    });
    req.on('timeout', () => {
      req.destroy();
      reject(unavailable(socketPath, `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`));
    });
    req.on('error', (e: NodeJS.ErrnoException) => reject(connectError(socketPath, e)));
  });
}

/**
 * Reads the event stream, calling ONLINE with each line (without its newline), until SIGNAL
 * aborts (resolves) or the agent ends it (an EpctlError, exit 69: the agent stopped). An error
 * ONLINE throws ends the stream and rejects with it. ONOPEN: the agent accepted the stream.
 */
export async function agentStream(socketPath: string, route: string, signal: AbortSignal, onLine: (line: string) => void, onOpen?: () => void): Promise<void> {
  if (signal.aborted) return;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (e?: unknown): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', abort);
      req.destroy();
      if (e) reject(e);
      else resolve();
    };
    const abort = (): void => finish();
    const req = http.get({ socketPath, path: route, headers: { Accept: 'application/x-ndjson' }, timeout: CONNECT_TIMEOUT_MS }, (res) => {
      req.setTimeout(0);
      if (res.statusCode !== 200) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body.length < MAX_LINE ? (body += d) : undefined));
        res.on('end', () => {
          let message = `HTTP ${res.statusCode}`;
          try {
            message = (JSON.parse(body) as { error: { message: string } }).error.message;
          } catch {
            // not the agent's JSON error: the status code says it
          }
          finish(unavailable(socketPath, `it refused the event stream: ${message}`, res.statusCode === 503 ? 'try again later, or run without --agent to watch the board directly' : undefined));
        });
        return;
      }
      onOpen?.();
      let rest = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        rest += d;
        let nl: number;
        while ((nl = rest.indexOf('\n')) >= 0 && !settled) {
          const line = rest.slice(0, nl);
          rest = rest.slice(nl + 1);
          if (line === '') continue;
          try {
            onLine(line);
          } catch (e) {
            // ONLINE's error (a line it cannot read) ends the stream and is the caller's.
            finish(e);
          }
        }
        if (rest.length > MAX_LINE) finish(unavailable(socketPath, `a stream line is over ${MAX_LINE} bytes: it is not an epctl agent`));
      });
      res.on('error', () => finish(unavailable(socketPath, 'the connection to the agent broke')));
      // After 'end' too: the stream is over either way (finish runs once).
      res.on('close', () => finish(unavailable(socketPath, 'the agent ended the event stream (it stopped or restarted)', 'check the agent with `systemctl status epctl`, then watch again')));
    });
    req.on('timeout', () => finish(unavailable(socketPath, `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)));
    req.on('error', (e: NodeJS.ErrnoException) => finish(connectError(socketPath, e)));
    signal.addEventListener('abort', abort);
  });
}

/** The AgentStatus in a GET /v1/status answer; an answer that is not one is not the agent. */
export function readAgentStatus(socketPath: string, answer: { status: number; body: unknown }): AgentStatus {
  const b = answer.body as Partial<AgentStatus> | null;
  if (answer.status !== 200 || typeof b !== 'object' || b === null || b.format !== 'epctl-agent-status')
    throw unavailable(socketPath, `its answer to GET /v1/status is not an epctl agent status (HTTP ${answer.status})`);
  if (b.version !== 1)
    throw new EpctlError(`the agent on ${socketPath} speaks status version ${String(b.version)}; this epctl reads version 1`, { exitCode: EXIT.ERROR, hint: 'use the epctl of the same release as the agent (the one systemctl runs)' });
  return b as AgentStatus;
}
