// What epctl knows about each function driver's configfs entry: the module that provides it,
// the routes its bind accepts, whether it can own RC-to-EP doorbells, and the type-group
// attributes that must be written before others. Any other entry the kernel lists is driven
// generically (linked through controllers/ only). Sources cited per entry.

export type Route = 'controller' | 'primary' | 'secondary';

export interface DriverFacts {
  /** The module to modprobe when functions/<entry>/ is missing. */
  module: string;
  /** How a function of this driver may be attached to a controller. */
  routes: readonly Route[];
  /** Needs a secondary controller as well (two-EPC NTB). */
  needsSecondary: boolean;
  /** Allocates doorbells with pci_epf_alloc_doorbell() (drivers/pci/endpoint/pci-ep-msi.c users). */
  doorbell: boolean;
  /** Type-group attributes whose store checks another one: written first, in this order. */
  writeFirst: readonly string[];
  /** Type-group attributes the bind fails without (written before the link). */
  requiredForLink: readonly string[];
  /** Function attributes the bind fails without. */
  requiredFunctionAttributes: readonly string[];
}

const GENERIC: DriverFacts = { module: '', routes: ['controller', 'primary'], needsSecondary: false, doorbell: false, writeFirst: [], requiredForLink: [], requiredFunctionAttributes: [] };

const KNOWN: Readonly<Record<string, Partial<DriverFacts>>> = {
  // pci-epf-test.c: bind through secondary/ fails (WARN_ON_ONCE(!epc)), and oopses once the
  // function was bound before; epc_init programs MSI from msi_interrupts ("MSI configuration failed").
  pci_epf_test: { routes: ['controller', 'primary'], doorbell: true, requiredFunctionAttributes: ['msi_interrupts'] },
  // pci-epf-vntb.c: binds through its primary EPC only (secondary-only linking oopses on unlink);
  // epf_ntb_bind fails with "DB count 0 out of range"; mwN stores check num_mws.
  pci_epf_vntb: { routes: ['controller', 'primary'], doorbell: true, writeFirst: ['num_mws'], requiredForLink: ['db_count'] },
  // pci-epf-ntb.c: two EPCs, one through primary/ and one through secondary/.
  pci_epf_ntb: { routes: ['primary', 'secondary'], needsSecondary: true, writeFirst: ['num_mws'], requiredForLink: ['db_count'] },
  // drivers/nvme/target/pci-epf.c (v6.14): one controller.
  nvmet_pci_epf: { routes: ['controller', 'primary'] },
};

/** Facts for a functions/ entry. pci-epf-mhi.c registers one entry per SoC (pci_epf_mhi_sdx55, …). */
export function driverFacts(entry: string): DriverFacts {
  if (entry.startsWith('pci_epf_mhi')) return { ...GENERIC, module: 'pci_epf_mhi' };
  return { ...GENERIC, module: entry, ...KNOWN[entry] };
}
