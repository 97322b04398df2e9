// The RC-to-EP doorbell IRQs of a controller as /proc/interrupts lists them: the one home of
// "which rows are doorbells" (procfs/interrupts.ts only parses the table). Per-device MSI
// domains are named parent prefix + template chip + "-" + dev_name (kernel/irq/msi.c), so an EP
// doorbell row reads ITS-pMSI-<epc> with hwirq = the doorbell's msi_index
// (drivers/pci/endpoint/pci-ep-msi.c; kernel/irq/msi.c).
import { doorbellChip, EMBEDDED_DOORBELL_CHIP, type IrqRow, type ParsedInterrupts } from '../procfs/interrupts.js';

/**
 * The rows on chip `ITS-pMSI-<epc>`, in table order; with `embedded` (the controller's verdict
 * is the eDMA fallback) also the dw-edma-emul rows, whose name does not say the controller.
 */
export function doorbellRows(parsed: ParsedInterrupts, epcName: string, opts: { embedded?: boolean } = {}): IrqRow[] {
  const chip = doorbellChip(epcName);
  return parsed.rows.filter((r) => r.chip === chip || (opts.embedded === true && r.chip === EMBEDDED_DOORBELL_CHIP));
}

/** One doorbell IRQ as `epctl doorbell status` shows it. */
export interface DoorbellIrq {
  virq: number;
  /** hwirq = the doorbell's index (msi_index: 0 for pci-epf-test, 0..db_count-1 for vNTB); null when the column is blank. */
  index: number | null;
  chip: string;
  /** Interrupts taken per online CPU (/proc/interrupts columns). */
  counts: number[];
  total: number;
  /**
   * The handlers requested on it (request_irq names). Empty: the irq exists but has no handler
   * yet, so a ring would be lost; kernels ≥ v6.11 do not even list such an irq.
   */
  actions: string[];
}

export function toDoorbellIrq(r: IrqRow): DoorbellIrq {
  return { virq: r.irq ?? -1, index: r.hwirq ?? null, chip: r.chip ?? '', counts: r.counts, total: r.counts.reduce((a, b) => a + b, 0), actions: r.actions };
}

/**
 * How many of a function's `expected` doorbells have their handler `action` now: one
 * ITS-pMSI row each (hwirq = the doorbell's index), or all of them at once on an embedded
 * doorbell's one shared row, which the driver requests once for every doorbell
 * (pci-epf-vntb.c epf_ntb_db_irq_is_duplicated(); pci-ep-msi.c replicates one virq).
 */
export function doorbellsWithHandler(rows: readonly { chip?: string | null | undefined; actions: readonly string[] }[], action: string, expected: number): number {
  if (rows.some((r) => r.chip === EMBEDDED_DOORBELL_CHIP && r.actions.includes(action))) return expected;
  return rows.filter((r) => r.chip !== EMBEDDED_DOORBELL_CHIP && r.actions.includes(action)).length;
}
