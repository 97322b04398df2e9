// The host's verdicts on what the guest reported: the probe's doorbell verdict for each DT
// variant and its JSON against the fake's qemu-virt profile at the same release; the vNTB
// doorbell rows and counts; the NTB links across two EPCs. Each check returns findings
// (empty = pass) and the detail to print.
import { probe } from '../../src/probe/probe.js';
import { createFakeKernel } from '../../src/fake/index.js';
import { DOORBELL_ACTION, parseInterrupts, type IrqRow } from '../../src/procfs/interrupts.js';
import { doorbellRows } from '../../src/doorbell/irqs.js';
import type { DtVariant } from './dts.js';
import { jsonDiff } from './json-diff.js';

export interface CheckResult {
  readonly name: string;
  readonly findings: string[];
  readonly notes: string[];
}

/** The fake's board profile for each DT variant (src/boards/qemu-virt.ts); two-epc has none. */
export const VARIANT_BOARD: Readonly<Record<DtVariant, string | undefined>> = {
  'msi-map': 'qemu-virt',
  'msi-parent': 'qemu-virt-msi-parent',
  'no-msi': 'qemu-virt-no-msi',
  'two-epc': undefined,
};

interface ProbeJson {
  source?: unknown;
  kernel?: { release?: string; doorbellCode?: boolean };
  controllers?: { name: string; doorbell?: { capable?: boolean; code?: string } }[];
}

/** What the fake says for the same board and release, as JSON. */
export async function fakeProbe(board: string, release: string): Promise<unknown> {
  return JSON.parse(JSON.stringify(await probe(createFakeKernel({ board, kernel: release }))));
}

/** Probe on one variant: the verdict matches the wiring, and the JSON matches the fake (source aside). */
export async function checkProbe(variant: DtVariant, release: string, doorbellExpected: boolean, data: unknown): Promise<CheckResult> {
  const name = `probe on ${variant}`;
  const d = data as { exitCode: number; json?: ProbeJson; stderr?: string; error?: string };
  const findings: string[] = [];
  const notes: string[] = [];
  if (!d.json) return { name, findings: [`epctl probe --json printed no JSON (exit ${d.exitCode}): ${(d.error ?? d.stderr ?? "").trim()}`], notes };
  const real = d.json;
  if (real.kernel?.release !== release) findings.push(`kernel.release is ${real.kernel?.release}, the lane built ${release}`);
  if (real.kernel?.doorbellCode !== doorbellExpected) findings.push(`kernel.doorbellCode is ${real.kernel?.doorbellCode}, expected ${doorbellExpected} for ${release}`);
  const main = real.controllers?.find((c) => c.name === '7e000000.pcie-ep');
  const capable = doorbellExpected && (variant === 'msi-map' || variant === 'two-epc');
  if (!main) findings.push('no controller 7e000000.pcie-ep in the probe');
  else {
    if (main.doorbell?.capable !== capable) findings.push(`7e000000.pcie-ep doorbell.capable is ${main.doorbell?.capable}, expected ${capable} (${variant}, ${release})`);
    notes.push(`verdict ${main.doorbell?.code} (capable ${main.doorbell?.capable})`);
  }
  const board = VARIANT_BOARD[variant];
  if (board) {
    const { source: _r, ...realRest } = real;
    const { source: _f, ...fakeRest } = (await fakeProbe(board, release)) as ProbeJson;
    const diff = jsonDiff(realRest, fakeRest);
    findings.push(...diff.map((l) => `real vs fake ${board} @ ${release}: ${l}`));
    if (!diff.length) notes.push(`JSON identical to the fake's ${board} at ${release} (source aside)`);
  } else notes.push(`controllers: ${(real.controllers ?? []).map((c) => `${c.name} ${c.doorbell?.code}`).join(', ')} (no fake profile for ${variant})`);
  return { name, findings, notes };
}

interface VntbData {
  steps: { step: string; result: string }[];
  afterLink: string;
  afterStart: string;
  ctrl?: { dbData: number[]; dbOffset: number[] };
  rings?: { doorbell: number; address: string; data: number; interrupts: string }[];
}

function rowsByHwirq(text: string, epc: string): Map<number, IrqRow> {
  return new Map(doorbellRows(parseInterrupts(text), epc).map((r) => [r.hwirq ?? -1, r]));
}

const total = (r: IrqRow | undefined) => (r ? r.counts.reduce((a, b) => a + b, 0) : NaN);

/** vNTB: every step succeeded; with the doorbell, N rows on ITS-pMSI-<epc> each counting exactly one per ring; without, none. */
export function checkVntb(epc: string, dbCount: number, doorbellExpected: boolean, data: unknown): CheckResult {
  const d = data as VntbData;
  const name = `vNTB doorbell (db_count ${dbCount})`;
  const findings = d.steps.filter((s) => s.result !== 'ok').map((s) => `${s.step}: ${s.result}`);
  const notes: string[] = [];
  const rows = rowsByHwirq(d.afterStart, epc);
  if (!doorbellExpected) {
    if (rows.size) findings.push(`${rows.size} rows on ITS-pMSI-${epc} on a kernel without doorbell code`);
    else notes.push(`linked and started with no doorbell rows (polling fallback)`);
    return { name, findings, notes };
  }
  if (rows.size !== dbCount) findings.push(`${rows.size} rows on ITS-pMSI-${epc} after start, expected ${dbCount}`);
  const names = [...new Set([...rows.values()].flatMap((r) => r.actions))];
  notes.push(`rows: ${[...rows.values()].map((r) => `irq ${r.irq} hwirq ${r.hwirq} ${r.actions.join(',')}`).join('; ')}`);
  if (d.ctrl) notes.push(`db_data ${JSON.stringify(d.ctrl.dbData)}, db_offset ${JSON.stringify(d.ctrl.dbOffset.map((o) => `0x${o.toString(16)}`))}`);
  if (names.length && !names.every((n) => n === DOORBELL_ACTION.pci_epf_vntb)) findings.push(`doorbell action names ${names.join(', ')}, expected ${DOORBELL_ACTION.pci_epf_vntb}`);
  let before = rows;
  for (const ring of d.rings ?? []) {
    const after = rowsByHwirq(ring.interrupts, epc);
    for (const [hw, row] of after) {
      const delta = total(row) - total(before.get(hw));
      const want = hw === ring.doorbell ? 1 : 0;
      if (delta !== want) findings.push(`ringing doorbell ${ring.doorbell} (${ring.address} ← ${ring.data}) moved hwirq ${hw} by ${delta}, expected ${want}`);
    }
    before = after;
  }
  if ((d.rings ?? []).length !== dbCount) findings.push(`rang ${(d.rings ?? []).length} doorbells, expected ${dbCount}`);
  else if (!findings.length) notes.push(`each of the ${dbCount} doorbells counted exactly once`);
  return { name, findings, notes };
}

/** NTB across two EPCs: report every step's outcome; a refused step is a finding. */
export function checkNtb(data: unknown): CheckResult {
  const d = data as { steps: { step: string; result: string }[]; listing?: { primary: string[]; secondary: string[] } };
  const findings = d.steps.filter((s) => s.result !== 'ok').map((s) => `${s.step}: ${s.result}`);
  const notes = d.listing ? [`primary/ ${JSON.stringify(d.listing.primary)}, secondary/ ${JSON.stringify(d.listing.secondary)}`] : [];
  return { name: 'NTB primary/secondary across two EPCs', findings, notes };
}
