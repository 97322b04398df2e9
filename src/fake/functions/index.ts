// The EPF drivers the fake kernel can register, by id_table name.
import type { EpfDriverName } from '../../boards/types.js';
import type { EpfDriverModel } from './types.js';
import { pciEpfTest } from './pci-epf-test.js';
import { pciEpfVntb } from './pci-epf-vntb.js';
import { pciEpfNtb } from './pci-epf-ntb.js';
import { nvmetPciEpf } from './nvmet-pci-epf.js';
import { atLeast, type KernelVersion } from '../../kernel/version.js';

const MODELS: Partial<Record<EpfDriverName, EpfDriverModel>> = {
  pci_epf_test: pciEpfTest,
  pci_epf_vntb: pciEpfVntb,
  pci_epf_ntb: pciEpfNtb,
  nvmet_pci_epf: nvmetPciEpf,
};

export function driverModel(name: EpfDriverName): EpfDriverModel {
  const m = MODELS[name];
  if (!m) throw new Error(`the fake kernel does not model the ${name} driver`);
  return m;
}

export function isModelledDriver(name: string): name is EpfDriverName {
  return Object.hasOwn(MODELS, name);
}


/** Whether release `v` has the driver at all (a board profile lists drivers regardless of release). */
export function driverInRelease(name: EpfDriverName, v: KernelVersion): boolean {
  const since = MODELS[name]?.since;
  return since === undefined || atLeast(v, since);
}
