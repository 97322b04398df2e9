// What `probe` and `doorbell status` already compute, as a list of pass/fail/skip checks for a
// board farm's test reports (src/report/tap.ts, src/report/junit.ts). Nothing new is read
// here: each check restates one fact of BoardState or DoorbellStatus. A check is skipped only
// where it cannot apply (no configfs to look in, a controller with no link-state reading at
// all, a function whose driver has no doorbell); everything else passes or fails.
import type { BoardState, Problem } from '../probe/probe.js';
import type { DoorbellStatus, ControllerDoorbells, FunctionDoorbells } from '../doorbell/status.js';
import { describeLtssm, type LinkState } from '../debugfs/ltssm.js';

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface Check {
  /** What is checked, in a few words: "configfs mounted", "4c300000.pcie-ep doorbell verdict". */
  name: string;
  status: CheckStatus;
  /** Why it passed, failed or was skipped: one sentence. */
  message: string;
  /** More lines for a failure: the fix, the problems behind it. */
  details: string[];
}

const check = (name: string, status: CheckStatus, message: string, details: string[] = []): Check => ({ name, status, message, details });
const problemLines = (ps: readonly Problem[]): string[] => ps.flatMap((p) => [`${p.path}: ${p.message}`, `  fix: ${p.hint}`]);

/** Problems no board-level check below names: they fail "kernel data readable". */
const DATA_PROBLEMS = new Set<Problem['code']>(['bad-interrupts', 'bad-kernel-data', 'unreadable-file']);

/** The board-level checks both commands share. */
function boardChecks(s: { kernelRelease: string | null; configfs: BoardState['configfs']; controllers: number; problems: Problem[] }): Check[] {
  const of = (...codes: Problem['code'][]) => s.problems.filter((p) => codes.includes(p.code));
  const out: Check[] = [];
  const noVersion = of('no-kernel-version');
  out.push(s.kernelRelease !== null ? check('kernel release known', 'pass', s.kernelRelease) : check('kernel release known', 'fail', noVersion[0]?.message ?? 'the kernel release is unknown', problemLines(noVersion)));
  {
    const c = s.configfs;
    out.push(c.mounted ? check('configfs mounted', 'pass', `configfs at ${c.mountPoint ?? '/sys/kernel/config'}`) : check('configfs mounted', 'fail', of('no-configfs')[0]?.message ?? 'configfs is not mounted', problemLines(of('no-configfs'))));
    out.push(
      !c.mounted
        ? check('pci_ep in configfs', 'skip', 'configfs is not mounted, so there is no pci_ep to look for')
        : c.endpoint
          ? check('pci_ep in configfs', 'pass', 'the kernel has the PCI endpoint configfs')
          : check('pci_ep in configfs', 'fail', of('no-endpoint-configfs')[0]?.message ?? 'no pci_ep in configfs', problemLines(of('no-endpoint-configfs'))),
    );
  }
  const noCtrl = of('no-controller');
  out.push(s.controllers > 0 ? check('endpoint controllers', 'pass', `${s.controllers} controller${s.controllers === 1 ? '' : 's'} probed`) : check('endpoint controllers', 'fail', noCtrl[0]?.message ?? 'no endpoint controller probed', problemLines(noCtrl)));
  const dt = of('no-device-tree', 'bad-device-tree');
  out.push(dt.length === 0 ? check('device tree readable', 'pass', 'the doorbell verdicts could read the device tree') : check('device tree readable', 'fail', dt[0]!.message, problemLines(dt)));
  const data = s.problems.filter((p) => DATA_PROBLEMS.has(p.code));
  out.push(data.length === 0 ? check('kernel data readable', 'pass', 'every kernel file read was usable') : check('kernel data readable', 'fail', data[0]!.message, problemLines(data)));
  return out;
}

