// drivers/nvme/target/pci-epf.c (nvmet_pci_epf, v6.14): the NVMe PCI endpoint target. Its
// functions carry the type group `nvme/` (portid, subsysnqn, mdts_kb; EBUSY while the NVMe
// controller exists), bind sets up BAR 0, and epc_init creates the nvmet controller on an
// enabled pci port of the nvmet tree (src/fake/nvmet-configfs.ts), overwriting the shared
// header's vendorid/subsys_vendor_id with the subsystem's. Every read-back, errno and log line
// is the one the lane observed on 7.3.4 (test/fixtures/kernel/7.3.4/qemu-virt-nvmet.json);
// [source] marks what only the source shows. The host side (BAR 0 registers, queues) is not
// modelled: no host BAR memory is set up.
import { kstrtou, kstrtoull } from '../../configfs/values.js';
import { Errno, type KernelContext } from '../context.js';
import type { EpfDevice } from '../model.js';
import { allocCtrl, findPciPort, freeCtrl, type NvmetState, emptyNvmet } from '../nvmet-configfs.js';
import { KERN_ERR, KERN_INFO } from '../printk.js';
import type { EpfDriverModel, TypeGroupModel } from './types.js';
import { BASE_HEADER } from './types.js';

import { MDTS_KB_DEFAULT, MDTS_KB_MAX, NVMET_NR_QUEUES, NVMF_NQN_SIZE } from '../../configfs/nvmet.js';
/** NVME_REG_DBS (0x1000, include/linux/nvme.h) + NVMET_NR_QUEUES × 2 doorbells × 4 B, aligned to 8. */
const REG_SIZE = 0x1000 + NVMET_NR_QUEUES * 2 * 4;
/** PCI_MSIX_ENTRY_SIZE. */
const MSIX_ENTRY = 16;

const info = (k: KernelContext, dev: EpfDevice, text: string): void => k.printk.dev(KERN_INFO, dev.driver, dev.name, text);
const err = (k: KernelContext, dev: EpfDevice, text: string): void => k.printk.dev(KERN_ERR, dev.driver, dev.name, text);
const nvmet = (k: KernelContext): NvmetState => (k.m.nvmet ??= emptyNvmet());

const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

const NVME_GROUP: TypeGroupModel = {
  attributes: ['mdts_kb', 'portid', 'subsysnqn'],
  defaults: { portid: 0, subsysnqn: '', mdts_kb: MDTS_KB_DEFAULT },
  show(_k, dev, attr) {
    // portid "%u\n", subsysnqn "%s\n", mdts_kb "%u\n" (observed).
    return `${dev.typeGroup[attr]}\n`;
  },
  store(_k, dev, attr, text) {
    // "Do not allow setting this when the function is already started": ctrl.tctrl exists.
    if (dev.nvmetCtrl) throw new Errno('EBUSY');
    switch (attr) {
      case 'portid': {
        // kstrtou16 base 0; any failure (ERANGE too) is EINVAL (observed "65536\n").
        const r = kstrtou(text, 16);
        if (!r.ok) throw new Errno('EINVAL');
        dev.typeGroup.portid = Number(r.value);
        return;
      }
      case 'subsysnqn': {
        // strscpy(dst, page, len) keeps len − 1 bytes: `echo -n nqn` loses its last character
        // (observed: "…:lane" reads back "…:lan\n"); `echo nqn` loses the newline.
        if (text.length - 1 > NVMF_NQN_SIZE)
          throw new Error(`the fake kernel does not model an nvmet_pci_epf subsysnqn longer than ${NVMF_NQN_SIZE} bytes (drivers/nvme/target/pci-epf.c copies it into a ${NVMF_NQN_SIZE + 1}-byte buffer)`);
        dev.typeGroup.subsysnqn = text.slice(0, text.length - 1).split('\0')[0]!;
        return;
      }
      case 'mdts_kb': {
        // kstrtoul base 0, its errno returned; 0 → 512, above 2048 → 2048, not a power of two → EINVAL (observed).
        const r = kstrtoull(text);
        if (!r.ok) throw new Errno(r.errno);
        const kb = r.value === 0n ? MDTS_KB_DEFAULT : r.value > BigInt(MDTS_KB_MAX) ? MDTS_KB_MAX : Number(r.value);
        if (!isPow2(kb)) throw new Errno('EINVAL');
        dev.typeGroup.mdts_kb = kb;
        return;
      }
    }
    throw new Errno('EINVAL');
  },
};

