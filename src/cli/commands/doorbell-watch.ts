// `epctl doorbell watch`: doorbells as they are allocated, rung and freed, live. Read-only;
// with --mock-state it follows what other processes (`epctl mock host ring`) do to the board.
// Stops on Ctrl-C / SIGTERM (first signal: clean stop, the tracefs instance removed), after
// --count events or --duration seconds.
import type { Command } from 'commander';
import { Option } from 'commander';
import { UsageError, withBoard, type CommandSpec, type Run, type RunContext } from '../context.js';
import { EpctlError } from '../../kernel/errors.js';
import { EXIT } from '../../exit-codes.js';
import type { AgentStreamEvent, DroppedLine } from '../../agent/api.js';
import { writeErr, writeOut } from '../output.js';
import { deferSignals } from '../cleanup.js';

export const spec: CommandSpec = { name: 'doorbell watch', readsBoard: true };
/** `doorbell watch --agent` reads the agent's stream, not the board: the board options do not apply. */
const agentSpec: CommandSpec = { name: 'doorbell watch --agent', readsBoard: false };


export interface WatchFlags {
  interval?: string;
  source: 'auto' | 'tracefs' | 'poll';
  controller?: string;
  count?: string;
  duration?: string;
  agent?: string | true;
}

/** The longest delay setTimeout takes (a signed 32-bit ms count); above it Node warns and fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function positive(flag: string, value: string | undefined, integer: boolean, maxValue = Number.MAX_SAFE_INTEGER, unit = ''): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0) || (integer && !Number.isInteger(n)))
    throw new UsageError(`${flag} ${value}: not a positive ${integer ? 'whole ' : ''}number`, `give ${flag} a number above 0, e.g. ${flag} ${integer ? '10' : '2.5'}`);
  if (!(n <= maxValue)) throw new UsageError(`${flag} ${value}: above the limit of ${maxValue}${unit}`, `give ${flag} at most ${maxValue}${unit} (a timer cannot wait longer than 2^31-1 ms)`);
  return n;
}

/** --interval (ms), --count, --duration (s) as the watch takes them; a UsageError otherwise. */
export function watchNumbers(f: Pick<WatchFlags, 'interval' | 'count' | 'duration'>): { interval?: number; count?: number; duration?: number } {
  const interval = positive('--interval', f.interval, false, MAX_TIMER_MS, ' ms');
  const count = positive('--count', f.count, true);
  const duration = positive('--duration', f.duration, false, Math.floor(MAX_TIMER_MS / 1000), ' s');
  return { ...(interval === undefined ? {} : { interval }), ...(count === undefined ? {} : { count }), ...(duration === undefined ? {} : { duration }) };
}

/**
 * What the local watch and `--agent` share: a stop on Ctrl-C / SIGTERM, --duration or --count
 * events, and the output — the live view on a terminal (started by open() once the source is
 * ready), else one line per event. done() once the source ended (and in a finally).
 */
async function watchOutput(ctx: RunContext, count: number | undefined, duration: number | undefined) {
  const { LiveView } = await import('../render/watch.js');
  const ac = new AbortController();
  const restore = deferSignals(() => ac.abort());
  const timer = duration === undefined ? undefined : setTimeout(() => ac.abort(), duration * 1000);
  const tty = !ctx.json && process.stdout.isTTY === true;
  let view: InstanceType<typeof LiveView> | undefined;
  let redraw: NodeJS.Timeout | undefined;
  let seen = 0;
  let done = false;
  return {
    signal: ac.signal,
    abort: () => ac.abort(),
    tty,
    /** Events shown so far. */
    seen: () => seen,
    /** The live view with its header, on a terminal only; true when it started. */
    open(header: string): boolean {
      if (!tty) return false;
      view = new LiveView((s) => writeOut(s), header, undefined, () => process.stdout.columns ?? 80);
      view.draw();
      redraw = setInterval(() => view?.draw(), 250);
      return true;
    },
    /** One event, into the view or as LINE; after --count events no more, and the watch stops. */
    event(e: Parameters<InstanceType<typeof LiveView>['add']>[0], line: () => string): void {
      // A source may still emit after the abort: N events, no more.
      if (count !== undefined && seen >= count) return;
      seen++;
      if (view) view.add(e);
      else writeOut(`${line()}\n`);
      if (count !== undefined && seen >= count) ac.abort();
    },
    /** Rings the trace lost: said in the stream itself, so nobody takes the counts as exact. */
    lost(n: number | null, line: () => string): void {
      if (view) view.lost(n);
      else writeOut(`${line()}\n`);
    },
    /** The view's last frame; timers and signal handlers released. */
    done(): void {
      if (done) return;
      done = true;
      view?.draw();
      if (redraw) clearInterval(redraw);
      if (timer) clearTimeout(timer);
      restore();
    },
  };
}

