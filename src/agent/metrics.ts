// The agent's Prometheus metrics: a prom-client Registry of its own (never the global one, so
// that a test or a second agent in one process counts apart), served as the text exposition
// format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/) on GET /metrics,
// over TCP, opt-in, loopback only unless remote scraping is allowed in so many words.
//
//   epctl_applies_total{outcome}          counter  applies by outcome: nothing, applied, refused, failed
//   epctl_apply_failures_total            counter  applies that failed (outcome failed)
//   epctl_drift_detected_total            counter  drift checks that found the board differing from the config
//   epctl_drift_corrections_total         counter  applies started by drift that applied
//   epctl_config_reload_errors_total      counter  config reloads refused (the previous config stays in use)
//   epctl_doorbell_rings_total{controller,index,virq}
//                                         counter  the kernel's count of each doorbell row, as of the scrape
//   epctl_interrupts_poll_seconds         histogram one /proc/interrupts poll, as the agent observes it
//   epctl_agent_phase{phase}              gauge    1 for the phase the agent is in, 0 for the others
//   + prom-client's default process metrics (process_*, nodejs_*)
//
// The rings are a counter set from the kernel, not counted by epctl: /proc/interrupts holds a
// cumulative count per row (kernel/irq/proc.c show_interrupts sums kstat_irqs per CPU), which
// is what a Prometheus counter is. A row that is freed and allocated again (pci-epf-test's
// DISABLE/ENABLE_DOORBELL, a vNTB rebind) starts again from 0; if it comes back with the same
// labels the series drops, and a drop is a counter reset, which rate() and increase() treat as
// a restart (https://prometheus.io/docs/prometheus/latest/querying/functions/#rate). A gauge
// would lose that meaning; an epctl-side counter fed by deltas would count rings the agent
// never saw (the rows between two polls) or miss them. A freed row's series goes away at the
// next scrape (stale). Only a row freed, allocated again and rung past its old count between
// two scrapes is under-counted by increase(): nothing on a 15 s scrape of /proc/interrupts
// can tell that apart.
import http from 'node:http';
import net from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { AGENT_PHASES as PHASES, APPLY_OUTCOMES as OUTCOMES, type AgentApplyRecord, type AgentStatus } from './status.js';
import { EpctlError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';


/**
 * A /proc/interrupts poll (read + find) is measured in microseconds by bench/doorbell-poll.ts
 * (16 CPUs × 600 rows); the buckets span 50 µs to 1 s so a slow or loaded board lands in one too.
 */
export const POLL_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export interface AgentMetrics {
  readonly registry: Registry;
  /** One /proc/interrupts poll took SECONDS (the agent's doorbell poll loop calls it). */
  observePoll(seconds: number): void;
  /** An apply (or a plan that found nothing) finished: counted by outcome; failures; drift corrections. */
  recordApply(r: Pick<AgentApplyRecord, 'outcome' | 'reason'>): void;
  /** A drift check found the board differing from the config. */
  driftDetected(): void;
  /** A config reload was refused. */
  configReloadError(): void;
  /** The exposition text, as GET /metrics serves it. */
  text(): Promise<string>;
}

export interface MetricsOptions {
  /** The agent's status, read at each scrape for the phase and the doorbell counts (undefined: not yet). */
  status: () => AgentStatus | undefined;
  /** prom-client's process metrics (default true). */
  defaultMetrics?: boolean;
}

export function createMetrics(opts: MetricsOptions): AgentMetrics {
  const registry = new Registry();
  const registers = [registry];
  const applies = new Counter({ name: 'epctl_applies_total', help: 'Applies by outcome (nothing, applied, refused, failed).', labelNames: ['outcome'], registers });
  for (const outcome of OUTCOMES) applies.inc({ outcome }, 0);
  const failures = new Counter({ name: 'epctl_apply_failures_total', help: 'Applies that failed.', registers });
  const drift = new Counter({ name: 'epctl_drift_detected_total', help: 'Drift checks that found the board differing from the config.', registers });
  const corrections = new Counter({ name: 'epctl_drift_corrections_total', help: 'Applies started by a drift check that changed the board back.', registers });
  const reloadErrors = new Counter({ name: 'epctl_config_reload_errors_total', help: 'Config reloads refused (the previous config stays in use).', registers });
  new Counter({
    name: 'epctl_doorbell_rings_total',
    help: "The kernel's count of rings of each doorbell row in /proc/interrupts (restarts at 0 when a row is freed and allocated again).",
    labelNames: ['controller', 'index', 'virq'],
    registers,
    collect() {
      // Set, not counted: the value is the kernel's own cumulative count (see the module comment).
      this.reset();
      for (const c of opts.status()?.doorbells.counts ?? [])
        this.inc({ controller: c.controller ?? '', index: c.index === undefined ? '' : String(c.index), virq: String(c.virq) }, c.count);
    },
  });
  const poll = new Histogram({ name: 'epctl_interrupts_poll_seconds', help: 'Time one /proc/interrupts poll took.', buckets: POLL_BUCKETS, registers });
  new Gauge({
    name: 'epctl_agent_phase',
    help: 'The phase the agent is in (1) and the others (0).',
    labelNames: ['phase'],
    registers,
    collect() {
      const now = opts.status()?.phase;
      for (const phase of PHASES) this.set({ phase }, phase === now ? 1 : 0);
    },
  });
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  return {
    registry,
    observePoll: (s) => {
      if (Number.isFinite(s) && s >= 0) poll.observe(s);
    },
    recordApply: (r) => {
      applies.inc({ outcome: r.outcome });
      if (r.outcome === 'failed') failures.inc();
      if (r.reason === 'drift' && r.outcome === 'applied') corrections.inc();
    },
    driftDetected: () => drift.inc(),
    configReloadError: () => reloadErrors.inc(),
    text: () => registry.metrics(),
  };
}

export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * ADDR:PORT as the agent's metrics option takes it: `127.0.0.1:9464`, `[::1]:9464`,
 * `localhost:9464`. Port 0 takes any free port (the server says which).
 */
export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  const host = m ? (m[1] ?? m[2])! : '';
  if (!m || port > 65535 || (m[1] !== undefined && net.isIPv6(host) === false))
    throw new EpctlError(`metrics address ${text}: not ADDR:PORT`, { exitCode: EXIT.USAGE, hint: 'give an address and a port, e.g. 127.0.0.1:9464 or [::1]:9464' });
  return { host, port };
}

