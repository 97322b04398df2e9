// drivers/pci/endpoint/functions/pci-epf-test.c as the fake models it: header defaults, the
// barN_size type group (7.3; "Allow overriding default BAR sizes", 930e343cde6c), bind with
// its WARN_ON_ONCE(!epc), the epc_init MSI/MSI-X checks, and an unbind that dereferences a NULL
// epc when the bind error path reaches it (kernel-abi.md §2.8, §2.10, §14 H1/H3).
import { kstrtou } from '../../configfs/values.js';
import { MSI_VECTORS, MSIX_VECTORS } from '../../configfs/header.js';
import { Errno, Oops, type KernelContext } from '../context.js';
import type { EpfDevice } from '../model.js';
import { KERN_ERR, KERN_INFO } from '../printk.js';
import { freeDoorbell } from '../pci-ep-msi.js';
import type { CallChain } from '../pci-epf-core.js';
import { BASE_HEADER, type EpfDriverModel, type TypeGroupModel } from './types.js';

/** The barN_size files of the type group, in `ls` order. */
export const BAR_ATTRS = ['bar0_size', 'bar1_size', 'bar2_size', 'bar3_size', 'bar4_size', 'bar5_size'];

const barSizes: TypeGroupModel = {
  attributes: BAR_ATTRS,
  // Observed 7.3.4: 128 KiB for BAR0-4, 1 MiB for BAR5.
  defaults: { bar0_size: 131072, bar1_size: 131072, bar2_size: 131072, bar3_size: 131072, bar4_size: 131072, bar5_size: 1048576 },
  show: (_k, dev, attr) => `${dev.typeGroup[attr]}\n`,
  store(_k, dev, attr, text) {
    // Refused while attached to an EPC, before parsing (observed 7.3.4).
    if (dev.epc !== undefined || dev.secEpc !== undefined) throw new Errno('EOPNOTSUPP');
    const r = kstrtou(text, 32);
    if (!r.ok) throw new Errno(r.errno);
    const v = Number(r.value);
    // The size lands in an int and must be a power of two (observed 7.3.4).
    if (v === 0 || v >= 2 ** 31 || (v & (v - 1)) !== 0) throw new Errno('EINVAL');
    dev.typeGroup[attr] = v;
  },
};

function dev_err(k: KernelContext, dev: EpfDevice, text: string): void {
  k.printk.dev(KERN_ERR, dev.driver, dev.name, text);
}

/** pci_epf_test_epc_init's interrupt setup: MSI first, then MSI-X, each only if the EPC has it. */
function epcInit(k: KernelContext, dev: EpfDevice): Errno | undefined {
  const f = k.controller(dev.epc!).features;
  if (f.msiCapable && (dev.msiInterrupts < MSI_VECTORS.min || dev.msiInterrupts > MSI_VECTORS.max)) {
    dev_err(k, dev, 'MSI configuration failed');
    return new Errno('EINVAL');
  }
  if (f.msixCapable && (dev.msixInterrupts < MSIX_VECTORS.min || dev.msixInterrupts > MSIX_VECTORS.max)) {
    dev_err(k, dev, 'MSI-X configuration failed');
    return new Errno('EINVAL');
  }
  return undefined;
}

export const pciEpfTest: EpfDriverModel = {
  name: 'pci_epf_test',
  // PCI_CLASS_OTHERS as the base class (kernel-abi.md §2.4).
  defaultHeader: { ...BASE_HEADER, baseclass_code: 0xff },
  typeGroup: (k) => (k.b.testTypeGroup ? barSizes : undefined),
  probe: () => undefined,

  bind(k: KernelContext, dev: EpfDevice, chain: CallChain): void {
    if (dev.epc === undefined) {
      // WARN_ON_ONCE(!epc): a secondary/ link never has a primary EPC (observed 7.3.4 at :1348).
      k.printk.warnOnce(`drivers/pci/endpoint/functions/pci-epf-test.c:${k.b.epfTestBindWarnLine}`, 'pci_epf_test_bind', ['pci_epf_test_bind', ...chain], k.splat());
      throw new Errno('EINVAL');
    }
    const controller = k.controller(dev.epc);
    if (controller.features.bars.every((b) => b.type === 'reserved')) throw new Errno('EINVAL');
    if (!controller.dwc) {
      // Normal noise on EPCs without a DMA engine (observed on the Cadence lane EPC).
      k.printk.dev(KERN_INFO, dev.driver, dev.name, 'Failed to get private DMA rx channel. Falling back to generic one');
      // dev_err (observed 7.3.4 at level 3 by the differential).
      k.printk.dev(KERN_ERR, dev.driver, dev.name, 'Failed to get DMA channel');
    }
    if (!k.b.epcInitAfterBind) {
      // Before ≈v6.11 the core init ran inside bind: its errors fail `ln -s` (observed 6.1).
      const e = epcInit(k, dev);
      if (e) throw e;
    }
  },

  unbind(k: KernelContext, dev: EpfDevice, chain: CallChain): void {
    if (dev.epc === undefined) {
      // pci_epf_test_unbind reads epc->init_complete through a NULL epc (§14 H1, H3).
      throw new Oops(k.printk.oops('0000000000000264', ['pci_epf_test_unbind+0x24/0x7c', ...chain], k.splat()));
    }
    freeDoorbell(k, dev);
  },

  epcInit(k: KernelContext, dev: EpfDevice): void {
    epcInit(k, dev);
  },
};
