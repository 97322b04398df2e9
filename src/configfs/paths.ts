// Where the PCI endpoint configfs lives and how its paths are built
// (Documentation/PCI/endpoint/pci-endpoint-cfs.rst; drivers/pci/endpoint/pci-ep-cfs.c).
export const CONFIGFS = '/sys/kernel/config';
export const PCI_EP = `${CONFIGFS}/pci_ep`;
export const FUNCTIONS = `${PCI_EP}/functions`;
export const CONTROLLERS = `${PCI_EP}/controllers`;

export const driverDir = (driver: string): string => `${FUNCTIONS}/${driver}`;
export const functionDir = (driver: string, name: string): string => `${FUNCTIONS}/${driver}/${name}`;
export const controllerDir = (epc: string): string => `${CONTROLLERS}/${epc}`;
export const startPath = (epc: string): string => `${CONTROLLERS}/${epc}/start`;
/** The driver's type group inside a function: `<driver>.<N>/` (N = the EPF device index). */
export const typeGroupDir = (driver: string, name: string, index: number): string =>
  `${FUNCTIONS}/${driver}/${name}/${driver}.${index}`;
