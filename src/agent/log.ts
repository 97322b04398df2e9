// The agent's log: pino, one JSON object per line on stdout (journald stores stdout of a
// service line by line), or pino-pretty's readable lines when stdout is a terminal. Written
// synchronously, so the last lines before an exit are never lost.
import type { AgentLog } from './agent.js';

/** Resolves to { log } (a pino logger is not returned bare from an async function: it is thenable-shaped to TypeScript). */
export async function agentLogger(level: string, tty: boolean): Promise<{ log: AgentLog }> {
  const pino = (await import('pino')).default;
  if (!tty) return { log: pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 1, sync: true })) };
  const pretty = (await import('pino-pretty')).default;
  return { log: pino({ level, base: undefined }, pretty({ colorize: !process.env['NO_COLOR'], sync: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' })) };
}
