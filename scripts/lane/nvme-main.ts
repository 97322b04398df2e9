// The lane's NVMe endpoint observation (scripts/lane/guest/nvme.ts) alone, on the newest kernel
// (nvmet_pci_epf is v6.14+; the 6.12 LTS has none): one boot of the msi-map variant, every Op's
// result and kernel log printed, and with --record the run written as a kernel trace
// test/fixtures/kernel/<release>/qemu-virt-nvmet.json that `npm test` replays against the fake.
// The verdict: every Op answered, and the fake (board qemu-virt, same release) answers the same
// after the differential's normalisation (src/lane/normalise.ts).
// Usage: node scripts/run-ts.mjs scripts/lane/nvme-main.ts [--kernel newest|lts] [--record]
import fs from 'node:fs/promises';
import path from 'node:path';
import { bootGuest, BootError, type PreparedGuest } from './boot.js';
import { LaneError } from './errors.js';
import { REPO } from './paths.js';
import { prepareGuest, prepareShared } from './prepare.js';
import { say, Steps } from './steps.js';
import { FIXTURE_ROOT, traceText, type KernelTrace } from '../../src/lane/fixture.js';
import { describeOp, type OpResult } from '../../src/lane/ops.js';
import { fakeResults, formatDivergence } from '../../src/lane/differential.js';
import { firstDivergence } from '../../src/lane/normalise.js';
import type { GuestRecord } from './guest/protocol.js';
import { nvmeOps } from './guest/nvme.js';

const EPC = '7e000000.pcie-ep';

/** The scenario's `data` records {i, r}, in Op order up to the first gap. */
function results(records: readonly GuestRecord[]): OpResult[] {
  const by = new Map<number, OpResult>();
  for (const r of records) if (r.type === 'data' && r.scenario === 'nvme') {
    const d = r.data as { i: number; r: OpResult };
    by.set(d.i, d.r);
  }
  const out: OpResult[] = [];
  while (by.has(out.length)) out.push(by.get(out.length)!);
  return out;
}

/** What one nvme boot showed: a verdict line, and the failure's detail. */
export interface NvmeOutcome {
  ok: boolean;
  note: string;
  findings: string[];
}

/** One boot of the nvme scenario on a prepared kernel, judged against the fake; `record` writes the trace. */
export async function nvmeStep(steps: Steps, g: PreparedGuest, record: boolean, verbose: boolean): Promise<NvmeOutcome> {
  return steps.run(`nvme endpoint ${g.kernel.release} msi-map`, async (note) => {
    const findings: string[] = [];
    let records: readonly GuestRecord[];
    try {
      records = (await bootGuest(g, { variant: 'msi-map', scenarios: [{ name: 'nvme', params: { epc: EPC } }], timeoutMs: 300_000 })).records;
    } catch (e) {
      if (!(e instanceof BootError)) throw e;
      findings.push(`boot broke: ${e.message}`);
      records = e.result.records ?? [];
    }
    const ops = nvmeOps(EPC);
    const res = results(records);
    if (verbose) for (const [i, r] of res.entries()) say(`[nvme] ${i}: ${describeOp(ops[i]!)} => ${JSON.stringify(r)}`);
    const end = records.find((r) => r.type === 'result');
    if (end && !end.ok) findings.push(`scenario error: ${end.error}`);
    if (res.length !== ops.length) findings.push(`${res.length} of ${ops.length} ops answered`);
    if (record && res.length) {
      const t: KernelTrace = { format: 'epctl-kernel-trace', version: 1, board: 'qemu-virt', release: g.kernel.release, seed: 0, ops: ops.slice(0, res.length), results: res };
      const dir = path.join(REPO, FIXTURE_ROOT, t.release);
      await fs.mkdir(dir, { recursive: true });
      const file = path.join(dir, 'qemu-virt-nvmet.json');
      await fs.writeFile(file, traceText(t));
      say(`[nvme] recorded ${file}`);
    }
    const answered = ops.slice(0, res.length);
    const fake = await fakeResults('qemu-virt', g.kernel.release, answered);
    const d = firstDivergence(answered, res, fake);
    if (d) findings.push(`the fake diverges\n${formatDivergence({ seed: 0, board: 'qemu-virt', release: g.kernel.release, ops: answered, real: res, fake, divergence: d })}`);
    const out = { ok: findings.length === 0, note: `${res.length} of ${ops.length} ops answered${d ? '' : ', the fake answers them the same'}`, findings };
    note(out.note);
    return out;
  });
}

export async function main(args: string[]): Promise<number> {
  const record = args.includes('--record');
  // --kernel lts: the same Ops on the 6.12 LTS, which has nvmet but no nvmet_pci_epf (its refusals, recorded too).
  const ki = args.indexOf('--kernel');
  const choice = ki >= 0 ? args[ki + 1] : 'newest';
  const bad = args.find((a, i) => a !== '--record' && !(i === ki || (ki >= 0 && i === ki + 1)));
  try {
    if (bad || (choice !== 'newest' && choice !== 'lts')) throw new LaneError('arguments', `unknown argument ${JSON.stringify(bad ?? choice)}`, 'usage: scripts/lane/nvme-main.ts [--kernel newest|lts] [--record]');
    const steps = new Steps();
    const shared = await prepareShared(steps);
    const g = await prepareGuest(steps, shared, choice);
    const out = await nvmeStep(steps, g, record, true);
    for (const f of out.findings) say(`[nvme] FAIL: ${f}`);
    say(`[nvme] ${out.ok ? 'PASS' : 'FAIL'}: ${out.note} on ${g.kernel.release}`);
    return out.ok ? 0 : 1;
  } catch (e) {
    say(`[lane] ERROR ${e instanceof LaneError ? `${e.step}: ${e.message}${e.fix ? `\n  fix: ${e.fix}` : ''}` : ((e as Error).stack ?? String(e))}`);
    return 1;
  }
}
