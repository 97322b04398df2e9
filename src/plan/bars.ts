// The BARs a function's config names, against a BAR its controller reserves for the DMA
// registers (DoorbellVerdict.reservedBar / doorbellBar, from devicetree/dwc.ts dmaCtrlBar):
// what plan() refuses before any write. The kernel rules, as 7.3.4 has them:
// - EPF drivers never pick a BAR_RESERVED BAR (pci_epc_get_next_free_bar): pci-epf-test skips it,
//   so its barN_size sets nothing; vNTB's automatic ctrl/db/mw1 choice (epf_ntb_find_bar) too.
// - A BAR set there by hand is programmed with pci_epc_set_bar(), which the DesignWare driver
//   refuses (dw_pcie_ep_set_bar: "Invalid BAR type", -EINVAL; from 6.15): vNTB's ctrl_bar or
//   mwN_bar fails the link (EINVAL), its db_bar fails the MSI window and then the polled one
//   (-1: EPERM) unless the doorbell is the embedded one published in that very BAR.
// - The embedded doorbell is published in the reserved BAR (dw_pcie_ep_get_aux_resources):
//   vNTB's doorbell BAR must be it, else epf_ntb_db_bar_init_msi_doorbell() returns -EINVAL
//   without a log line and vNTB polls (pci-epf-vntb.c).
import type { FunctionConfig } from '../config/schema.js';
import type { DoorbellVerdict } from '../doorbell/rules.js';
import type { KernelBehaviour } from '../kernel/behaviour.js';
import { kstrtoint } from '../configfs/values.js';

/** One thing wrong with a function's BARs: `field` is under the function's config entry. */
export interface BarFinding {
  field: string;
  reason: string;
  fix: string;
  /** Rests on the verdict's doorbell mode: --force turns it into a note (plan.ts preflight). */
  preflight: boolean;
}

/** vNTB's BAR attributes in enum epf_ntb_bar order (the automatic choice takes ctrl, db, mw1 in turn). */
const VNTB_BARS = ['ctrl_bar', 'db_bar', 'mw1_bar', 'mw2_bar', 'mw3_bar', 'mw4_bar'] as const;

/** A BAR attribute's value as the kernel parses it (kstrtoint), -1 (automatic) when absent or unparsable. */
function barValue(v: NonNullable<FunctionConfig['type']>[string] | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return -1;
  const r = kstrtoint(v);
  return r.ok ? r.value : -1;
}

/** The BARs vNTB ends up with: the declared ones, the automatic ctrl/db/mw1 the lowest BARs left, never the reserved one. */
function vntbBarChoice(type: FunctionConfig['type'], reserved: number | undefined): Record<(typeof VNTB_BARS)[number], number> {
  const out = Object.fromEntries(VNTB_BARS.map((b) => [b, barValue(type?.[b])])) as Record<(typeof VNTB_BARS)[number], number>;
  const used = new Set(Object.values(out).filter((n) => n >= 0));
  for (const b of ['ctrl_bar', 'db_bar', 'mw1_bar'] as const) {
    if (out[b] >= 0) continue;
    const free = [0, 1, 2, 3, 4, 5].find((n) => !used.has(n) && n !== reserved);
    if (free === undefined) break;
    out[b] = free;
    used.add(free);
  }
  return out;
}

export function reservedBarFindings(fc: FunctionConfig, epc: string, verdict: DoorbellVerdict | undefined, behaviour: KernelBehaviour | null, release: string | null): BarFinding[] {
  const r = verdict?.reservedBar;
  if (r === undefined) return [];
  const out: BarFinding[] = [];
  const what = `BAR${r} of ${epc} is reserved for its DMA registers (BAR_RESERVED: the controller shows them there to the host)`;
  // Before 6.15 dw_pcie_ep_set_bar() programs a reserved BAR like any other.
  const setBarFails =
    behaviour && !behaviour.dwcSetBarChecksType
      ? `${release ?? 'this kernel'} programs it anyway (no type check in dw_pcie_ep_set_bar before 6.15), and host writes there reach the controller's registers, not the function's memory`
      : 'the controller\'s set_bar refuses it ("Invalid BAR type")';
  if (fc.driver === 'pci_epf_test') {
    const attr = `bar${r}_size`;
    if (fc.type?.[attr] !== undefined)
      out.push({ field: `type.${attr}`, reason: `${what}; pci-epf-test skips a reserved BAR (pci_epc_get_next_free_bar), so ${attr} sets nothing`, fix: `drop type.${attr}`, preflight: false });
    return out;
  }
  if (fc.driver !== 'pci_epf_vntb') return out;
  const bars = vntbBarChoice(fc.type, r);
  const auto = 'leave it out (-1): the kernel never picks a reserved BAR';
  for (const b of ['ctrl_bar', 'mw1_bar', 'mw2_bar', 'mw3_bar', 'mw4_bar'] as const)
    if (barValue(fc.type?.[b]) === r)
      out.push({ field: `type.${b}`, reason: `${what}, and ${b} = ${r} puts vNTB's ${b === 'ctrl_bar' ? 'control region' : `memory window ${b.slice(2, 3)}`} there: ${setBarFails}${behaviour?.dwcSetBarChecksType === false ? '' : ', so the link fails (EINVAL)'}`, fix: `set type.${b} to a BAR other than ${r}, or ${auto}`, preflight: false });
  const at = verdict?.mode === 'embedded' ? verdict.doorbellBar : undefined;
  const msiDoorbells = !behaviour || behaviour.vntbDoorbell;
  const db = bars.db_bar;
  const declared = barValue(fc.type?.['db_bar']) >= 0;
  if (at !== undefined && msiDoorbells) {
    if (fc.doorbell === true && db !== at.bar)
      out.push({
        field: declared ? 'type.db_bar' : 'doorbell',
        reason: `the embedded (eDMA) doorbell of ${epc} is published in its reserved BAR${at.bar} (offset 0x${at.offset.toString(16)}), but vNTB's doorbell BAR would be BAR${db}${declared ? '' : ' (its automatic choice, which never takes a reserved BAR)'}: pci-epf-vntb.c (epf_ntb_db_bar_init_msi_doorbell) then fails with -EINVAL, logs nothing, and vNTB polls`,
        fix: `set type.db_bar: ${at.bar} (the db_bar attribute of pci_epf_vntb.N/)`,
        preflight: true,
      });
  } else if (db === r) {
    out.push({
      field: 'type.db_bar',
      reason: `${what}, and the doorbell of ${epc} is not the embedded one published there (doorbell ${verdict?.mode ?? 'unknown'}), so vNTB maps its doorbell BAR itself: ${setBarFails}${behaviour?.dwcSetBarChecksType === false ? '' : ' for the MSI window and again for the polled one, so the link fails (EPERM: epf_ntb_db_bar_init returns -1)'}`,
      fix: `set type.db_bar to a BAR other than ${r}, or ${auto}`,
      preflight: true,
    });
  }
  return out;
}