export function addWatchCommand(doorbell: Command, run: Run): void {
  doorbell
    .command('watch')
    .description('Show doorbells live: allocated, rung (count, rate) and freed.')
    .option('--json', 'one JSON object per line: {time, event, controller, virq, index, chip, action, count, delta, rate}; {time, event: "lost", cpu, count} when the trace lost events')
    .addOption(new Option('--source <source>', 'tracefs irq events (exact, one per ring), /proc/interrupts polling, or tracefs when available').choices(['auto', 'tracefs', 'poll']).default('auto'))
    .option('--interval <ms>', 'poll /proc/interrupts every MS ms (default 5 when polling, 100 beside tracefs, where it only finds rows and their controller)')
    .option('--controller <epc>', 'only this endpoint controller\'s doorbells')
    .option('--count <n>', 'stop after N events')
    .option('--duration <s>', 'stop after S seconds')
    .option('--agent [socket]', "read the running `epctl agent`'s doorbell events from its socket (default /run/epctl/agent.sock) instead of watching the board")
    .addHelpText(
      'after',
      `
A doorbell row is an /proc/interrupts row whose chip is ITS-pMSI-<controller> and whose action
is pci-ep-test-doorbell (pci-epf-test) or pci_epf_vntb_db (vNTB). With tracefs (CONFIG_FTRACE)
epctl makes a private instance, instances/epctl-<pid>, traces irq_handler_entry of those
actions, and removes the instance when it stops: every ring is one event with the kernel's
timestamp, even for a pci-epf-test doorbell that lives a few milliseconds. Without tracefs it
polls /proc/interrupts: a doorbell allocated and freed between two polls is not seen, and a
burst of rings is one event with its delta.

Examples:
  epctl doorbell watch                                  live view on a terminal
  epctl doorbell watch --json --count 100 > rings.jsonl  the next 100 events, for a script
  epctl doorbell watch --mock qemu-virt --mock-state b.json   rings another process makes
  epctl doorbell watch --agent                          what the running agent sees, as it sees it

With --agent the agent watches (it keeps one watch for everyone) and epctl shows its events
the same way: first its current counts as allocated lines, then each event; --controller,
--count and --duration apply, --source and --interval are the agent's.

It exits 0 when stopped (Ctrl-C, SIGTERM, --count, --duration). With --agent: 69 when no agent
answers on the socket or it ends the stream (it stopped), 1 when it dropped this watch for
reading too slowly.`,
    )
    .action((_opts, cmd: Command) => {
      if ((cmd.opts() as WatchFlags).agent !== undefined) return run(agentSpec, cmd, (ctx) => watchAgent(ctx, cmd));
      return run(spec, cmd, async (ctx) => {
        const f = cmd.opts() as WatchFlags;
        const { interval, count, duration } = watchNumbers(f);
        const { watchDoorbells } = await import('../../doorbell/watch.js');
        const { eventJson, eventLine, lostJson, lostLine } = await import('../render/watch.js');
        const out = await watchOutput(ctx, count, duration);
        try {
          const summary = await withBoard(
            ctx,
            (port) =>
              watchDoorbells(port, {
                source: f.source,
                ...(interval === undefined ? {} : { intervalMs: interval }),
                ...(f.controller === undefined ? {} : { controller: f.controller }),
                signal: out.signal,
                atExit: (fn) => ctx.cleanup.atExit(fn),
                onReady: (info) => {
                  const what = info.source === 'tracefs' ? `tracefs irq events (${info.instance})` : `polling /proc/interrupts every ${info.intervalMs} ms`;
                  if (info.source === 'poll') writeErr(`epctl: watching doorbells by ${what}; it cannot see:\n${info.limits.map((l) => `  - ${l}\n`).join('')}`);
                  else if (!ctx.json && !out.tty) writeErr(`epctl: watching doorbells through ${what}\n`);
                  out.open(`doorbells on ${port.origin === '/' ? 'this system' : port.origin} via ${what} — Ctrl-C stops`);
                },
                onWarning: (m) => writeErr(`epctl: ${m}\n`),
                onLost: (l) => out.lost(l.count, () => (ctx.json ? lostJson(l) : lostLine(l))),
                onEvent: (e) => out.event(e, () => (ctx.json ? eventJson(e) : eventLine(e))),
              }),
            { follow: true },
          );
          out.done();
          if (!ctx.json && !out.tty) writeErr(`epctl: ${summary.events} events (${summary.source})${summary.lostTraceEvents || summary.lostUnknown ? `, ${summary.lostTraceEvents || ''}${summary.lostUnknown ? (summary.lostTraceEvents ? '+' : 'some') : ''} trace events lost` : ''}\n`);
          return 0;
        } finally {
          out.done();
        }
      });
    });
}

