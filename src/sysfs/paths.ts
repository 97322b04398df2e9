// Where the endpoint framework shows up in sysfs: the pci_epc class (drivers/pci/endpoint/
// pci-epc-core.c), the pci-epf bus (drivers/pci/endpoint/pci-epf-core.c) and the per-IRQ
// directories of CONFIG_SPARSE_IRQ kernels (kernel/irq/irqdesc.c).
export const PCI_EPC_CLASS = '/sys/class/pci_epc';
export const PCI_EPF_BUS = '/sys/bus/pci-epf';
export const KERNEL_IRQ = '/sys/kernel/irq';
