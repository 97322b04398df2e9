// THE normalisation of the differential test, written down before its first run and kept
// small on purpose: what differs between two boots of the same kernel, or that the fake cannot
// know, and nothing else. Every other difference between the real kernel and the fake is a
// divergence, fixed in the fake, never here.
//
//  1. Timestamps: log records carry none (./kmsg.ts keeps level and text only); a console-style
//     "[   39.218533] " prefix is removed.
//  2. Process ids: "PID: 50", "CPU#0: node/50", "node[50]" → the pid becomes "N".
//  3. The timer's IRQ count: the counts of an /proc/interrupts row whose action is arch_timer.
//  4. Register dumps in WARN/oops splats: between "------------[ cut here ]------------" (or
//     "Unable to handle kernel") and "---[ end trace", the lines "pstate:", "pc :", "lr :",
//     "sp :", "x<n>:" and "Code:" are dropped, and "+0x<off>/0x<size>" symbol offsets (build
//     addresses) are removed from what remains.
//  5. Random host NQNs: "nqn.2014-08.org.nvmexpress:uuid:<uuid>" (nvmet_pci_epf makes one from
//     uuid_gen() for every controller, drivers/nvme/target/pci-epf.c) → the uuid becomes "U".
import type { Op, OpResult } from './ops.js';

const TIMESTAMP = /^(<\d>)\[\s*\d+\.\d+\] /;
const PIDS: ReadonlyArray<[RegExp, string]> = [
  [/\bPID: \d+/g, 'PID: N'],
  [/(CPU#\d+: [^/\s]+)\/\d+/g, '$1/N'],
  [/(\S)\[\d+\]( exited)/g, '$1[N]$2'],
];
const SPLAT_START = /^<\d>(------------\[ cut here \]------------|Unable to handle kernel )/;
const SPLAT_END = /^<\d>---\[ end trace /;
const REGISTER_LINE = /^<\d>\s*(pstate: |pc : |lr : |sp : |x\d+ *: |Code: )/;
const SYMBOL_OFFSET = /\+0x[0-9a-f]+\/0x[0-9a-f]+/g;
const HOST_UUID = /(nqn\.2014-08\.org\.nvmexpress:uuid:)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** The log lines of one result, normalised (rules 1, 2, 4, 5). */
export function normaliseLog(lines: readonly string[]): string[] {
  const out: string[] = [];
  let inSplat = false;
  for (const raw of lines) {
    let line = raw.replace(TIMESTAMP, '$1');
    for (const [re, to] of PIDS) line = line.replace(re, to);
    line = line.replace(HOST_UUID, '$1U');
    if (SPLAT_START.test(line)) inSplat = true;
    if (inSplat) {
      if (REGISTER_LINE.test(line)) continue;
      line = line.replace(SYMBOL_OFFSET, '');
    }
    if (SPLAT_END.test(line)) inSplat = false;
    out.push(line);
  }
  return out;
}

/** An /proc/interrupts row with the timer's counts blanked (rule 3). */
export function normaliseIrqRow(row: string): string {
  if (!/\barch_timer\b/.test(row)) return row;
  return row.replace(/^(\s*\w+:)((?:\s+\d+)+)/, (_m, id: string, counts: string) => id + counts.replace(/\d+/g, 'N'));
}

/** A result as it is compared. */
export function normaliseResult(r: OpResult): OpResult {
  return {
    ...r,
    ...(r.rows === undefined ? {} : { rows: r.rows.map(normaliseIrqRow) }),
    log: normaliseLog(r.log),
  };
}

/** Where the two sides first disagree. */
export interface Divergence {
  index: number;
  op: Op;
  real: OpResult | undefined;
  fake: OpResult | undefined;
}

/** The first Op whose normalised results differ (a missing result on one side counts). */
export function firstDivergence(ops: readonly Op[], real: readonly OpResult[], fake: readonly OpResult[]): Divergence | undefined {
  const n = Math.max(real.length, fake.length);
  for (let i = 0; i < n; i++) {
    const a = real[i];
    const b = fake[i];
    if (a && b && canonical(normaliseResult(a)) === canonical(normaliseResult(b))) continue;
    return { index: i, op: ops[i]!, real: a, fake: b };
  }
  return undefined;
}

/** JSON with sorted keys and no undefined fields, so field order never matters. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).filter(([, y]) => y !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}