/** `doorbell watch --agent`: the agent's event stream, shown as the local watch shows its events. */
async function watchAgent(ctx: RunContext, cmd: Command): Promise<number> {
  const f = cmd.opts() as WatchFlags;
  for (const [flag, given] of [
    ['--source', cmd.getOptionValueSource('source') === 'cli'],
    ['--interval', f.interval !== undefined],
  ] as const)
    if (given) throw new UsageError(`${flag} does not apply with --agent: the agent watches the board its own way`, `drop ${flag}, or drop --agent to watch the board directly`);
  const { count, duration } = watchNumbers(f);
  const { agentStream, DEFAULT_SOCKET } = await import('../../agent/client.js');
  const { eventLine, lostLine } = await import('../render/watch.js');
  const socket = f.agent === true || f.agent === undefined ? DEFAULT_SOCKET : f.agent;
  const out = await watchOutput(ctx, count, duration);
  // Once the agent accepted the stream, as the local watch starts its view once its source is ready.
  const onOpen = (): void => {
    if (!out.open(`doorbells via the agent at ${socket} — Ctrl-C stops`) && !ctx.json) writeErr(`epctl: watching doorbells through the agent at ${socket}\n`);
  };
  let dropped: { reason: string } | undefined;
  try {
    await agentStream(socket, '/v1/doorbells/events', out.signal, (line) => {
      if (out.signal.aborted) return;
      let e: AgentStreamEvent | DroppedLine;
      try {
        e = JSON.parse(line) as AgentStreamEvent | DroppedLine;
      } catch {
        throw new EpctlError(`the stream from ${socket} holds a line that is not JSON: it is not an epctl agent`, { exitCode: EXIT.AGENT_UNAVAILABLE, hint: 'give --agent the socket `epctl agent` serves (systemctl status epctl)' });
      }
      if (e.event === 'dropped') {
        dropped = e;
        if (ctx.json) writeOut(`${line}\n`);
        out.abort();
        return;
      }
      if (e.event === 'lost') {
        const l = e;
        out.lost(l.count, () => (ctx.json ? line : lostLine(l)));
        return;
      }
      // --controller: that controller's doorbells, and those whose controller is unknown, as the local watch keeps them.
      if (f.controller !== undefined && e.controller !== null && e.controller !== f.controller) return;
      const ev = e;
      out.event(ev, () => (ctx.json ? line : eventLine(ev)));
    }, onOpen);
    out.done();
    if (dropped)
      throw new EpctlError(`the agent at ${socket} dropped this watch: ${dropped.reason}`, { exitCode: EXIT.ERROR, hint: 'read the output as it comes (not through a stalled pipe), or watch the board directly without --agent' });
    if (!ctx.json && !out.tty) writeErr(`epctl: ${out.seen()} events (agent)\n`);
    return EXIT.OK;
  } finally {
    out.done();
  }
}
