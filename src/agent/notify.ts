// systemd's notification protocol (sd_notify(3)) for a Type=notify service, without an addon:
// Node has no AF_UNIX datagram sockets, so each message is sent by running systemd-notify(1)
// with VARIABLE=VALUE arguments (an argument array, never a shell). The unit says
// NotifyAccess=all, since the sender is that child, not the main PID. Outside systemd
// (no NOTIFY_SOCKET) every call is a no-op, so the agent runs the same in a terminal.
import { execa } from 'execa';

export interface Notifier {
  /** Whether a service manager listens (NOTIFY_SOCKET is set). */
  readonly active: boolean;
  /**
   * The watchdog period systemd expects pings within (WatchdogSec=), in ms, or null when none
   * is asked of this process (WATCHDOG_USEC unset, or WATCHDOG_PID names another process).
   */
  readonly watchdogMs: number | null;
  /** Sends the assignments (READY=1, STATUS=…, WATCHDOG=1, STOPPING=1, RELOADING=1). */
  notify(fields: Readonly<Record<string, string>>): Promise<void>;
}

export type Run = (file: string, args: readonly string[]) => Promise<unknown>;

/** sd_watchdog_enabled(3): WATCHDOG_USEC, for this process only when WATCHDOG_PID is set. */
export function watchdogMs(env: NodeJS.ProcessEnv, pid: number): number | null {
  const usec = Number(env['WATCHDOG_USEC']);
  if (!Number.isSafeInteger(usec) || usec <= 0) return null;
  const owner = env['WATCHDOG_PID'];
  if (owner !== undefined && Number(owner) !== pid) return null;
  return usec / 1000;
}

/** A STATUS= value on one line (systemd shows the first line only), bounded. */
export const statusLine = (s: string): string => s.replace(/[\r\n]+/g, ' ').slice(0, 200);

export function systemdNotifier(env: NodeJS.ProcessEnv = process.env, run: Run = (file, args) => execa(file, args, { stdin: 'ignore', timeout: 5000 })): Notifier {
  const active = typeof env['NOTIFY_SOCKET'] === 'string' && env['NOTIFY_SOCKET'] !== '';
  return {
    active,
    watchdogMs: watchdogMs(env, process.pid),
    async notify(fields) {
      if (!active) return;
      const args = Object.entries(fields).map(([k, v]) => `${k}=${k === 'STATUS' ? statusLine(v) : v}`);
      await run('systemd-notify', args);
    },
  };
}
