// The fake kernel's state, as plain data (it is saved to --mock-state files): the EPF devices
// (struct pci_epf), their configfs directories, the controllers' configfs groups
// (struct pci_epc_group) and the per-driver shared headers. Names follow the kernel's structs.
import type { EpfDriverName } from '../boards/types.js';
import type { Header } from '../configfs/header.js';
import type { LogState } from './printk.js';
import type { ArmedFault } from './faults.js';
import type { NvmetCtrlRef, NvmetState } from './nvmet-configfs.js';
import type { KernelModule } from './modules.js';

/** struct pci_epf: the `<driver>.<N>` device on the pci-epf bus. */
export interface EpfDevice {
  name: string;
  driver: EpfDriverName;
  /** The global IDR index N (pci-ep-cfs.c functions_idr). */
  index: number;
  /** Bound to its driver (false while the driver module is unloaded: the device leaked). */
  probed: boolean;
  /** epf->is_bound: set by the first successful bind, never cleared (pci-epf-core.c; observed 7.3.4). */
  isBound: boolean;
  /** epf->is_vf: set by a VF link, never cleared (pci-epf-core.c; observed 7.3.4). */
  isVf: boolean;
  msiInterrupts: number;
  msixInterrupts: number;
  /** The driver's type-group values (bigint values stored as decimal strings). */
  typeGroup: Record<string, number | string>;
  /** Primary interface: EPC and function number (epf->epc, epf->func_no). */
  epc?: string;
  funcNo?: number;
  /** Secondary interface (epf->sec_epc). */
  secEpc?: string;
  secFuncNo?: number;
  /** VFs of this PF, in link order (epf->pci_vepf). */
  vfs: string[];
  /** The PF of this VF and its VF number (epf->epf_pf, epf->vfunc_no). */
  pf?: string;
  vfuncNo?: number;
  /** Doorbell virqs allocated by pci_epf_alloc_doorbell (epf->db_msg[i].virq). */
  doorbellVirqs?: number[];
  /** The doorbells are the controller's embedded (eDMA) one: this action, shared, on one virq. */
  doorbellEmbedded?: string;
  /** The function's configfs directory, while it exists ("pci_epf_test/func1"). */
  dir?: string;
  /** nvmet_pci_epf: the NVMe target controller made at epc_init (ctrl->tctrl), while it exists. */
  nvmetCtrl?: NvmetCtrlRef;
  /** The BAR memory the bound driver allocated (pci_epf_alloc_space), as the host sees it (src/fake/host.ts). */
  host?: EpfHostState;
}

/**
 * What a bound function exposes to the host: its BARs (pci_epf_alloc_space at bind, freed at
 * unbind) and where each BAR's inbound translation points. Memory is sparse, byte by byte.
 */
export interface EpfHostState {
  /** BAR number → size in bytes, for every BAR the driver set up. */
  bars: Record<string, number>;
  /** BAR number → byte offset (decimal) → byte; a missing byte reads 0 (dma_alloc_coherent zeroes). */
  mem: Record<string, Record<string, number>>;
  /**
   * BAR number → inbound target when it is not the BAR's own memory: a physical address as a
   * decimal string (the ITS page of a doorbell), or "cleared" (pci_epc_clear_bar).
   */
  inbound: Record<string, string>;
  /** The driver's command work no longer runs (pci-epf-test: epc_init failed, or it oopsed). */
  cmdStopped?: boolean;
}

/** A function's configfs directory functions/<driver>/<name>. */
export interface FunctionDir {
  driver: EpfDriverName;
  name: string;
  device: string;
  /** VF links in this directory: link name → VF device. */
  vfLinks: Record<string, string>;
  /** Links in primary/ and secondary/: link name → EPC. */
  primary: Record<string, string>;
  secondary: Record<string, string>;
}

/** struct pci_epc_group plus the EPC's function list. */
export interface ControllerState {
  name: string;
  /** The cached `start` flag. */
  start: boolean;
  /** Links in controllers/<epc>/: link name → function dir key. */
  links: Record<string, string>;
  /** epc->pci_epf in list order (primary and secondary attachments), as device names. */
  epfs: string[];
  /** epc->function_num_map: function numbers in use. */
  funcNos: number[];
  /** The eDMA interrupt-emulation virq, once a doorbell used it (DesignWare with eDMA). */
  edmaDbVirq?: number;
  /** The simulated host's side of the link; absent = up (the host is always there). Read by debugfs.ts. */
  hostLink?: 'up' | 'down';
}

export interface DriverState {
  /** Module loaded (or built in). */
  loaded: boolean;
  builtin: boolean;
  /** The one static struct pci_epf_header every instance points at (test_header, epf_ntb_header). */
  header: Header;
}

export interface Model {
  drivers: Partial<Record<EpfDriverName, DriverState>>;
  devices: Record<string, EpfDevice>;
  /** Function dirs by "<driver>/<name>". */
  functions: Record<string, FunctionDir>;
  controllers: Record<string, ControllerState>;
  log: LogState;
  faults: ArmedFault[];
  /** IrqTable state (src/fake/irq.ts). */
  irq: unknown;
  /** FakeTracefs state (src/fake/tracefs.ts); absent in states saved before tracefs was modelled. */
  tracefs?: unknown;
  /** The nvmet configfs tree (src/fake/nvmet-configfs.ts), once anything was made there. */
  nvmet?: NvmetState;
  /** Modules of modules.ts (nvmet, null_blk) loaded by modprobe, in load order; absent = none. */
  modules?: KernelModule[];
}

export { functionKey as fnKey } from '../configfs/paths.js';

/** Lowest free index of the global IDR, counting leaked devices (idr_alloc from 0). */
export function allocIndex(m: Model): number {
  const used = new Set(Object.values(m.devices).map((d) => d.index));
  let i = 0;
  while (used.has(i)) i++;
  return i;
}
