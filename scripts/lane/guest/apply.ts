// Scenario `apply`: epctl's declarative commands on the real kernel, as a person runs them
// (apply, re-apply, status, clear, a failing apply that rolls back), each with its exit code,
// its JSON and the kernel log it caused; the host judges them (checks.ts checkApply).
import fs from 'node:fs/promises';
import { run } from './run.js';
import type { Scenario } from './scenarios.js';

/** One command: files to write first (configs), then `epctl ARGS`. */
export interface ApplyStep {
  args: string[];
  files?: Record<string, string>;
}

export const apply: Scenario = async (params, ctx) => {
  const out: unknown[] = [];
  for (const s of (params as { steps: ApplyStep[] }).steps) {
    for (const [file, text] of Object.entries(s.files ?? {})) await fs.writeFile(file, text);
    ctx.op(`epctl ${s.args.join(' ')}`);
    const r = await run(process.execPath, ['/lane/epctl.cjs', ...s.args]);
    let json: unknown;
    try {
      json = JSON.parse(r.stdout);
    } catch {
      json = undefined;
    }
    out.push({ args: s.args, exitCode: r.exitCode, json, ...(json === undefined ? { stdout: r.stdout } : {}), stderr: r.stderr, ...(r.error ? { error: r.error } : {}), kmsg: ctx.kmsg() });
  }
  return out;
};
