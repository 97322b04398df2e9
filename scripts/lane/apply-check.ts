// The `apply` scenario's commands and their verdict (issue 8 on the real kernel): each example
// the QEMU board can host is applied, applied again with zero operations, shown by status and
// cleared; a config that fails at its last link (three functions on a controller with
// max-functions 2) is rolled back with the real kernel's errno and log, leaving the board empty.
import fs from 'node:fs';
import type { ApplyStep } from './guest/apply.js';
import type { CheckResult } from './checks.js';

const STATE = ['--state', '/tmp/epctl-state.json'];
const TOO_MANY = `version: 1
functions:
  - { driver: pci_epf_test, name: t0, controller: auto, msi_interrupts: 1, msix_interrupts: 1 }
  - { driver: pci_epf_test, name: t1, controller: auto, msi_interrupts: 1, msix_interrupts: 1 }
  - { driver: pci_epf_test, name: t2, controller: auto, msi_interrupts: 1, msix_interrupts: 1 }
`;

/** The commands, for a kernel with (vntbDoorbell) or without vNTB MSI doorbells (6.19+). */
export function applySteps(vntbDoorbell: boolean): ApplyStep[] {
  const test = fs.readFileSync('examples/pci-epf-test.yaml', 'utf8');
  let vntb = fs.readFileSync('examples/pci-epf-vntb.yaml', 'utf8');
  // Older kernels poll vNTB doorbells: plan refuses `doorbell: true` there, so the lane asks without it.
  if (!vntbDoorbell) vntb = vntb.replace(/^\s*doorbell: true\n/m, '');
  const cycle = (file: string): ApplyStep[] => [
    { args: ['apply', '-c', file, '--json', '--yes', ...STATE] },
    { args: ['apply', '-c', file, '--json', '--yes', ...STATE] },
    { args: ['status', '--json', ...STATE] },
    { args: ['clear', '--json', '--yes', ...STATE] },
    { args: ['status', '--json', ...STATE] },
  ];
  return [
    { args: ['status', '--json', ...STATE], files: { '/tmp/test.yaml': test, '/tmp/vntb.yaml': vntb, '/tmp/too-many.yaml': TOO_MANY } },
    ...cycle('/tmp/test.yaml'),
    ...cycle('/tmp/vntb.yaml'),
    { args: ['apply', '-c', '/tmp/too-many.yaml', '--json', '--yes', ...STATE] },
    { args: ['status', '--json', ...STATE] },
  ];
}

interface Ran {
  args: string[];
  exitCode: number;
  json?: { ok?: boolean; done?: { op: { kind: string } }[]; failure?: { code: string; kernelLog: string[] }; rollback?: { errors: unknown[] }; pciEp?: { functions: { driver: string; name: string; controllers: string[]; primary: string | null }[] } };
  stderr: string;
  kmsg: string[];
}

export function checkApply(data: unknown): CheckResult {
  const findings: string[] = [];
  const notes: string[] = [];
  const runs = data as Ran[];
  const at = (i: number): Ran => runs[i] ?? { args: [], exitCode: -1, stderr: 'missing', kmsg: [] };
  const fns = (r: Ran): string[] => (r.json?.pciEp?.functions ?? []).map((f) => `${f.driver}/${f.name}`);
  const expectThat = (ok: boolean, what: string, r: Ran): void => {
    if (!ok) findings.push(`${what}: \`epctl ${r.args.join(' ')}\` exited ${r.exitCode}${r.stderr ? `: ${r.stderr.trim().split('\n')[0]}` : ''}`);
  };
  expectThat(at(0).exitCode === 0 && fns(at(0)).length === 0, 'the board starts empty', at(0));
  for (const [base, name, fn] of [[1, 'pci-epf-test', 'pci_epf_test/func1'], [6, 'pci-epf-vntb', 'pci_epf_vntb/func1']] as const) {
    const [first, again, shown, cleared, after] = [at(base), at(base + 1), at(base + 2), at(base + 3), at(base + 4)];
    expectThat(first.exitCode === 0 && first.json?.ok === true && (first.json.done?.length ?? 0) > 0, `${name}: apply`, first);
    expectThat(again.exitCode === 0 && again.json?.done?.length === 0, `${name}: re-apply performs zero operations`, again);
    expectThat(shown.exitCode === 0 && fns(shown).includes(fn), `${name}: status shows ${fn}`, shown);
    expectThat(cleared.exitCode === 0 && cleared.json?.ok === true, `${name}: clear`, cleared);
    expectThat(after.exitCode === 0 && fns(after).length === 0, `${name}: the board is empty after clear`, after);
    notes.push(`${name}: ${first.json?.done?.length ?? '?'} operations, then 0`);
  }
  const failed = at(11);
  const failure = failed.json?.failure;
  expectThat(failed.exitCode === 1 && failure?.code === 'EINVAL', 'three functions on a two-function controller: the third link fails with the kernel\'s EINVAL', failed);
  expectThat((failed.json?.rollback?.errors.length ?? 1) === 0, 'and apply rolls back completely', failed);
  expectThat((failure?.kernelLog ?? []).some((l) => /Exceeding max supported Function Number/.test(l)), 'and reports the kernel\'s log line', failed);
  expectThat(at(12).exitCode === 0 && fns(at(12)).length === 0, 'the board is empty after the rollback', at(12));
  if (failure) notes.push(`rollback: ${failure.code}, kernel said "${failure.kernelLog.find((l) => /Exceeding/.test(l)) ?? '?'}"`);
  return { name: 'apply', findings, notes };
}