/** ADDR:PORT as parseListen reads it back: an IPv6 address in brackets ([::1]:9464). */
export function formatListen(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Whether HOST is this machine only: 127.0.0.0/8, ::1, their IPv4-mapped form, or `localhost` (RFC 6761 6.3). */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const v4 = host.toLowerCase().startsWith('::ffff:') ? host.slice(7) : host;
  if (net.isIPv4(v4)) return v4.startsWith('127.');
  if (net.isIPv6(host)) {
    const bl = new net.BlockList();
    bl.addAddress('::1', 'ipv6');
    return bl.check(host, 'ipv6');
  }
  return false;
}

export interface MetricsServer {
  /** Where it listens (the port chosen when 0 was given). */
  readonly address: ListenAddress;
  close(): Promise<void>;
}

export interface StartMetricsOptions {
  /** ADDR:PORT (parseListen). */
  listen: string;
  /** Listen on an address other hosts reach: must be said (it is unauthenticated). */
  allowRemote?: boolean;
  metrics: AgentMetrics;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

/** Scrapers at once; Prometheus keeps one connection per target. */
const MAX_CONNECTIONS = 16;

export async function startMetrics(opts: StartMetricsOptions): Promise<MetricsServer> {
  const { host, port } = parseListen(opts.listen);
  if (!isLoopback(host) && !opts.allowRemote)
    throw new EpctlError(`metrics address ${opts.listen}: ${host} is not a loopback address, and the metrics endpoint has no authentication`, {
      exitCode: EXIT.USAGE,
      hint: 'listen on 127.0.0.1:PORT or [::1]:PORT and scrape through a proxy, or allow remote scraping explicitly',
    });
  const server = http.createServer((req, res) => {
    req.resume();
    const url = (req.url ?? '/').split('?')[0];
    const reply = (code: number, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (url !== '/metrics') return reply(404, 'not found: the metrics are at /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, `${req.method} is not allowed: use GET\n`, { Allow: 'GET, HEAD' });
    opts.metrics.text().then(
      (text) => reply(200, text, { 'Content-Type': opts.metrics.registry.contentType }),
      (e: unknown) => {
        opts.log.warn({ err: e }, 'collecting the metrics failed');
        reply(500, `collecting the metrics failed: ${(e as Error).message}\n`);
      },
    );
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((e: NodeJS.ErrnoException) => {
    throw new EpctlError(`metrics address ${opts.listen}: cannot listen (${e.code ?? e.message})`, {
      exitCode: EXIT.ERROR,
      hint: e.code === 'EADDRINUSE' ? 'another program listens on that port: give another one' : e.code === 'EADDRNOTAVAIL' ? 'that address is not one of this machine\'s' : 'check the address and port',
      cause: e,
    });
  });
  server.on('error', (e) => opts.log.warn({ err: e }, 'metrics server error'));
  const bound = server.address() as net.AddressInfo;
  opts.log.info({ listen: formatListen(host, bound.port) }, 'metrics listening');
  return {
    address: { host, port: bound.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
