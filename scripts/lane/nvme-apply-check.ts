// The host's side of scenario `nvme-apply` (steps: nvme-apply-steps.ts): the real run judged on
// its own (exit codes, ok flags, operation counts, the kernel's log lines), the same steps
// replayed on the fake qemu-virt of the same release, and a projection of both compared with
// jsonDiff — exit codes, the kinds and paths of the operations done, failure codes and their
// kernel log, rollback errors, the status's NVMe entries and nvmet tree — after normalising only
// what differs from run to run (the host NQN's uuid, the platform device's index). A difference
// is fixed in the fake, never here.
import type { CheckResult } from './checks.js';
import { withFake, type Cmd } from './doorbell-check.js';
import { jsonDiff } from './json-diff.js';
import { MODEL_A, MODEL_B, NVME_APPLY_NQN, nvmeApplySteps, type NvmeApplyParams } from './nvme-apply-steps.js';

// ---- the projection: what must be equal between the real kernel and the fake ----

type Attr = { text?: string; errno?: string } | undefined;
interface ApplyJson {
  ok?: boolean;
  done?: { op: { kind: string; path?: string } }[];
  failure?: { code: string; op: { kind: string; path?: string }; kernelLog: string[] };
  rollback?: { undone: number; errors: { step: string }[] };
  kernelLog?: string[];
  ops?: { kind: string; path?: string }[];
  refusals?: { where: string; reason: string }[];
  plan?: { refusals?: { where: string; reason: string }[] };
}
interface NvmeEntry {
  function: string;
  controller: ({ device: string; ioQueues: number | null; link: string | null } & Record<string, unknown>) | null;
  subsystem: { present: boolean } & Record<string, unknown>;
  nvmetPort: { present: boolean; exports?: boolean } & Record<string, unknown>;
  [k: string]: unknown;
}
interface StatusJson {
  pciEp?: { functions: { driver: string; name: string }[] };
  nvmet?: { present: boolean; subsystems: { nqn: string; attributes: Record<string, Attr>; namespaces: { nsid: number; attributes: Record<string, Attr> }[] }[]; ports: { id: number | null; name: string; subsystems: { name: string }[] }[] };
  nvme?: NvmeEntry[];
  ownership?: { functions: string[] };
  problems?: unknown[];
}

