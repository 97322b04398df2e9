// drivers/nvme/target/pci-epf.c (v6.14+) as far as the fake models it: the driver registers
// (functions/nvmet_pci_epf/) with its static header (nvme_epf_pci_header: class 01/08/02, NVM
// Express). Not modelled: its `nvme` type group (portid, subsysnqn, mdts_kb) and a bind, which
// needs an nvmet port and subsystem.
import type { EpfDriverModel } from './types.js';
import { BASE_HEADER } from './types.js';

export const nvmetPciEpf: EpfDriverModel = {
  name: 'nvmet_pci_epf',
  since: '6.14',
  defaultHeader: { ...BASE_HEADER, progif_code: 0x02, subclass_code: 0x08, baseclass_code: 0x01 },
  typeGroup: () => undefined,
  probe: () => undefined,
  bind: () => undefined,
  unbind: () => undefined,
};
