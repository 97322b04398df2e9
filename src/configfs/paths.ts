// Where the PCI endpoint configfs lives and how its paths are built
// (Documentation/PCI/endpoint/pci-endpoint-cfs.rst; drivers/pci/endpoint/pci-ep-cfs.c).
export const CONFIGFS = '/sys/kernel/config';
export const PCI_EP = `${CONFIGFS}/pci_ep`;
export const FUNCTIONS = `${PCI_EP}/functions`;
export const CONTROLLERS = `${PCI_EP}/controllers`;


/** A function's key, `<driver>/<name>` (its path under functions/): how links, plans and the ownership record name it. */
export const functionKey = (driver: string, name: string): string => `${driver}/${name}`;
