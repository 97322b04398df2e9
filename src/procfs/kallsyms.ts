// Which RC-to-EP doorbell code the running kernel carries, told by its symbols rather than its
// release: vendor BSP kernels backport pre-merge postings. /proc/kallsyms lists every symbol's
// name to every reader (only the addresses are hidden by kptr_restrict; static functions show
// as `t`). The write-message callbacks have their address taken, so they are never inlined
// away: `pci_epc_write_msi_msg` is the v9 posting's (Dec 2024, drivers/pci/endpoint/
// pci-ep-msi.c as posted), `pci_epf_write_msi_msg` the merged code's (v6.17, 1c3b002c6bf6).
export const KALLSYMS = '/proc/kallsyms';

/** merged: msi-map, immutable controllers only (6.17+); posted-v9: msi-parent, any MSI controller; none: no doorbell code. */
export type DoorbellImplementation = 'merged' | 'posted-v9' | 'none';

/**
 * Exported by drivers/pci/endpoint/pci-epc-core.c with the embedded (DMA) doorbell fallback of
 * pci_epf_alloc_doorbell() (present in 7.3.4; the fallback's own helper is static and inlined
 * there, this one is EXPORT_SYMBOL_GPL and always listed).
 */
export const EMBEDDED_DOORBELL_SYMBOL = 'pci_epc_get_aux_resources';

/** The symbols epctl looks for (and the only lines `epctl snapshot` records of the file). */
export const DOORBELL_SYMBOLS = ['pci_epf_write_msi_msg', 'pci_epc_write_msi_msg', 'pci_epf_alloc_doorbell', 'pci_epc_alloc_doorbell', 'pci_epc_free_doorbell', EMBEDDED_DOORBELL_SYMBOL] as const;

/** kallsyms lines ("ADDR TYPE NAME" or "ADDR TYPE NAME\t[module]") naming one of NAMES. */
export function symbolLines(text: string, names: readonly string[] = DOORBELL_SYMBOLS): string[] {
  const out: string[] = [];
  for (const name of names) {
    for (let i = text.indexOf(` ${name}`); i >= 0; i = text.indexOf(` ${name}`, i + 1)) {
      const end = i + 1 + name.length;
      const next = text[end];
      if (next !== undefined && next !== '\n' && next !== '\t') continue;
      const start = text.lastIndexOf('\n', i) + 1;
      const stop = text.indexOf('\n', end);
      const line = text.slice(start, stop < 0 ? text.length : stop);
      // "ADDR TYPE NAME": the name is the third field.
      if (line.split(/\s+/)[2] === name) out.push(line);
    }
  }
  return out;
}

/** The doorbell code the symbols in TEXT (a /proc/kallsyms, whole or filtered) show. */
export function doorbellImplementation(text: string): DoorbellImplementation {
  const names = new Set(symbolLines(text).map((l) => l.split(/\s+/)[2]));
  if (names.has('pci_epf_write_msi_msg')) return 'merged';
  if (names.has('pci_epc_write_msi_msg')) return 'posted-v9';
  return 'none';
}

/** True when TEXT (a /proc/kallsyms, whole or filtered) shows the embedded (DMA) doorbell fallback. */
export function hasEmbeddedDoorbell(text: string): boolean {
  return symbolLines(text, [EMBEDDED_DOORBELL_SYMBOL]).length > 0;
}
