// The standard attributes every pci_ep function directory holds, with how the kernel parses
// and prints each (drivers/pci/endpoint/pci-ep-cfs.c, PCI_EPF_HEADER_R/W and the msi/msix
// attributes). The ten header fields live in the driver's struct pci_epf_header; the two
// interrupt counts in struct pci_epf.

export interface FunctionAttribute {
  name: string;
  /** Width of the C field the store parses into with kstrtou8/kstrtou16. */
  bits: 8 | 16;
  /** "0x%04x\n" for header fields, "%d\n" for the interrupt counts. */
  format: 'hex4' | 'decimal';
  /** Where the value lives: the driver's shared header, or the function itself. */
  home: 'header' | 'function';
}

/** In `ls` order, as a function directory lists them (observed 6.12, 7.3.4). */
export const FUNCTION_ATTRIBUTES: readonly FunctionAttribute[] = [
  { name: 'baseclass_code', bits: 8, format: 'hex4', home: 'header' },
  { name: 'cache_line_size', bits: 8, format: 'hex4', home: 'header' },
  { name: 'deviceid', bits: 16, format: 'hex4', home: 'header' },
  { name: 'interrupt_pin', bits: 8, format: 'hex4', home: 'header' },
  { name: 'msi_interrupts', bits: 8, format: 'decimal', home: 'function' },
  { name: 'msix_interrupts', bits: 16, format: 'decimal', home: 'function' },
  { name: 'progif_code', bits: 8, format: 'hex4', home: 'header' },
  { name: 'revid', bits: 8, format: 'hex4', home: 'header' },
  { name: 'subclass_code', bits: 8, format: 'hex4', home: 'header' },
  { name: 'subsys_id', bits: 16, format: 'hex4', home: 'header' },
  { name: 'subsys_vendor_id', bits: 16, format: 'hex4', home: 'header' },
  { name: 'vendorid', bits: 16, format: 'hex4', home: 'header' },
];

/** The ten header fields, in struct pci_epf_header order (include/linux/pci-epf.h): the order the how-tos write them. */
export const HEADER_FIELDS: readonly (FunctionAttribute & { name: HeaderField })[] = (
  ['vendorid', 'deviceid', 'revid', 'progif_code', 'subclass_code', 'baseclass_code', 'cache_line_size', 'subsys_vendor_id', 'subsys_id', 'interrupt_pin'] as const
).map((name) => FUNCTION_ATTRIBUTES.find((a) => a.name === name)! as FunctionAttribute & { name: HeaderField });

/**
 * The vector counts pci_epc_set_msi() / pci_epc_set_msix() accept (drivers/pci/endpoint/
 * pci-epc-core.c), checked only when a linked function's epc_init runs, not when written.
 */
export const MSI_VECTORS = { min: 1, max: 32 } as const;
export const MSIX_VECTORS = { min: 1, max: 2048 } as const;

export type HeaderField =
  | 'vendorid'
  | 'deviceid'
  | 'revid'
  | 'progif_code'
  | 'subclass_code'
  | 'baseclass_code'
  | 'cache_line_size'
  | 'subsys_vendor_id'
  | 'subsys_id'
  | 'interrupt_pin';

export type Header = Record<HeaderField, number>;
