// Runs the built epctl as a person would: a separate process, its exit code, stdout, stderr.
import { execa } from 'execa';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const BIN = path.resolve('dist/epctl.js');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  /** Extra environment, e.g. TMPDIR to give the run its own temp directory. */
  env?: Record<string, string>;
  /** Kill it after this long (a hang is a failure, not a stuck suite). */
  timeout?: number;
}

export async function epctl(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  const r = await execa(process.execPath, [BIN, ...args], {
    reject: false,
    cwd: opts.cwd ?? process.cwd(),
    env: { NO_COLOR: '1', ...opts.env },
    timeout: opts.timeout ?? 20_000,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** A user's mistake must never print a stack trace. */
export function noStackTrace(r: CliResult): boolean {
  return !/\n\s+at .+:\d+:\d+/.test(r.stderr) && !r.stderr.includes('internal error');
}

/** One line saying what is wrong, then a `fix:` line: the shape of every refusal. */
export function isOneLineRefusal(r: CliResult): boolean {
  const lines = r.stderr.trimEnd().split('\n');
  return lines.length === 2 && lines[0]!.startsWith('epctl: ') && /^ {2}fix: \S/.test(lines[1]!);
}

/**
 * A directory for one test, removed by `dispose`: `dir` to work in, `tmp` to hand the CLI as
 * its TMPDIR, so what the run leaves in its temp directory can be listed exactly.
 */
export async function sandbox(): Promise<{ dir: string; tmp: string; env: Record<string, string>; leftInTmp(): Promise<string[]>; dispose(): Promise<void> }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'epctl-e2e-'));
  const dir = path.join(root, 'work');
  const tmp = path.join(root, 'tmp');
  await fs.mkdir(dir);
  await fs.mkdir(tmp);
  return {
    dir,
    tmp,
    env: { TMPDIR: tmp },
    leftInTmp: () => fs.readdir(tmp),
    dispose: async () => {
      // Undo chmods a test made, so the tree can go.
      await fs.chmod(dir, 0o755).catch(() => undefined);
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}
