// `epctl agent` as a child process in the e2e tests: started from the build, its JSON log lines
// parsed as they come, waited on by predicate; every child and temp dir of a test is gone after it.
import { afterEach } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BIN } from './cli.js';

export type Line = { msg: string; [k: string]: unknown };

/** Resolves once WHAT holds, polling; the error says what was seen instead. */
export async function until(what: () => boolean, seen: () => unknown, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error(`never happened; seen: ${JSON.stringify(seen(), null, 1)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Splits a stream into lines as they come, each handed to ON. */
export function eachLine(stream: NodeJS.ReadableStream, on: (line: string) => void): void {
  let rest = '';
  stream.on('data', (b: Buffer) => {
    rest += b.toString();
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      on(rest.slice(0, nl));
      rest = rest.slice(nl + 1);
    }
  });
}

/** Registers the cleanup of the calling test file; returns how to make temp dirs and start agents. */
export function agentProcesses(prefix: string) {
  const dirs: string[] = [];
  const children: ResultPromise[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill('SIGKILL');
      await c.catch(() => undefined);
    }
    for (const d of dirs.splice(0)) await fs.rm(d, { recursive: true, force: true });
  });
  return {
    /** Another child process, killed after the test. */
    track<T extends ResultPromise>(child: T): T {
      children.push(child);
      return child;
    },
    /** A temp dir removed after the test. */
    async tempDir(): Promise<string> {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
    /** Starts the agent; `lines` fills with its parsed JSON log lines, `stderr()` with what it says there. */
    startAgent(args: string[], env: Record<string, string> = {}) {
      const child = execa(process.execPath, [BIN, 'agent', ...args], { reject: false, env: { NO_COLOR: '1', ...env }, stdin: 'ignore', buffer: false });
      children.push(child);
      const lines: Line[] = [];
      let stderr = '';
      child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      eachLine(child.stdout!, (line) => {
        try {
          lines.push(JSON.parse(line) as Line);
        } catch {
          lines.push({ msg: `not JSON: ${line}` });
        }
      });
      const count = (what: (l: Line) => boolean): number => lines.filter(what).length;
      return {
        child,
        lines,
        stderr: () => stderr,
        count,
        /** Waits for the Nth log line (1 by default) that WHAT accepts. */
        until: (what: (l: Line) => boolean, n = 1, ms = 20_000) => until(() => count(what) >= n, () => ({ lines, stderr }), ms),
      };
    },
  };
}