const rel = (p: string | undefined): string => (p ?? '').replace(/^\/sys\/kernel\/config\//, '');
const opLine = (o: { kind: string; path?: string }): string => `${o.kind} ${rel(o.path)}`;
/** What differs from run to run: the host NQN nvmet_pci_epf makes (uuid_gen) and the platform device's index. */
export const normaliseLine = (l: string): string => l.replace(/uuid:[0-9a-f-]{36}/g, 'uuid:<uuid>').replace(/nvmet_pci_epf\.\d+/g, 'nvmet_pci_epf.<n>');
const text = (a: Attr): string | undefined => a?.text?.replace(/\n$/, '');

function planView(c: Cmd | undefined) {
  const j = c?.json as ApplyJson | undefined;
  return { exitCode: c?.exitCode, ops: j?.ops?.map(opLine), refusals: j?.refusals?.map((r) => `${r.where}: ${r.reason}`) };
}

function applyView(c: Cmd | undefined) {
  const j = c?.json as ApplyJson | undefined;
  return {
    exitCode: c?.exitCode,
    ok: j?.ok,
    done: j?.done?.map((d) => opLine(d.op)),
    refusals: j?.plan?.refusals?.map((r) => `${r.where}: ${r.reason}`),
    failure: j?.failure && { code: j.failure.code, op: opLine(j.failure.op), kernelLog: j.failure.kernelLog.map(normaliseLine) },
    rollback: j?.rollback && { undone: j.rollback.undone, errors: j.rollback.errors.map((e) => e.step) },
  };
}

function statusView(c: Cmd | undefined) {
  const j = c?.json as StatusJson | undefined;
  return {
    exitCode: c?.exitCode,
    functions: (j?.pciEp?.functions ?? []).map((f) => `${f.driver}/${f.name}`),
    owned: j?.ownership?.functions,
    nvme: (j?.nvme ?? []).map((e) => ({ ...e, controller: e.controller && { ...e.controller, device: normaliseLine(e.controller.device) } })),
    subsystems: (j?.nvmet?.subsystems ?? []).map((s) => ({
      nqn: s.nqn,
      model: text(s.attributes['attr_model']),
      namespaces: s.namespaces.map((n) => `${n.nsid} ${text(n.attributes['device_path'])} enable ${text(n.attributes['enable'])}`),
    })),
    ports: (j?.nvmet?.ports ?? []).map((p) => `${p.name}: ${p.subsystems.map((s) => s.name).join(',')}`),
    problems: j?.problems?.length,
  };
}

/** The projection of one run that the real kernel and the fake must agree on exactly. */
export function nvmeApplyView(r: Record<string, unknown>) {
  return {
    plan: planView(r.plan as Cmd),
    apply: applyView(r.apply as Cmd),
    applyAgain: r.applyAgain === undefined ? undefined : applyView(r.applyAgain as Cmd),
    status: r.status === undefined ? undefined : statusView(r.status as Cmd),
    applyB: r.applyB === undefined ? undefined : applyView(r.applyB as Cmd),
    statusB: r.statusB === undefined ? undefined : statusView(r.statusB as Cmd),
    bad: (r.bad as { device: string; apply: Cmd; status: Cmd }[] | undefined)?.map((b) => ({ device: b.device, apply: applyView(b.apply), status: statusView(b.status) })),
    clear: r.clear === undefined ? undefined : applyView(r.clear as Cmd),
    statusEnd: statusView(r.statusEnd as Cmd),
  };
}

// ---- the real run on its own ----

const OOPS = /Unable to handle kernel|Internal error: Oops|Kernel panic|BUG: |WARNING: CPU/;

export function checkNvmeApplyReal(r: Record<string, unknown>, p: NvmeApplyParams): { findings: string[]; notes: string[] } {
  const findings: string[] = [];
  const notes: string[] = [];
  const expect = (ok: boolean, what: string, c: Cmd | undefined): void => {
    if (!ok) findings.push(`${what}: \`epctl ${c?.args.join(' ') ?? '?'}\` exited ${c?.exitCode}${c?.stderr ? `: ${c.stderr.trim().split('\n')[0]}` : ''}`);
  };
  const all = Object.values(r).flatMap((v) => (Array.isArray(v) ? v.flatMap((b: Record<string, Cmd>) => [b.apply, b.status]) : [v as Cmd]));
  const oops = all.flatMap((c) => c?.kmsg ?? []).filter((l) => OOPS.test(l));
  if (oops.length) findings.push(`the kernel logged: ${oops.slice(0, 5).join(' / ')}`);
  const plan = r.plan as Cmd;
  const apply = r.apply as Cmd;
  const aj = apply?.json as ApplyJson | undefined;
  const end = statusView(r.statusEnd as Cmd);
  const empty = (s: ReturnType<typeof statusView>): boolean => s.exitCode === 0 && s.functions.length === 0 && s.subsystems.length === 0 && s.ports.length === 0 && s.nvme.length === 0;
  if (!p.supported) {
    const refused = (c: Cmd) => `${c?.stdout ?? ''}\n${c?.stderr ?? ''}\n${JSON.stringify(c?.json ?? '')}`.includes('arrived in Linux 6.14');
    expect(plan?.exitCode === 1 && refused(plan), 'plan refuses nvmet_pci_epf before 6.14', plan);
    expect(apply?.exitCode === 1 && (aj?.plan?.refusals ?? []).some((x) => x.reason.includes('arrived in Linux 6.14')) && aj?.done?.length === 0, 'apply refuses it too and writes nothing', apply);
    expect(empty(end), 'the board is empty (no function, no nvmet subsystem or port)', r.statusEnd as Cmd);
    notes.push(`plan refused: ${(plan?.json as ApplyJson | undefined)?.refusals?.map((x) => x.reason).join('; ') ?? '?'}`);
    return { findings, notes };
  }
  const made = (c: Cmd | undefined): string | undefined => ((c?.json as ApplyJson | undefined)?.kernelLog ?? []).find((l) => l.includes(`New PCI ctrl "${NVME_APPLY_NQN}", 1 I/O queues`));
  const up = (c: Cmd | undefined): NvmeEntry | undefined => {
    const e = (c?.json as StatusJson | undefined)?.nvme?.[0];
    return e && e.controller?.ioQueues === 1 && e.controller.link === 'up' && e.subsystem.present && e.nvmetPort.present && e.nvmetPort.exports ? e : undefined;
  };
  const model = (c: Cmd | undefined) => statusView(c).subsystems[0]?.model;
  expect(plan?.exitCode === 2 && ((plan.json as ApplyJson | undefined)?.ops?.length ?? 0) > 0, 'plan: changes to make (exit 2)', plan);
  expect(apply?.exitCode === 0 && aj?.ok === true && (aj.done?.length ?? 0) > 0, 'apply', apply);
  expect(made(apply) !== undefined, `apply: the kernel log says New PCI ctrl "${NVME_APPLY_NQN}", 1 I/O queues`, apply);
  const again = r.applyAgain as Cmd;
  expect(again?.exitCode === 0 && (again.json as ApplyJson | undefined)?.done?.length === 0, 'apply again: zero operations', again);
  expect(up(r.status as Cmd) !== undefined && model(r.status as Cmd) === MODEL_A, 'status: the controller (1 I/O queue, link up), its subsystem and port', r.status as Cmd);
  const b = r.applyB as Cmd;
  const bDone = ((b?.json as ApplyJson | undefined)?.done ?? []).map((d) => opLine(d.op));
  const unlinkAt = bDone.findIndex((l) => l.startsWith('unlink pci_ep/controllers/'));
  const remadeAt = bDone.findIndex((l) => l === `nvmet-rmdir nvmet/subsystems/${NVME_APPLY_NQN}`);
  expect(b?.exitCode === 0 && (b.json as ApplyJson | undefined)?.ok === true && made(b) !== undefined, 'a changed model: applied, and a new controller made', b);
  expect(unlinkAt >= 0 && remadeAt > unlinkAt, `a changed model: the function is unlinked (op ${unlinkAt}) before the subsystem is removed (op ${remadeAt})`, b);
  expect(up(r.statusB as Cmd) !== undefined && model(r.statusB as Cmd) === MODEL_B, 'status after the change: the controller is back, the model changed', r.statusB as Cmd);
  for (const x of r.bad as { device: string; apply: Cmd; status: Cmd }[]) {
    const j = x.apply?.json as ApplyJson | undefined;
    const f = j?.failure;
    expect(x.apply?.exitCode === 1 && j?.ok === false && f?.op.kind === 'write' && /\/namespaces\/1\/enable$/.test(f.op.path ?? ''), `namespace on ${x.device}: apply fails at the namespace's enable`, x.apply);
    expect((j?.rollback?.errors.length ?? 1) === 0, `namespace on ${x.device}: apply rolls back completely`, x.apply);
    expect(jsonDiff(statusView(r.statusB as Cmd), statusView(x.status)).length === 0 && up(x.status) !== undefined, `namespace on ${x.device}: after the rollback the board reads as before (controller back)`, x.status);
    if (f) notes.push(`namespace on ${x.device}: ${f.code} at ${opLine(f.op)}; the kernel said ${JSON.stringify(f.kernelLog.filter((l) => /failed to open/.test(l)))}; rollback undid ${j?.rollback?.undone} operations`);
  }
  const clear = r.clear as Cmd;
  expect(clear?.exitCode === 0 && (clear.json as ApplyJson | undefined)?.ok === true, 'clear', clear);
  expect(empty(end), 'the board is empty after clear (no function, no nvmet subsystem or port)', r.statusEnd as Cmd);
  notes.push(`apply: ${aj?.done?.length ?? '?'} operations, then 0; ${JSON.stringify(made(apply))}; the model change: ${bDone.length} operations`);
  return { findings, notes };
}

/** Judges the real result, replays the steps on the fake and compares the projections. */
export async function checkNvmeApplyScenario(release: string, params: NvmeApplyParams, real: Record<string, unknown>): Promise<CheckResult> {
  const name = 'nvme-apply (plan, apply, re-apply, status, a changed model, unusable namespaces rolled back, clear)';
  const own = checkNvmeApplyReal(real, params);
  const findings = [...own.findings];
  const notes = [...own.notes];
  const t0 = performance.now();
  let fake: Record<string, unknown>;
  try {
    fake = await withFake('qemu-virt', release, (env) => nvmeApplySteps(env, params));
  } catch (e) {
    findings.push(`the fake's replay failed: ${(e as Error).stack ?? String(e)}`);
    return { name, findings, notes };
  }
  const diff = jsonDiff(nvmeApplyView(real), nvmeApplyView(fake));
  findings.push(...diff.map((l) => `real vs fake qemu-virt @ ${release}: ${l}`));
  notes.push(diff.length ? `fake replay differs (${diff.length} lines)` : `identical to the fake qemu-virt @ ${release} on every compared field (fake replay ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return { name, findings, notes };
}

/**
 * What `--record-nvme-apply` keeps of a real run: test/fixtures/kernel/<release>/nvme-apply.json,
 * the projection the fake must reproduce, replayed by scripts/lane/nvme-apply-fixture.test.ts.
 */
export function nvmeApplyFixture(release: string, params: NvmeApplyParams, r: Record<string, unknown>): Record<string, unknown> {
  return { format: 'epctl-lane-nvme-apply', version: 1, board: 'qemu-virt', release, params, view: nvmeApplyView(r) };
}
