// Scenario `probe`: the bundled epctl's own `probe --json` on the real kernel, exactly as a
// user runs it; the host compares the JSON with the fake board profile.
import { run } from './run.js';
import type { Scenario } from './scenarios.js';

export const probe: Scenario = async (_params, ctx) => {
  ctx.op('epctl probe --json');
  const r = await run(process.execPath, ['/lane/epctl.cjs', 'probe', '--json']);
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { exitCode: r.exitCode, json, stderr: r.stderr, ...(r.error ? { error: r.error } : {}), ...(json === undefined ? { stdout: r.stdout } : {}) };
};
