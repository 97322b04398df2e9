// `epctl agent`: the daemon that keeps the board converged to its config (src/agent/agent.ts),
// run by systemd as a Type=notify service or by hand in a terminal.
import type { Command } from 'commander';
import os from 'node:os';
import path from 'node:path';
import { type CommandSpec, type Run, UsageError, withBoard } from '../context.js';
import { withBoardChange, waitSeconds } from '../board-change.js';
import { DEFAULT_CONFIG } from '../../config/load.js';
import { EXIT } from '../../exit-codes.js';

export const spec: CommandSpec = { name: 'agent', readsBoard: true };

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

export function register(program: Command, run: Run): void {
  program
    .command(spec.name)
    .description('Keep the board converged to the config: wait for its controllers, apply, reload on change, report drift (a systemd service).')
    .option('-c, --config <file>', 'the config file', DEFAULT_CONFIG)
    .option('--wait <seconds>', 'how long each board change waits for another epctl holding the board', '60')
    .option('--log-level <level>', `log level: ${LEVELS.join(', ')}`, 'info')
    .option('--socket <path>', 'serve the status API on this unix socket (default /run/epctl/agent.sock on a live board, FILE.agent.sock beside --mock-state)')
    .option('--socket-group <group>', 'group given the socket (mode 0660), so its members can read the status without root')
    .option('--no-socket', 'serve no status API')
    .option('--metrics <addr:port>', 'serve Prometheus metrics on this address (off by default; loopback only unless --metrics-allow-remote)')
    .option('--metrics-allow-remote', 'let --metrics listen on an address other hosts reach (it has no authentication)')
    .addHelpText(
      'after',
      `
At start the agent waits, at most agent.wait_timeout_s (default 120 s), for the endpoint
controllers the config names — EPC drivers and modules probe late at boot — then applies the
config exactly as \`epctl apply\` does. Under systemd (Type=notify) it signals READY only once
that apply has converged (or failed, with agent.ready_on_failure: true), keeps a STATUS line
current for \`systemctl status epctl\`, and pings the watchdog at half of WatchdogSec.

It reloads when the config file changes and on SIGHUP (\`systemctl reload epctl\`): a config
that does not load is refused with its error in the log and the last good one stays in use,
nothing half-applied. A reload before READY (still waiting or applying) only reads the config:
the first apply takes it, or it is applied right after READY. Every agent.drift_interval_s (default 30; 0: never) it compares the board
with the config and reports a difference made by hand; with agent.correct_drift: true it puts
the board back. SIGTERM stops it after the change under way; the board stays as configured.

With agent.doorbell_watch (default true) it watches doorbells for its status API and metrics:
with tracefs the rings come from the trace, and the /proc/interrupts poll that learns of rows
appearing and going slows from 100 ms to 1 s while the board is quiet (a row nobody rings is
seen within 1 s); without tracefs the poll counts the rings and keeps 5 ms.

Each board change takes the same lock as \`epctl apply\`, so the two never interleave.
Logs are JSON lines on stdout (journald keeps them), readable ones on a terminal.

Examples:
  epctl agent -c /etc/epctl/epctl.yaml
  epctl agent --mock qemu-virt --mock-state board.json -c examples/pci-epf-test.yaml

It exits 0 when stopped by SIGTERM or SIGINT, 1 when its first apply did not converge (unless
agent.ready_on_failure) or its --metrics port cannot be listened on, 64 for a bad option (--metrics
on an address other hosts reach without --metrics-allow-remote: refused before anything starts),
65 when the config file is not valid at start.`,
    )
    .action((opts: { config: string; wait: string; logLevel: string; socket: string | boolean; socketGroup?: string; metrics?: string; metricsAllowRemote?: boolean }, cmd: Command) =>
      run(spec, cmd, async (ctx) => {
        if (!(LEVELS as readonly string[]).includes(opts.logLevel)) throw new UsageError(`--log-level ${JSON.stringify(opts.logLevel)} is not a level`, `give one of ${LEVELS.join(', ')}`);
        const wait = waitSeconds(opts.wait);
        const { createMetrics, startMetrics, parseListen, isLoopback } = await import('../../agent/metrics.js');
        // A bad --metrics is the command line's mistake: refused before the board, the status
        // socket or the log are touched (startMetrics checks it again, for its other callers).
        if (opts.metrics !== undefined) {
          const { host } = parseListen(opts.metrics);
          if (!isLoopback(host) && !opts.metricsAllowRemote)
            throw new UsageError(
              `--metrics ${opts.metrics}: ${host} is not a loopback address, and the metrics endpoint has no authentication`,
              'listen on 127.0.0.1:PORT or [::1]:PORT (scrape through a proxy), or add --metrics-allow-remote to serve other hosts',
            );
        }
        const { Agent } = await import('../../agent/agent.js');
        const { systemdNotifier } = await import('../../agent/notify.js');
        const { loadConfigText } = await import('../../config/load.js');
        const { agentLogger } = await import('../../agent/log.js');
        const { log } = await agentLogger(opts.logLevel, process.stdout.isTTY === true);
        let agentRef: InstanceType<typeof Agent> | undefined;
        // prom-client's process metrics only when they are served: their event-loop lag monitor
        // (perf_hooks.monitorEventLoopDelay) wakes the process every 10 ms, forever.
        const metrics = createMetrics({ status: () => agentRef?.status, defaultMetrics: opts.metrics !== undefined });
        const agent = new Agent({
          hooks: { applied: (r) => metrics.recordApply(r), driftDetected: () => metrics.driftDetected(), configRefused: () => metrics.configReloadError(), polled: (s) => metrics.observePoll(s) },
          configFile: opts.config,
          load: loadConfigText,
          withBoard: (fn) => withBoardChange(ctx, { lock: true, waitSeconds: wait }, fn),
          // The doorbell watch reads without the lock; a simulated board is followed, never written.
          watchBoard: (fn) => withBoard(ctx, fn, { follow: true }),
          atExit: (fn) => ctx.cleanup.atExit(fn),
          notifier: systemdNotifier(),
          log,
        });
        agentRef = agent;
        const fs = await import('node:fs/promises');
        const { agentMarker } = await import('../board-change.js');
        const { startApi } = await import('../../agent/api.js');
        const { DEFAULT_SOCKET } = await import('../../agent/client.js');
        const { watch } = await import('chokidar');
        // What this run opens, closed in reverse on every way out: a failure at any step (the
        // socket, the metrics port, the marker) must not leave a listener keeping the process alive.
        const closers: (() => Promise<unknown> | void)[] = [];
        const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
        const saved = SIGNALS.map((sig) => [sig, process.listeners(sig)] as const);
        try {
          // The status API: the given socket, the live board's /run/epctl/agent.sock, or beside --mock-state.
          const socketPath = opts.socket === false ? undefined : typeof opts.socket === 'string' ? opts.socket : ctx.board?.kind === 'mock' ? (ctx.board.stateFile === undefined ? undefined : `${ctx.board.stateFile}.agent.sock`) : DEFAULT_SOCKET;
          if (socketPath !== undefined) {
            const api = await startApi({ socketPath, ...(opts.socketGroup ? { group: opts.socketGroup } : {}), status: () => agent.status, events: (l) => agent.subscribe(l), log });
            closers.push(() => api.close());
          }
          if (opts.metrics !== undefined) {
            const server = await startMetrics({ listen: opts.metrics, ...(opts.metricsAllowRemote ? { allowRemote: true } : {}), metrics, log });
            closers.push(() => server.close());
          }

          // Signals are the agent's: SIGHUP reloads, SIGTERM/SIGINT stop it (a second one ends at once).
          closers.push(() => {
            for (const [sig, listeners] of saved) {
              process.removeAllListeners(sig);
              for (const l of listeners) process.on(sig, l as (s: NodeJS.Signals) => void);
            }
          });
          for (const sig of SIGNALS) process.removeAllListeners(sig);
          let stopping = false;
          let finish!: (code: number) => void;
          const finished = new Promise<number>((r) => (finish = r));
          const stop = (sig: NodeJS.Signals): void => {
            if (stopping) {
              ctx.cleanup.removeAllSync();
              process.exit(128 + os.constants.signals[sig]);
            }
            stopping = true;
            log.info({ signal: sig }, 'stopping');
            void agent.stop().then(() => finish(EXIT.OK));
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
          process.on('SIGHUP', () => {
            log.info({}, 'SIGHUP: reloading');
            void agent.reload('sighup').catch((e: unknown) => log.error({ err: String(e) }, 'reload failed'));
          });

          let debounce: NodeJS.Timeout | undefined;
          // Editors save by rename: watch the path, and settle a burst of events into one reload.
          const watcher = watch(opts.config, { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 200, pollInterval: 50 } });
          closers.push(async () => {
            clearTimeout(debounce);
            await watcher.close();
          });
          watcher.on('all', (event) => {
            if (event !== 'add' && event !== 'change') return;
            clearTimeout(debounce);
            debounce = setTimeout(() => {
              log.info({ file: opts.config }, 'config changed: reloading');
              void agent.reload('config-changed').catch((e: unknown) => log.error({ err: String(e) }, 'reload failed'));
            }, 250);
          });
          // Marks the board as kept by this agent, so a CLI change says what the agent will make of it.
          // Beside the lock, whose directory (/run/lock) may not exist yet: the lock makes it only at its first take.
          const marker = ctx.lockFile === undefined ? undefined : agentMarker(ctx.lockFile);
          if (marker !== undefined) {
            await fs.mkdir(path.dirname(marker), { recursive: true });
            await fs.writeFile(marker, JSON.stringify({ pid: process.pid, config: opts.config, since: new Date().toISOString() }) + '\n');
            // Removed only once written: a path that was not ours (a directory, say) is left alone.
            const forget = ctx.cleanup.track(marker);
            closers.push(async () => {
              await fs.rm(marker, { force: true });
              forget();
            });
          }
          const { ready } = await agent.start();
          if (!ready) {
            // Stopped by a signal before READY (waiting for controllers, applying): that is a stop, exit 0.
            if (stopping) return await finished;
            await agent.stop();
            return agent.status.config.error && !agent.status.config.loadedAt ? EXIT.CONFIG : EXIT.ERROR;
          }
          return await finished;
        } catch (e) {
          // A failure before or during the start: the agent stops first (its doorbell watch, its wait).
          await agent.stop().catch(() => undefined);
          throw e;
        } finally {
          for (const close of closers.reverse()) await Promise.resolve(close()).catch((e: unknown) => log.warn({ err: String(e) }, 'closing failed'));
        }
      }),
    );
}
