// `epctl agent`: keeps a board converged to its config for as long as it runs.
//   boot: wait (bounded) for the controllers the config names — EPC drivers probe late, and
//         "no controller in pci_ep/controllers" is the commonest first-boot report — then apply
//         with the same engine as `epctl apply` (src/plan/run.ts), then READY=1 to systemd
//         (or, when the config allows it, READY=1 after a failed first apply too);
//   then: reload on a config change (the caller's file watcher) and on SIGHUP — a config that
//         does not load is refused with its error and the last good one stays in use, nothing
//         half-applied; compare the board with the config every drift_interval_s and report a
//         difference (correct it only when the config says so); ping the watchdog.
// Every board access is one cycle under the board lock (the CLI's lock: an `epctl apply` run
// meanwhile waits or names the agent), run one at a time, so a reload never races an apply.
// Dependencies come in (board access, config loading, notifier, log, clock), so the loop is
// tested on the fake kernel with a fake clock.
import { createHash } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { BoardChange } from '../cli/board-change.js';
import { convergeBoard, type ConvergeOutcome } from '../plan/run.js';
import { planFor } from '../plan/converge.js';
import { describeOp } from '../cli/render/plan.js';
import { probe } from '../probe/probe.js';
import { status as readStatus } from '../status/status.js';
import { EpctlError } from '../kernel/errors.js';
import type { Notifier } from './notify.js';
import type { AgentApplyRecord, AgentPhase, AgentStatus } from './status.js';
import type { KernelPort } from '../kernel/port.js';
import { watchDoorbells, type DoorbellEvent, type WatchOptions } from '../doorbell/watch.js';

/** The defaults of the config's `agent:` section. */
export const AGENT_DEFAULTS = { wait_timeout_s: 120, drift_interval_s: 30, correct_drift: false, ready_on_failure: false, doorbell_watch: true } as const;

export interface AgentLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface AgentClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface AgentDeps {
  configFile: string;
  /** Reads and checks the config: its text and the parsed Config (ConfigError on a bad one). */
  load(file: string): Promise<{ text: string; config: Config }>;
  /** One board cycle under the lock (cli/board-change.ts withBoardChange). */
  withBoard<T>(fn: (c: BoardChange) => Promise<T>): Promise<T>;
  notifier: Notifier;
  log: AgentLog;
  clock?: AgentClock;
  /** Poll period while waiting for controllers (default 1000 ms). */
  waitPollMs?: number;
  /**
   * A read-only view of the board for as long as FN runs (the doorbell watch): the live
   * system, or a simulated board followed across processes. Absent: no doorbell watch.
   */
  watchBoard?(fn: (port: KernelPort) => Promise<void>): Promise<void>;
  /** Told of what the metrics count (agent/metrics.ts). */
  hooks?: {
    applied?(r: AgentApplyRecord): void;
    driftDetected?(): void;
    configRefused?(): void;
    /** One /proc/interrupts poll of the doorbell watch took SECONDS (WatchOptions.onPoll). */
    polled?(seconds: number): void;
  };
  /** cleanup.atExit: the doorbell watch's tracefs instance is removed on a forced exit too. */
  atExit?: (fn: () => void) => () => void;
  /** The watch itself (tests); default doorbell/watch.ts watchDoorbells. */
  watch?: (port: KernelPort, opts: WatchOptions) => Promise<unknown>;
}

