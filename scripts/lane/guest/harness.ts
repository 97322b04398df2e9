// The guest harness: one Node process per boot runs every scenario of /lane/input.json in
// order and reports each as framed records on the console. It executes and reports only;
// judging, comparing and shrinking happen on the host.
import fs from 'node:fs';
import type { GuestInput } from './protocol.js';
import { KernelLogReader, Reporter } from './report.js';
import { SCENARIOS, type GuestContext } from './scenarios.js';

function uptime(): number {
  return Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

/** Runs the scenarios named in the input file; the exit status is 0 unless the harness itself broke. */
export async function main(argv: string[]): Promise<number> {
  const input = JSON.parse(fs.readFileSync(argv[0] ?? '/lane/input.json', 'utf8')) as GuestInput;
  const out = new Reporter();
  const kmsg = new KernelLogReader();
  kmsg.drain(); // the boot log went to the console already
  out.send({ type: 'hello', node: process.version, release: fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(), uptime: uptime() });
  let index = 0;
  for (const req of input.scenarios) {
    const scenario = req.name;
    const i = index++;
    out.send({ type: 'begin', index: i, scenario });
    const ctx: GuestContext = {
      op: (op) => out.send({ type: 'op', index: i, scenario, op }),
      data: (data) => out.send({ type: 'data', index: i, scenario, data }),
      kmsg: () => kmsg.drain(),
    };
    const t0 = performance.now();
    try {
      const run = SCENARIOS[scenario];
      if (!run) throw new Error(`unknown scenario ${JSON.stringify(scenario)}; the harness knows ${Object.keys(SCENARIOS).join(', ')}`);
      const data = await run(req.params ?? {}, ctx);
      out.send({ type: 'result', index: i, scenario, ok: true, ms: performance.now() - t0, data, kmsg: kmsg.drain() });
    } catch (e) {
      const err = e as Error;
      out.send({ type: 'result', index: i, scenario, ok: false, ms: performance.now() - t0, error: err.stack ?? String(err), kmsg: kmsg.drain() });
    }
  }
  out.send({ type: 'end', count: index, uptime: uptime() });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`epctl-lane harness: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