function verdictCheck(name: string, v: { capable: boolean; reason: string; ringLost?: true }, fix?: string): Check {
  const n = `${name} doorbell verdict`;
  if (v.capable && !v.ringLost) return check(n, 'pass', v.reason);
  return check(n, 'fail', v.reason, fix ? ['fix:', ...fix.split('\n').map((l) => `  ${l}`)] : []);
}

/** The checks of `epctl probe`. */
export function probeChecks(state: BoardState): Check[] {
  const out = boardChecks({ kernelRelease: state.kernel.release, configfs: state.configfs, controllers: state.controllers.length, problems: state.problems });
  for (const c of state.controllers) {
    out.push(
      !state.configfs.endpoint
        ? check(`${c.name} in configfs`, 'skip', 'there is no pci_ep in configfs to list it')
        : c.inConfigfs
          ? check(`${c.name} in configfs`, 'pass', `pci_ep/controllers/${c.name}`)
          : check(`${c.name} in configfs`, 'fail', `${c.name} probed but is not under pci_ep/controllers`),
    );
    out.push(verdictCheck(c.name, c.doorbell, c.doorbell.fix ?? c.doorbell.fixMissing));
  }
  return out;
}

function linkCheck(c: ControllerDoorbells): Check {
  const n = `${c.name} link up`;
  const l: LinkState = c.link;
  if (l.available) return l.linkUp ? check(n, 'pass', describeLtssm(l)) : check(n, 'fail', describeLtssm(l), [`read from ${l.path}`]);
  // No reading exists for this controller or kernel: the check does not apply. A reading that
  // exists but could not be used is a failure.
  if (l.why === 'permission' || l.why === 'unreadable') return check(n, 'fail', l.reason, [`fix: ${l.hint}`]);
  return check(n, 'skip', `no link-state reading: ${l.reason}`);
}

function functionCheck(f: FunctionDoorbells): Check {
  const n = `${f.function} doorbell ready`;
  if (!f.doorbellDriver) return check(n, 'skip', `${f.driver} has no RC-to-EP doorbell`);
  return check(n, f.ready ? 'pass' : 'fail', f.reason, f.ready ? [] : f.notes);
}

/** The checks of `epctl doorbell status`. */
export function doorbellChecks(s: DoorbellStatus): Check[] {
  const controllers = s.controllers.length;
  // doorbell status keeps probe's problems, not its configfs facts: they are read back from those.
  const has = (code: Problem['code']) => s.problems.some((p) => p.code === code);
  const mounted = !has('no-configfs');
  const configfs = { mounted, mountPoint: null, endpoint: mounted && !has('no-endpoint-configfs') };
  const out = boardChecks({ kernelRelease: s.kernel.release, configfs, controllers, problems: s.problems });
  const fns = [...s.controllers.flatMap((c) => c.functions), ...s.unlinked].filter((f) => f.doorbellDriver);
  out.push(fns.length > 0 ? check('doorbell functions exist', 'pass', `${fns.length} pci_epf_test or pci_epf_vntb function${fns.length === 1 ? '' : 's'}`) : check('doorbell functions exist', 'fail', 'no pci_epf_test or pci_epf_vntb function exists', ['fix: `epctl apply -c examples/pci-epf-vntb.yaml` makes one']));
  for (const c of s.controllers) {
    out.push(verdictCheck(c.name, c.verdict));
    out.push(linkCheck(c));
    out.push(
      c.unclaimed.length === 0
        ? check(`${c.name} no unclaimed doorbell rows`, 'pass', 'every doorbell row belongs to a linked function')
        : check(`${c.name} no unclaimed doorbell rows`, 'fail', `${c.unclaimed.length} doorbell row${c.unclaimed.length === 1 ? '' : 's'} no linked function accounts for`, c.unclaimed.map((r) => `irq ${r.virq} on ${r.chip}`)),
    );
    for (const f of c.functions) out.push(functionCheck(f));
  }
  for (const f of s.unlinked) out.push(functionCheck(f));
  return out;
}