const realClock: AgentClock = { now: () => Date.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
const RECENT_LOG = 100;
const RECENT_EVENTS = 200;
/**
 * The doorbell watch's /proc/interrupts poll beside tracefs slows down to this while the board
 * is quiet (WatchOptions.idleIntervalMs): rings are counted from the trace at any period, and a
 * doorbell row nobody rings is seen within this long. `epctl doorbell watch` keeps its fixed
 * period (rows found fast); without tracefs (the poll source) the agent's poll keeps its period too.
 */
export const DOORBELL_IDLE_POLL_MS = 1000;
/** After the doorbell watch ends with an error: wait this long before watching again. */
const WATCH_RETRY_MS = 5000;

/** The controllers a config names (not "auto"), and whether it needs at least one ("auto"). */
export function namedControllers(config: Config): { names: string[]; any: boolean } {
  const names = new Set<string>();
  let any = false;
  const add = (n: string | undefined): void => {
    if (n === undefined) return;
    if (n === 'auto') any = true;
    else names.add(n);
  };
  for (const n of Object.keys(config.controllers ?? {})) add(n);
  for (const f of config.functions ?? []) {
    add(f.controller);
    add(f.primary);
    add(f.secondary);
  }
  return { names: [...names].sort(), any };
}

export class Agent {
  readonly status: AgentStatus;
  private config: Config | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private driftTimer: unknown;
  private watchdogTimer: unknown;
  private stopped = false;
  private readonly clock: AgentClock;
  private readonly listeners = new Set<(e: DoorbellEvent) => void>();
  private watchAbort: AbortController | undefined;
  private watching: Promise<void> | undefined;
  /** Ends the boot wait's current sleep (stop). */
  private wake: (() => void) | undefined;
  /** READY was sent: from then on a reload applies and tells systemd (RELOADING=1, READY=1). */
  private booted = false;
  /** A config read by a reload during the start after its apply took the config: applied once READY is sent. */
  private reloadAfterBoot: 'config-changed' | 'sighup' | undefined;

  constructor(private readonly deps: AgentDeps) {
    this.clock = deps.clock ?? realClock;
    this.status = {
      format: 'epctl-agent-status',
      version: 1,
      pid: process.pid,
      startedAt: new Date(this.clock.now()).toISOString(),
      phase: 'starting',
      statusLine: 'starting',
      config: { file: deps.configFile, loadedAt: null, sha256: null, error: null },
      waitingFor: [],
      lastApply: null,
      applies: { total: 0, failed: 0, refused: 0, driftCorrections: 0 },
      drift: { intervalS: AGENT_DEFAULTS.drift_interval_s, correct: AGENT_DEFAULTS.correct_drift, detected: null, lastCheckAt: null },
      board: null,
      doorbells: { counts: [], recent: [] },
      kernelLog: [],
    };
  }

  private settings(): Required<NonNullable<Config['agent']>> {
    return { ...AGENT_DEFAULTS, ...(this.config?.agent ?? {}) };
  }

  /** Tells systemd; a notification that fails is logged and never stops the agent. */
  private async notify(fields: Readonly<Record<string, string>>): Promise<void> {
    await this.deps.notifier.notify(fields).catch((e: unknown) => this.deps.log.warn({ err: String(e), fields }, 'systemd-notify failed'));
  }

  private async phase(phase: AgentPhase, line: string): Promise<void> {
    this.status.phase = phase;
    this.status.statusLine = line;
    await this.notify({ STATUS: line });
  }

  /** Runs FN after every cycle queued before it (one board access at a time). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Loads the config file; on failure keeps the last good one and records why. Returns whether a new config is in use. */
  private async loadConfig(): Promise<boolean> {
    try {
      const { text, config } = await this.deps.load(this.deps.configFile);
      const sha = createHash('sha256').update(text).digest('hex');
      this.config = config;
      this.status.config = { file: this.deps.configFile, loadedAt: new Date(this.clock.now()).toISOString(), sha256: sha, error: null };
      const s = this.settings();
      this.status.drift.intervalS = s.drift_interval_s;
      this.status.drift.correct = s.correct_drift;
      return true;
    } catch (e) {
      if (!(e instanceof EpctlError)) throw e;
      this.status.config.error = `${e.message}${e.hint ? ` (fix: ${e.hint})` : ''}`;
      this.deps.hooks?.configRefused?.();
      this.deps.log.error({ file: this.deps.configFile, error: e.message, hint: e.hint }, this.config ? 'config refused: the last good config stays in use' : 'config refused: nothing to apply until it is fixed');
      return false;
    }
  }

  /** Boot: load, wait for the controllers, apply, READY (see the module comment). Resolves once READY was sent or the first apply failed without ready_on_failure. */
  async start(): Promise<{ ready: boolean }> {
    await this.phase('starting', `reading ${this.deps.configFile}`);
    if (!(await this.loadConfig())) {
      await this.phase('failed', `config ${this.deps.configFile} refused: ${this.status.config.error}`);
      return { ready: false };
    }
    await this.waitForControllers();
    // Stopped while waiting: nothing is applied and READY never follows STOPPING.
    if (this.stopped) return { ready: false };
    const outcome = await this.serial(() => {
      // The apply takes the config as it is now (applyCycle reads it at once): a reload from here on is applied after READY.
      this.reloadAfterBoot = undefined;
      return this.applyCycle('start');
    });
    // Stopped during the apply (stop() waited for it): STOPPING=1 was sent, READY=1 must not follow.
    if (this.stopped) return { ready: false };
    const ok = outcome === 'nothing' || outcome === 'applied';
    const s = this.settings();
    if (!ok && !s.ready_on_failure) return { ready: false };
    await this.notify({ READY: '1', STATUS: this.status.statusLine });
    this.booted = true;
    this.deps.log.info({ phase: this.status.phase }, 'ready');
    // Stopped while READY was being sent: stop() cleared the timers, none is armed again.
    if (this.stopped) return { ready: true };
    const pending = this.reloadAfterBoot;
    this.reloadAfterBoot = undefined;
    if (pending) void this.reload(pending).catch((e: unknown) => this.deps.log.error({ err: String(e) }, 'reload failed'));
    this.armWatchdog();
    this.armDrift();
    if (this.settings().doorbell_watch && this.deps.watchBoard) this.watching = this.watchLoop();
    return { ready: true };
  }

  /** Doorbell events as they come (the status API's stream); returns the unsubscriber. */
  subscribe(listener: (e: DoorbellEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private onDoorbell(e: DoorbellEvent): void {
    const counts = this.status.doorbells.counts;
    const i = counts.findIndex((c) => c.virq === e.virq);
    if (e.event === 'freed') {
      if (i >= 0) counts.splice(i, 1);
    } else {
      const row = { virq: e.virq, index: e.index ?? undefined, chip: e.chip ?? '', controller: e.controller, action: e.action, count: e.count };
      if (i >= 0) counts[i] = row;
      else counts.push(row);
    }
    const recent = this.status.doorbells.recent;
    recent.push(e);
    if (recent.length > RECENT_EVENTS) recent.splice(0, recent.length - RECENT_EVENTS);
    for (const l of this.listeners) l(e);
  }

  /** Watches doorbells until stopped; a watch that ends with an error is logged and started again. */
  private async watchLoop(): Promise<void> {
    const watch = this.deps.watch ?? watchDoorbells;
    while (!this.stopped) {
      const ac = new AbortController();
      this.watchAbort = ac;
      try {
        await this.deps.watchBoard!((port) =>
          watch(port, {
            source: 'auto',
            idleIntervalMs: DOORBELL_IDLE_POLL_MS,
            signal: ac.signal,
            onEvent: (e) => this.onDoorbell(e),
            onWarning: (m) => this.deps.log.warn({ doorbells: true }, m),
            ...(this.deps.hooks?.polled ? { onPoll: this.deps.hooks.polled } : {}),
            // A manual clock (tests) drives the watch's poll timers too.
            ...(this.deps.clock ? { timers: this.deps.clock } : {}),
            ...(this.deps.atExit ? { atExit: this.deps.atExit } : {}),
          }).then(() => undefined),
        );
      } catch (e) {
        if (this.stopped) break;
        this.deps.log.error({ err: e instanceof Error ? e.message : String(e) }, `doorbell watch ended; watching again in ${WATCH_RETRY_MS / 1000} s`);
      }
      if (this.stopped) break;
      await new Promise<void>((r) => this.clock.setTimeout(r, WATCH_RETRY_MS));
    }
  }

  private async waitForControllers(): Promise<void> {
    const timeoutMs = this.settings().wait_timeout_s * 1000;
    const start = this.clock.now();
    for (;;) {
      // Each round: a reload during the wait may name other controllers.
      const want = namedControllers(this.config!);
      const seen = await this.serial(() => this.deps.withBoard(async ({ port }) => (await probe(port)).controllers.map((c) => c.name)));
      const missing = [...want.names.filter((n) => !seen.includes(n)), ...(want.any && seen.length === 0 ? ['any endpoint controller (auto)'] : [])];
      this.status.waitingFor = missing;
      if (missing.length === 0 || this.stopped) return;
      const waited = this.clock.now() - start;
      if (waited >= timeoutMs) {
        this.deps.log.warn({ missing, waitedS: Math.round(waited / 1000) }, 'gave up waiting for controllers; applying anyway (the plan will say what is missing)');
        this.status.waitingFor = [];
        return;
      }
      await this.phase('waiting', `waiting for ${missing.join(', ')} (${Math.round(waited / 1000)} of ${timeoutMs / 1000} s)`);
      await new Promise<void>((r) => {
        const h = this.clock.setTimeout(r, this.deps.waitPollMs ?? 1000);
        // stop() ends the wait at once.
        this.wake = () => {
          this.clock.clearTimeout(h);
          r();
        };
      });
      this.wake = undefined;
    }
  }

  /** One converge of the board to the config in use, recorded. */
  private async applyCycle(reason: AgentApplyRecord['reason']): Promise<AgentApplyRecord['outcome']> {
    const config = this.config;
    if (!config) return 'refused';
    await this.phase('applying', `applying ${this.deps.configFile} (${reason})`);
    const t0 = this.clock.now();
    let out: ConvergeOutcome;
    try {
      out = await this.deps.withBoard(async (c) => {
        const o = await convergeBoard(c.port, c.ownership, config);
        await this.readBoard(c);
        this.noteKernelLog(o.kind === 'applied' || o.kind === 'failed' ? o.result.kernelLog : []);
        return o;
      });
    } catch (e) {
      if (!(e instanceof EpctlError)) throw e;
      const record: AgentApplyRecord = { at: new Date(this.clock.now()).toISOString(), reason, outcome: 'failed', operations: 0, errors: [`${e.message}${e.hint ? ` (fix: ${e.hint})` : ''}`], durationMs: this.clock.now() - t0 };
      return this.record(record);
    }
    const errors =
      out.kind === 'refused'
        ? out.plan.refusals.map((r) => `${r.where}: ${r.reason} (fix: ${r.fix.split('\n')[0]})`)
        : out.kind === 'failed'
          ? [`${out.result.failure!.code} at ${out.result.failure!.path}: ${out.result.failure!.message}`, ...out.result.rollback!.errors.map((x) => `rollback: ${x.step}: ${x.message}`)]
          : [];
    const kind = out.kind === 'declined' ? 'refused' : out.kind;
    return this.record({ at: new Date(this.clock.now()).toISOString(), reason, outcome: kind, operations: out.kind === 'applied' || out.kind === 'failed' ? out.result.done.length : 0, errors, durationMs: this.clock.now() - t0 });
  }

  private async record(r: AgentApplyRecord): Promise<AgentApplyRecord['outcome']> {
    this.status.lastApply = r;
    this.deps.hooks?.applied?.(r);
    if (r.outcome === 'applied' || r.outcome === 'failed') this.status.applies.total++;
    if (r.outcome === 'failed') this.status.applies.failed++;
    if (r.outcome === 'refused') this.status.applies.refused++;
    if (r.reason === 'drift' && r.outcome === 'applied') this.status.applies.driftCorrections++;
    const ok = r.outcome === 'nothing' || r.outcome === 'applied';
    if (ok) {
      this.status.drift.detected = null;
      this.deps.log.info({ reason: r.reason, outcome: r.outcome, operations: r.operations, ms: r.durationMs }, 'converged');
      await this.phase('converged', `converged to ${this.deps.configFile}${r.operations ? ` (${r.operations} operations)` : ''}`);
    } else {
      this.deps.log.error({ reason: r.reason, outcome: r.outcome, errors: r.errors }, 'apply did not converge');
      await this.phase('failed', `${r.outcome === 'refused' ? 'refused' : 'failed'}: ${r.errors[0] ?? 'see the log'}`);
    }
    return r.outcome;
  }

  /** The board as `epctl status` shows it, kept as of this cycle (an unreadable one keeps the last). */
  private async readBoard(c: BoardChange): Promise<void> {
    this.status.board = await readStatus(c.port, { stateFile: c.ownership.file ?? '', functions: c.ownership.list() }).catch(() => this.status.board);
  }

  private noteKernelLog(lines: readonly string[]): void {
    this.status.kernelLog.push(...lines);
    if (this.status.kernelLog.length > RECENT_LOG) this.status.kernelLog.splice(0, this.status.kernelLog.length - RECENT_LOG);
  }

  /**
   * A config change or SIGHUP: load again; a good config is applied, a bad one refused (the board
   * keeps the last good one). Before READY (the start still waiting or applying) it only reads
   * the config: the start's own apply takes it — or, read after that apply began, it is applied
   * once READY is sent — and systemd hears nothing of it (no RELOADING=1, and no READY=1 before
   * the first apply's).
   */
  async reload(reason: 'config-changed' | 'sighup'): Promise<AgentApplyRecord['outcome'] | 'config-refused' | 'deferred'> {
    if (this.stopped) return 'config-refused';
    if (!this.booted) {
      if (!(await this.loadConfig())) return 'config-refused';
      if (!this.booted) {
        this.reloadAfterBoot = reason;
        this.deps.log.info({ reason }, 'config read during the start: applied by the first apply, or right after it');
        return 'deferred';
      }
      // READY was sent while this config was being read (start() had already looked for a
      // pending reload): it is applied here, as after READY.
    } else {
      await this.notify({ RELOADING: '1', STATUS: `reloading ${this.deps.configFile}` });
      if (!(await this.loadConfig())) {
        this.status.statusLine = `config refused, keeping the last good one: ${this.status.config.error}`;
        await this.notify({ READY: '1', STATUS: this.status.statusLine });
        return 'config-refused';
      }
    }
    const outcome = await this.serial(() => this.applyCycle(reason));
    await this.notify({ READY: '1', STATUS: this.status.statusLine });
    this.armDrift();
    return outcome;
  }

  /** Compares the board with the config; reports (and with correct_drift, corrects) a difference. */
  async checkDrift(): Promise<'same' | 'drift' | 'corrected' | 'skipped'> {
    const config = this.config;
    if (!config || this.stopped) return 'skipped';
    const found = await this.serial(() =>
      this.deps.withBoard(async ({ port, ownership }) => {
        const { plan } = await planFor(port, config, new Set(ownership.list()), { pendingRestarts: ownership.restarts() });
        await this.readBoard({ port, ownership });
        return plan;
      }),
    );
    this.status.drift.lastCheckAt = new Date(this.clock.now()).toISOString();
    if (found.ops.length === 0 && found.refusals.length === 0) {
      if (this.status.drift.detected) this.deps.log.info({}, 'the board matches the config again');
      this.status.drift.detected = null;
      return 'same';
    }
    const operations = [...found.ops.map((o) => describeOp(o).text), ...found.refusals.map((r) => `refused: ${r.where}: ${r.reason}`)];
    this.status.drift.detected = { at: this.status.drift.lastCheckAt, operations };
    this.deps.hooks?.driftDetected?.();
    this.deps.log.warn({ operations }, 'drift: the board differs from the config');
    if (!this.settings().correct_drift || found.refusals.length) return 'drift';
    const outcome = await this.serial(() => this.applyCycle('drift'));
    return outcome === 'applied' || outcome === 'nothing' ? 'corrected' : 'drift';
  }

  private armDrift(): void {
    if (this.driftTimer !== undefined) this.clock.clearTimeout(this.driftTimer);
    this.driftTimer = undefined;
    const s = this.settings().drift_interval_s;
    if (s === 0 || this.stopped) return;
    const tick = (): void => {
      this.driftTimer = this.clock.setTimeout(() => {
        this.checkDrift()
          .catch((e: unknown) => this.deps.log.error({ err: String(e) }, 'drift check failed'))
          .finally(() => {
            if (!this.stopped) tick();
          });
      }, s * 1000);
    };
    tick();
  }

  /** Pings at half the watchdog period (sd_watchdog_enabled(3)'s advice). */
  private armWatchdog(): void {
    const period = this.deps.notifier.watchdogMs;
    if (period === null || this.stopped) return;
    const tick = (): void => {
      this.watchdogTimer = this.clock.setTimeout(() => {
        if (this.stopped) return;
        void this.notify({ WATCHDOG: '1' });
        tick();
      }, period / 2);
    };
    tick();
  }

  /** STOPPING=1, timers off, and the cycle under way finished (never cut: the board stays as configured). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.driftTimer !== undefined) this.clock.clearTimeout(this.driftTimer);
    if (this.watchdogTimer !== undefined) this.clock.clearTimeout(this.watchdogTimer);
    await this.phase('stopping', 'stopping');
    await this.notify({ STOPPING: '1' });
    this.wake?.();
    this.watchAbort?.abort();
    await this.queue;
    // A watch waiting to start again resolves at its retry timer: not waited for.
    await Promise.race([this.watching, new Promise((r) => setTimeout(r, 1000).unref())]);
  }
}
