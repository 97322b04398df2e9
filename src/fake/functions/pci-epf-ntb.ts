// drivers/pci/endpoint/functions/pci-epf-ntb.c (two-EPC NTB) as far as configfs shows it:
// the header and the type group db_count spad_count num_mws mw1..mw4 (pci-ntb-howto.rst).
// Binding a real NTB needs two EPCs and is not modelled beyond waiting for both [inferred].
import type { EpfDriverModel } from './types.js';
import { BASE_HEADER } from './types.js';
import { ntbTypeGroup } from './pci-epf-vntb.js';

export const pciEpfNtb: EpfDriverModel = {
  name: 'pci_epf_ntb',
  defaultHeader: { ...BASE_HEADER, baseclass_code: 0x05 },
  typeGroup: () => ntbTypeGroup(false, false),
  probe: () => undefined,
  bind: () => undefined,
  unbind: () => undefined,
};
