// Runs the built epctl as a person would: a separate process, its exit code, stdout, stderr.
import { execa } from 'execa';
import path from 'node:path';

export const BIN = path.resolve('dist/epctl.js');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function epctl(args: readonly string[], opts: { cwd?: string } = {}): Promise<CliResult> {
  const r = await execa(process.execPath, [BIN, ...args], { reject: false, cwd: opts.cwd ?? process.cwd(), env: { NO_COLOR: '1' } });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** A user's mistake must never print a stack trace. */
export function noStackTrace(r: CliResult): boolean {
  return !/\n\s+at .+:\d+:\d+/.test(r.stderr) && !r.stderr.includes('internal error');
}
