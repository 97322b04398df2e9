// The EPC/EPF core the configfs callbacks call: pci_epc_add_epf / pci_epc_remove_epf
// (drivers/pci/endpoint/pci-epc-core.c) and pci_epf_bind / pci_epf_unbind / pci_epf_add_vepf /
// pci_epf_remove_vepf (drivers/pci/endpoint/pci-epf-core.c). Includes the stale `is_bound`
// that makes a failing re-bind unbind a function that was never set up (observed 7.3.4 as an oops).
import { Errno, type KernelContext } from './context.js';
import type { EpfDevice } from './model.js';
import { driverModel } from './functions/index.js';
import { KERN_ERR } from './printk.js';

export type Interface = 'primary' | 'secondary';

/** EPC drivers that allocate epc->max_vfs (only pcie-cadence-ep.c); on the others it is NULL. */
const EPC_DRIVERS_WITH_MAX_VFS: ReadonlySet<string> = new Set(['cdns-pcie']);

/** The kernel frames of the configfs call that reached bind/unbind, innermost first. */
export type CallChain = readonly string[];

/** pci_epc_add_epf: take the lowest free function number on the EPC. */
export function addEpf(k: KernelContext, epcName: string, dev: EpfDevice, type: Interface): void {
  if (dev.isVf) throw new Errno('EINVAL');
  if (type === 'primary' && dev.epc !== undefined) throw new Errno('EBUSY');
  if (type === 'secondary' && dev.secEpc !== undefined) throw new Errno('EBUSY');
  const epc = k.m.controllers[epcName]!;
  let funcNo = 0;
  while (epc.funcNos.includes(funcNo)) funcNo++;
  if (funcNo > k.controller(epcName).maxFunctions - 1) {
    k.printk.dev(KERN_ERR, 'pci_epc', epcName, 'Exceeding max supported Function Number');
    throw new Errno('EINVAL');
  }
  epc.funcNos.push(funcNo);
  epc.epfs.push(dev.name);
  if (type === 'primary') {
    dev.epc = epcName;
    dev.funcNo = funcNo;
  } else {
    dev.secEpc = epcName;
    dev.secFuncNo = funcNo;
  }
}

/** pci_epc_remove_epf. */
export function removeEpf(k: KernelContext, epcName: string, dev: EpfDevice, type: Interface): void {
  const epc = k.m.controllers[epcName]!;
  const funcNo = type === 'primary' ? dev.funcNo : dev.secFuncNo;
  epc.funcNos = epc.funcNos.filter((n) => n !== funcNo);
  const i = epc.epfs.indexOf(dev.name);
  if (i >= 0) epc.epfs.splice(i, 1);
  if (type === 'primary') {
    delete dev.epc;
    delete dev.funcNo;
  } else {
    delete dev.secEpc;
    delete dev.secFuncNo;
  }
}

/**
 * pci_epf_bind: VF checks, bind each VF, then the PF. On failure the error path calls
 * pci_epf_unbind, which unbinds every VF and the PF whose is_bound is set, even from an
 * earlier bind: with epc NULL that crashes (observed 7.3.4, pci_epf_test_unbind+0x24).
 */
export function bind(k: KernelContext, dev: EpfDevice, chain: CallChain): void {
  const model = driverModel(dev.driver);
  const bindChain = ['pci_epf_bind', ...chain];
  try {
    for (const vfName of dev.vfs) {
      const vf = k.m.devices[vfName]!;
      if ((vf.vfuncNo ?? 0) < 1) fail(k, dev, 'Invalid virtual function number');
      for (const [epcName, funcNo] of [[dev.epc, dev.funcNo], [dev.secEpc, dev.secFuncNo]] as const) {
        if (epcName === undefined) continue;
        const maxVfs = k.controller(epcName).maxVirtualFunctions;
        if (!EPC_DRIVERS_WITH_MAX_VFS.has(k.controller(epcName).driver)) fail(k, dev, 'No support for virt function');
        if ((vf.vfuncNo ?? 0) > maxVfs) fail(k, dev, `PF${funcNo ?? 0}: Exceeds max vfunc number`);
      }
      vf.epc = dev.epc;
      vf.funcNo = dev.funcNo;
      vf.secEpc = dev.secEpc;
      vf.secFuncNo = dev.secFuncNo;
      driverModel(vf.driver).bind(k, vf, bindChain);
      vf.isBound = true;
    }
    const err = k.hook('epf_bind', k.functionPath(dev));
    if (err) throw new Errno(err);
    model.bind(k, dev, bindChain);
    dev.isBound = true;
  } catch (e) {
    if (!(e instanceof Errno)) throw e;
    unbind(k, dev, bindChain);
    throw e;
  }
}

function fail(k: KernelContext, dev: EpfDevice, message: string): never {
  k.printk.dev(KERN_ERR, dev.driver, dev.name, message);
  throw new Errno('EINVAL');
}

/** pci_epf_unbind: the driver's unbind for every VF and the PF with is_bound set. */
export function unbind(k: KernelContext, dev: EpfDevice, chain: CallChain): void {
  const unbindChain = ['pci_epf_unbind', ...chain];
  for (const vfName of dev.vfs) {
    const vf = k.m.devices[vfName]!;
    if (vf.isBound) driverModel(vf.driver).unbind(k, vf, unbindChain);
  }
  if (dev.isBound) driverModel(dev.driver).unbind(k, dev, unbindChain);
}

/** pci_epf_add_vepf: VF numbers start at 1 in a 64-bit map; EBUSY if either side is in use. */
export function addVepf(k: KernelContext, pf: EpfDevice, vf: EpfDevice): void {
  if (pf.epc !== undefined || vf.epc !== undefined || vf.pf !== undefined) throw new Errno('EBUSY');
  if (pf.secEpc !== undefined || vf.secEpc !== undefined) throw new Errno('EBUSY');
  const used = new Set(pf.vfs.map((n) => k.m.devices[n]!.vfuncNo));
  let no = 1;
  while (used.has(no)) no++;
  if (no >= 64) throw new Errno('EINVAL');
  vf.vfuncNo = no;
  vf.pf = pf.name;
  vf.isVf = true;
  pf.vfs.push(vf.name);
}

/** pci_epf_remove_vepf: is_vf stays set (observed 7.3.4: the VF stays unlinkable). */
export function removeVepf(pf: EpfDevice, vf: EpfDevice): void {
  pf.vfs = pf.vfs.filter((n) => n !== vf.name);
  delete vf.pf;
  delete vf.vfuncNo;
}

/**
 * pci_epc_set_bar() as far as a reserved BAR goes: the DesignWare set_bar refuses it
 * (dw_pcie_ep_set_bar: dev_err(pci->dev, "Invalid BAR type"), -EINVAL) where the release checks
 * the BAR's type (KernelBehaviour.dwcSetBarChecksType). Other EPCs' set_bar and the other
 * checks of pci_epc_set_bar are not modelled here.
 */
export function epcSetBar(k: KernelContext, epcName: string, bar: number): void {
  const c = k.controller(epcName);
  if (!c.dwc || !k.b.dwcSetBarChecksType || c.features.bars[bar]?.type !== 'reserved') return;
  k.printk.dev(KERN_ERR, c.driver, c.name, 'Invalid BAR type');
  throw new Errno('EINVAL');
}
