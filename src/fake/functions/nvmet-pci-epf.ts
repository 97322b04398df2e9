// drivers/nvme/target/pci-epf.c (nvmet_pci_epf, v6.14) as far as the fake models it: the
// driver registers, so functions/nvmet_pci_epf/ exists (observed 7.3.4 on the lane kernel, an
// empty directory). Its functions are not modelled: mkdir there fails loudly instead of
// inventing what the kernel would show (drivers/nvme/target/pci-epf.c, read, never run).
import type { EpfDriverModel } from './types.js';
import { BASE_HEADER } from './types.js';

const notModelled = (): never => {
  throw new Error('the fake kernel does not model nvmet_pci_epf functions (drivers/nvme/target/pci-epf.c): use a real board, or pci_epf_test/pci_epf_vntb');
};

export const nvmetPciEpf: EpfDriverModel = {
  name: 'nvmet_pci_epf',
  // Mass storage, NVM Express (drivers/nvme/target/pci-epf.c) [source].
  defaultHeader: { ...BASE_HEADER, progif_code: 0x02, subclass_code: 0x08, baseclass_code: 0x01 },
  typeGroup: () => undefined,
  probe: notModelled,
  bind: notModelled,
  unbind: notModelled,
};
