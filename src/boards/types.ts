// What a board profile says about a board: its device tree, its endpoint controllers and the
// controller features the driver declares (not visible in sysfs), its CPUs and boot-time
// interrupts. The fake kernel builds a whole simulated board from one of these; the facts come
// from the boards' upstream DT files and controller drivers.
import type { DtNodeSpec } from '../devicetree/spec.js';

/** Endpoint function drivers the modelled kernels can register (drivers/pci/endpoint/functions/). */
export type EpfDriverName = 'pci_epf_test' | 'pci_epf_vntb' | 'pci_epf_ntb' | 'pci_epf_mhi' | 'nvmet_pci_epf';

/** One BAR as the controller driver's `pci_epc_features` declares it. */
export interface BarFeature {
  type: 'standard' | 'fixed' | 'reserved' | 'resizable';
  /** Fixed size in bytes (type "fixed"). */
  fixedSize?: number;
  /** Only usable as a 64-bit BAR (Layerscape BAR2/BAR4); the next BAR is its upper half. */
  only64bit?: boolean;
  /**
   * A reserved BAR's PCI_EPC_BAR_RSVD_DMA_CTRL_MMIO region (struct pci_epc_bar_rsvd_region):
   * the integrated DMA controller's registers, offset and size in the BAR. From
   * devicetree/dwc.ts dmaCtrlBar(); the kernel describes it from KernelBehaviour.barRsvdRegions.
   */
  dmaCtrl?: { offset: number; size: number };
}

export interface EpcFeatures {
  msiCapable: boolean;
  msixCapable: boolean;
  linkupNotifier: boolean;
  /** Inbound address alignment in bytes. */
  align: number;
  bars: readonly [BarFeature, BarFeature, BarFeature, BarFeature, BarFeature, BarFeature];
}

export interface ControllerProfile {
  /** EPC name = platform device name, "%llx.%pOFn" of the first reg entry (4c300000.pcie-ep). */
  name: string;
  /** DT node path from the root (/soc/pcie-ep@4c300000). */
  dtPath: string;
  /** Platform device directory under /sys/devices (/sys/devices/platform/soc/4c300000.pcie-ep). */
  devicePath: string;
  /** Platform driver name (imx6q-pcie, layerscape-pcie-ep, rockchip-dw-pcie, cdns-pcie). */
  driver: string;
  /** `max-functions` from the DT node (default 1). */
  maxFunctions: number;
  /** `max-virtual-functions` (0 when absent). */
  maxVirtualFunctions: number;
  features: EpcFeatures;
  /** DesignWare core: has debugfs dwc_pcie_<epc>/ltssm_status from v6.15. */
  dwc: boolean;
  /** Kernel log lines printed when this controller probes (without timestamps). */
  probeLog?: readonly string[];
}

/** An interrupt that exists at boot (timer, UART, RC MSI-X), shown in /proc/interrupts. */
export interface BootIrq {
  irq: number;
  chip: string;
  /** Hardware IRQ number; absent for IRQs without a domain. */
  hwirq?: number;
  trigger: 'Level' | 'Edge';
  /** Action names, joined with ", " in /proc/interrupts. */
  actions: readonly string[];
  /** Count per CPU; missing CPUs count 0. */
  counts?: readonly number[];
}

export interface BoardProfile {
  /** The --mock name: imx95, imx8mp, ls1028a, lx2160a, rk3588, rk3588-msi-map, qemu-virt, … */
  name: string;
  /** One line for people: SoC, board and which DT it models. */
  title: string;
  soc: string;
  /** Online CPUs: one /proc/interrupts column each. */
  cpus: number;
  dt: DtNodeSpec;
  /** DTB compiled with `dtc -@`: /sys/firmware/devicetree/base/__symbols__ exists. */
  dtSymbols: boolean;
  controllers: readonly ControllerProfile[];
  /** EPF drivers registered at boot (built in); others can be loaded as modules. */
  functionDrivers: readonly EpfDriverName[];
  /** Interrupts present at boot. */
  irqs: readonly BootIrq[];
  /** Board-specific kernel config symbols (controller drivers, ITS), merged over the common ones. */
  kernelConfig: Readonly<Record<string, 'y' | 'm' | 'n'>>;
  /**
   * A vendor (BSP) kernel the board ships: its release (the default --kernel) and the doorbell
   * code it carries whatever that release says (the v9 posting backported: procfs/kallsyms.ts).
   */
  vendorKernel?: { release: string; doorbell: 'posted-v9' };
}
