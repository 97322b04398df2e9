// Kernel modules the fake models besides the EPF function drivers (whose state is
// Model.drivers): the NVMe target core and null_blk, the two an NVMe endpoint needs beside
// nvmet_pci_epf. Each is named by its Kconfig symbol; built in (=y) it is there from boot, as a
// module (=m) from modprobe on, and absent (=n) modprobe does not find it.
import type { EpfDriverName } from '../boards/types.js';

/** Modules other than the EPF function drivers, by module name → Kconfig symbol. */
export const KERNEL_MODULE_SYMBOL = {
  // drivers/nvme/target/Makefile: obj-$(CONFIG_NVME_TARGET) += nvmet.o
  nvmet: 'NVME_TARGET',
  // drivers/block/null_blk/Makefile: obj-$(CONFIG_BLK_DEV_NULL_BLK) += null_blk.o
  null_blk: 'BLK_DEV_NULL_BLK',
} as const;

export type KernelModule = keyof typeof KERNEL_MODULE_SYMBOL;

export const KERNEL_MODULES = Object.keys(KERNEL_MODULE_SYMBOL) as KernelModule[];

export function isKernelModule(name: string): name is KernelModule {
  return Object.hasOwn(KERNEL_MODULE_SYMBOL, name);
}

/**
 * The modules a module needs loaded first, as modprobe resolves them from modules.dep:
 * nvmet-pci-epf.ko calls nvmet_register_transport() and the other nvmet_* exports of nvmet.ko
 * (drivers/nvme/target/pci-epf.c nvmet_pci_epf_init_module; exported in core.c).
 */
export const MODULE_DEPENDS: Readonly<Partial<Record<EpfDriverName | KernelModule, readonly KernelModule[]>>> = {
  nvmet_pci_epf: ['nvmet'],
};
