// What each modelled EPF driver provides to the core: its id_table name, header defaults,
// type group, and the probe/bind/unbind callbacks of struct pci_epf_ops.
import type { EpfDriverName } from '../../boards/types.js';
import type { Header } from '../../configfs/header.js';
import type { AccessWidth } from '../../kernel/port.js';
import type { KernelContext } from '../context.js';
import type { EpfDevice } from '../model.js';
import type { CallChain } from '../pci-epf-core.js';

export interface TypeGroupModel {
  /** Attribute names in `ls` order. */
  attributes: readonly string[];
  defaults: Readonly<Record<string, number | string>>;
  /** The attribute's show(): text, or throws Errno. */
  show(k: KernelContext, dev: EpfDevice, attr: string): string;
  /** The attribute's store(): throws Errno, or stores. */
  store(k: KernelContext, dev: EpfDevice, attr: string, text: string): void;
}

export interface EpfDriverModel {
  name: EpfDriverName;
  /** The first release with the driver, when newer than every modelled kernel's floor (6.1). */
  since?: string;
  /** The driver's static struct pci_epf_header at module load. */
  defaultHeader: Header;
  /** The type group's directory name when it is not the device name `<driver>.<N>` (nvmet_pci_epf: `nvme`). */
  groupName?: string;
  /** The type group `<driver>.<N>/` on this kernel, if the driver has one (add_cfs). */
  typeGroup(k: KernelContext): TypeGroupModel | undefined;
  /** Driver probe at mkdir (the device binds to the driver at once). */
  probe(k: KernelContext, dev: EpfDevice): void;
  bind(k: KernelContext, dev: EpfDevice, chain: CallChain): void;
  unbind(k: KernelContext, dev: EpfDevice, chain: CallChain): void;
  /** The epc_init event (pci_epc_notify_pending_init after a bind, ≈v6.11+): errors only logged. */
  epcInit?(k: KernelContext, dev: EpfDevice): void;
  /**
   * Someone (the host through a BAR, or a CPU store to the RAM behind it) wrote the function's
   * BAR memory; the bytes are already there. Drivers that poll their BAR (pci-epf-test's
   * COMMAND every ≈1 ms, vNTB's polled doorbells every 5 ms) act here, as if the poll ran now.
   */
  barWritten?(k: KernelContext, dev: EpfDevice, bar: number, offset: number, width: AccessWidth): void;
  /** The IRQ handler of doorbell `index` (msi_index) ran. */
  doorbellIrq?(k: KernelContext, dev: EpfDevice, index: number): void;
}

/** PCI header defaults shared by pci-epf-test and pci-epf-vntb but for the class (pci-epf-test.c, pci-epf-vntb.c). */
export const BASE_HEADER: Header = {
  vendorid: 0xffff,
  deviceid: 0xffff,
  revid: 0,
  progif_code: 0,
  subclass_code: 0,
  baseclass_code: 0,
  cache_line_size: 0,
  subsys_vendor_id: 0,
  subsys_id: 0,
  interrupt_pin: 1,
};