/** nvmet_pci_epf_configure_bar at bind: BAR 0 must be the first free BAR and big enough if fixed. */
function configureBar(k: KernelContext, dev: EpfDevice): void {
  const f = k.controller(dev.epc!).features;
  // pci_epc_get_first_free_bar: the first BAR the EPC does not reserve.
  const first = f.bars.findIndex((b) => b.type !== 'reserved');
  if (first !== 0) {
    err(k, dev, 'BAR 0 is not free');
    throw new Errno('ENODEV');
  }
  let size = REG_SIZE;
  if (f.msixCapable) size += MSIX_ENTRY * dev.msixInterrupts + Math.ceil(Math.ceil(dev.msixInterrupts / 8) / 8) * 8;
  const bar0 = f.bars[0];
  if (bar0.type === 'fixed' && size > (bar0.fixedSize ?? 0)) {
    err(k, dev, `BAR 0 size ${bar0.fixedSize ?? 0} B too small, need ${size} B`);
    throw new Errno('ENOMEM');
  }
}

/** nvmet_pci_epf_destroy_ctrl: logged, link down, the nvmet controller put. */
function destroyCtrl(k: KernelContext, dev: EpfDevice): void {
  const c = dev.nvmetCtrl;
  if (!c) return;
  info(k, dev, `Destroying PCI ctrl "${c.subsys}"`);
  // nvmet_pci_epf_stop_ctrl, whether or not the link came up (observed after start 0).
  info(k, dev, 'PCI link down');
  freeCtrl(nvmet(k), c);
  delete dev.nvmetCtrl;
}

/** nvmet_pci_epf_epc_init: errors are only logged (≈v6.11+), `ln -s` has returned 0. */
function epcInit(k: KernelContext, dev: EpfDevice): void {
  if ((dev.vfuncNo ?? 0) > 0) {
    err(k, dev, 'Virtual functions are not supported');
    return;
  }
  const f = k.controller(dev.epc!).features;
  let maxQueues = NVMET_NR_QUEUES;
  if (f.msixCapable && dev.msixInterrupts) {
    info(k, dev, `PCI endpoint controller supports MSI-X, ${dev.msixInterrupts} vectors`);
    maxQueues = Math.min(maxQueues, dev.msixInterrupts);
  } else if (f.msiCapable && dev.msiInterrupts) {
    info(k, dev, `PCI endpoint controller supports MSI, ${dev.msiInterrupts} vectors`);
    maxQueues = Math.min(maxQueues, dev.msiInterrupts);
  }
  if (maxQueues < 2) {
    err(k, dev, `Invalid maximum number of queues ${maxQueues}`);
    return;
  }
  const st = nvmet(k);
  const port = findPciPort(st, Number(dev.typeGroup.portid));
  if (port === undefined) {
    // An absent port and a port without a subsystem (not enabled, so never add_port'ed) alike (observed).
    err(k, dev, 'Port not found');
    err(k, dev, 'Failed to create NVMe PCI target controller (err=-22)');
    return;
  }
  const nqn = String(dev.typeGroup.subsysnqn);
  const ctrl = allocCtrl(k, st, port, nqn);
  if (!ctrl) {
    err(k, dev, 'Failed to create target controller');
    err(k, dev, 'Failed to create NVMe PCI target controller (err=-12)');
    return;
  }
  const subsys = st.subsystems[nqn]!;
  const queues = Math.min(subsys.qidMax + 1, maxQueues);
  info(k, dev, `New PCI ctrl "${nqn}", ${queues - 1} I/O queues, mdts ${Number(dev.typeGroup.mdts_kb) * 1024} B`);
  dev.nvmetCtrl = ctrl;
  // nvmet_pci_epf_init_dma: no DMA channel on the Cadence EP (observed); a DesignWare eDMA would serve [inferred].
  if (!(k.controller(dev.epc!).dwc && k.msiDomain(dev.epc!).edma !== 'none')) info(k, dev, 'DMA not supported, falling back to MMIO');
  // The one static header every nvmet_pci_epf function shares (observed read-back after the link).
  const header = k.m.drivers.nvmet_pci_epf!.header;
  header.vendorid = subsys.vendorId;
  header.subsys_vendor_id = subsys.subsysVendorId;
  // Without a link-up notifier the controller starts polling at once (Cadence: observed).
  if (!f.linkupNotifier) info(k, dev, 'PCI link up');
}

export const nvmetPciEpf: EpfDriverModel = {
  name: 'nvmet_pci_epf',
  since: '6.14',
  // nvme_epf_pci_header: mass storage, NVM Express, INTA (observed read-back 7.3.4).
  defaultHeader: { ...BASE_HEADER, progif_code: 0x02, subclass_code: 0x08, baseclass_code: 0x01 },
  groupName: 'nvme',
  typeGroup: () => NVME_GROUP,
  probe: () => undefined,
  bind(k, dev) {
    if (!dev.epc) throw new Errno('EINVAL');
    configureBar(k, dev);
  },
  unbind(k, dev) {
    destroyCtrl(k, dev);
  },
  epcInit,
};
