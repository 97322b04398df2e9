// drivers/pci/endpoint/functions/pci-epf-test.c as the fake models it: header defaults, the
// barN_size type group (7.3; "Allow overriding default BAR sizes", 930e343cde6c), bind with
// its WARN_ON_ONCE(!epc), the epc_init MSI/MSI-X checks, and an unbind that dereferences a NULL
// epc when the bind error path reaches it (pci-epf-test.c; the oops observed 7.3.4).
import { kstrtou } from '../../configfs/values.js';
import { MSI_VECTORS, MSIX_VECTORS } from '../../configfs/header.js';
import { Errno, Oops, type KernelContext } from '../context.js';
import type { EpfDevice } from '../model.js';
import { KERN_ERR, KERN_INFO } from '../printk.js';
import { allocDoorbell, embeddedDoorbellBar, freeDoorbell, RequestIrqFailed } from '../pci-ep-msi.js';
import { DOORBELL_ACTION } from '../../procfs/interrupts.js';
import { TEST_COMMAND, TEST_IRQ_TYPE, TEST_NO_BAR, TEST_REG, TEST_REG_SIZE, TEST_STATUS } from '../../host/registers.js';
import { hostBars, newHostState, pow2, read32, write32 } from '../bar-space.js';
import type { AccessWidth } from '../../kernel/port.js';
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

/** pci-epf-test.c bar_size[] before the barN_size type group (the defaults of ≤ 6.x). */
const LEGACY_BAR_SIZE = [512, 512, 1024, 16384, 131072, 1048576];

/**
 * pci_epf_test_alloc_space at bind: every BAR the EPC does not reserve, skipping the upper half
 * of a 64-bit-only BAR; the first one (pci_epc_get_first_free_bar) holds the registers. The
 * register BAR is at least ALIGN(sizeof(reg), 128) plus the MSI-X table (16 B per vector) and
 * PBA when the EPC is MSI-X capable (pci_epf_test_alloc_space), rounded to a power of two [inferred].
 */
function allocSpace(k: KernelContext, dev: EpfDevice): Record<number, number> {
  const f = k.controller(dev.epc!).features;
  const out: Record<number, number> = {};
  let skipNext = false;
  for (let bar = 0; bar < 6; bar++) {
    const feat = f.bars[bar]!;
    if (skipNext) {
      skipNext = false;
      continue;
    }
    if (feat.type === 'reserved') continue;
    skipNext = feat.only64bit === true;
    let size = feat.type === 'fixed' ? feat.fixedSize! : k.b.testTypeGroup ? Number(dev.typeGroup[`bar${bar}_size`]) : LEGACY_BAR_SIZE[bar]!;
    if (Object.keys(out).length === 0 && feat.type !== 'fixed') {
      const msix = f.msixCapable ? dev.msixInterrupts * 16 + Math.ceil(Math.ceil(dev.msixInterrupts / 8) / 8) * 8 : 0;
      size = Math.max(size, pow2(Math.ceil(TEST_REG_SIZE / 128) * 128 + msix));
    }
    out[bar] = size;
  }
  return out;
}

/** test_reg_bar: the first BAR the function set up. */
const regBar = (dev: EpfDevice): number => hostBars(dev)[0]!.bar;

/** pci_epc_get_next_free_bar(features, test_reg_bar + 1), or undefined (NO_BAR). */
const nextFreeBar = (dev: EpfDevice): number | undefined => hostBars(dev)[1]?.bar;

/** The kworker that runs kpcitest's command work, for the oops's CPU line [inferred name]. */
const KWORKER = { comm: 'kworker/0:1', pid: 37 };

/** pci_epf_test_raise_irq: STATUS gets IRQ_RAISED before the IRQ goes to the host (pci-epf-test.c). */
function raiseIrq(k: KernelContext, dev: EpfDevice): void {
  const h = dev.host!;
  write32(h, regBar(dev), TEST_REG.STATUS, read32(h, regBar(dev), TEST_REG.STATUS) | TEST_STATUS.IRQ_RAISED);
}

const orStatus = (dev: EpfDevice, bits: number): void => {
  const h = dev.host!;
  write32(h, regBar(dev), TEST_REG.STATUS, read32(h, regBar(dev), TEST_REG.STATUS) | bits);
};

/**
 * pci_epf_test_enable_doorbell (pci-epf-test.c): allocate one doorbell, take the next free
 * BAR, publish DB_DATA/DB_BAR/DB_OFFSET and point that BAR's inbound window at the ITS page;
 * or, when the doorbell is already exposed in a reserved BAR, publish that BAR and offset.
 * A failed allocation leaves DB_* untouched (observed 7.3.4: all 0).
 */
function enableDoorbell(k: KernelContext, dev: EpfDevice): void {
  const h = dev.host!;
  const reg = regBar(dev);
  try {
    allocDoorbell(k, dev, 1, DOORBELL_ACTION.pci_epf_test);
  } catch (e) {
    if (!(e instanceof Errno)) throw e;
    // A failed request_irq runs err_doorbell_cleanup: DB_BAR = NO_BAR.
    if (e instanceof RequestIrqFailed) write32(h, reg, TEST_REG.DB_BAR, TEST_NO_BAR);
    orStatus(dev, TEST_STATUS.DOORBELL_ENABLE_FAIL);
    return;
  }
  // db->bar != NO_BAR: the doorbell is already exposed through a platform-owned BAR (the
  // embedded doorbell in RK3588's reserved BAR4): DB_BAR/DB_OFFSET come from the message and
  // no set_bar() is made (db_bar_programmed stays false).
  const exposed = dev.doorbellEmbedded !== undefined ? embeddedDoorbellBar(k, dev.epc!) : undefined;
  if (exposed) {
    write32(h, reg, TEST_REG.DB_DATA, 0);
    write32(h, reg, TEST_REG.DB_BAR, exposed.bar);
    write32(h, reg, TEST_REG.DB_OFFSET, exposed.offset);
    orStatus(dev, TEST_STATUS.DOORBELL_ENABLE_SUCCESS);
    return;
  }
  const bar = nextFreeBar(dev);
  if (bar === undefined) {
    // err_doorbell_cleanup: DB_BAR = NO_BAR, the doorbell freed.
    freeDoorbell(k, dev);
    write32(h, reg, TEST_REG.DB_BAR, TEST_NO_BAR);
    orStatus(dev, TEST_STATUS.DOORBELL_ENABLE_FAIL);
    return;
  }
  // msg.data = the ITS event ID = msi_index 0 (observed 7.3.4: DB_DATA 0).
  write32(h, reg, TEST_REG.DB_DATA, 0);
  write32(h, reg, TEST_REG.DB_BAR, bar);
  const size = BigInt(h.bars[String(bar)]!);
  // The message address: the ITS's GITS_TRANSLATER, or for the embedded doorbell the eDMA's
  // rd_int_status (dma_map_resource without an IOMMU: the physical address; data 0 asserts it).
  const domain = k.msiDomain(dev.epc!);
  const translater = dev.doorbellEmbedded !== undefined ? domain.edmaDoorbell : domain.its?.translater;
  if (translater !== undefined) {
    // pci_epf_align_inbound_addr: base = address aligned down to the BAR size, offset the rest.
    write32(h, reg, TEST_REG.DB_OFFSET, Number(translater & (size - 1n)));
    h.inbound[String(bar)] = String(translater & ~(size - 1n));
  }
  orStatus(dev, TEST_STATUS.DOORBELL_ENABLE_SUCCESS);
}

/**
 * pci_epf_test_disable_doorbell: DB_BAR < 0 (as an enum) → DISABLE_FAIL; otherwise free_irq on
 * epf->db_msg[0].virq and free the doorbell. After a failed ENABLE DB_BAR is still 0 and db_msg
 * NULL: the kpcitest work oopses at 0xc (observed 7.3.4), the kernel keeps running and
 * the command work is gone, so later commands are not served [inferred].
 */
function disableDoorbell(k: KernelContext, dev: EpfDevice): void {
  const h = dev.host!;
  const reg = regBar(dev);
  const bar = read32(h, reg, TEST_REG.DB_BAR) | 0;
  if (bar < 0) {
    orStatus(dev, TEST_STATUS.DOORBELL_DISABLE_FAIL);
    return;
  }
  if (dev.doorbellVirqs === undefined) {
    h.cmdStopped = true;
    const ctx = { ...k.splat(), caller: KWORKER };
    // pc, address and workqueue observed 7.3.4; the frames below the handler are the usual
    // workqueue frames [inferred], the kworker's name and PID too.
    throw new Oops(k.printk.oops('000000000000000c', ['pci_epf_test_cmd_handler+0x178/0x9c4', 'process_one_work', 'worker_thread', 'kthread', 'ret_from_fork'], ctx, [], 'kpcitest pci_epf_test_cmd_handler'));
  }
  freeDoorbell(k, dev);
  write32(h, reg, TEST_REG.DB_BAR, TEST_NO_BAR);
  // v6.18+: pci_epc_set_bar(&epf->bar[bar]) restores the BAR's memory; v6.17: pci_epc_clear_bar.
  // Only a BAR the doorbell programmed (db_bar_programmed): not a platform-owned one.
  const programmed = h.bars[String(bar)] !== undefined;
  if (programmed && k.b.testDoorbellRestoresBar) delete h.inbound[String(bar)];
  else if (programmed) h.inbound[String(bar)] = 'cleared';
  orStatus(dev, TEST_STATUS.DOORBELL_DISABLE_SUCCESS);
}

/**
 * pci_epf_test_cmd_handler, run at the write that sets COMMAND (the real work polls every
 * ≈1 ms): COMMAND and STATUS zeroed, IRQ_TYPE checked, then the command. READ/WRITE/COPY move
 * data through host memory, which the simulated host does not have: they are not modelled.
 */
function cmdHandler(k: KernelContext, dev: EpfDevice): void {
  const h = dev.host!;
  const reg = regBar(dev);
  const command = read32(h, reg, TEST_REG.COMMAND);
  if (command === 0) return;
  write32(h, reg, TEST_REG.COMMAND, 0);
  write32(h, reg, TEST_REG.STATUS, 0);
  if (read32(h, reg, TEST_REG.IRQ_TYPE) > TEST_IRQ_TYPE.MSIX) {
    dev_err(k, dev, 'Failed to detect IRQ type');
    return;
  }
  switch (command) {
    case TEST_COMMAND.RAISE_INTX_IRQ:
    case TEST_COMMAND.RAISE_MSI_IRQ:
    case TEST_COMMAND.RAISE_MSIX_IRQ:
      raiseIrq(k, dev);
      return;
    case TEST_COMMAND.READ:
    case TEST_COMMAND.WRITE:
    case TEST_COMMAND.COPY:
      // Not modelled (no host memory behind the outbound window): STATUS stays 0.
      return;
    case TEST_COMMAND.ENABLE_DOORBELL:
    case TEST_COMMAND.DISABLE_DOORBELL:
      // The doorbell commands arrived with the doorbell core (v6.17, commit 1c3b002c6bf6).
      if (k.b.doorbell) {
        if (command === TEST_COMMAND.ENABLE_DOORBELL) enableDoorbell(k, dev);
        else disableDoorbell(k, dev);
        raiseIrq(k, dev);
        return;
      }
      break;
  }
  dev_err(k, dev, `Invalid command 0x${command.toString(16)}`);
}

export const pciEpfTest: EpfDriverModel = {
  name: 'pci_epf_test',
  // PCI_CLASS_OTHERS as the base class (test_header in pci-epf-test.c).
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
    dev.host = newHostState(allocSpace(k, dev));
  },

  unbind(k: KernelContext, dev: EpfDevice, chain: CallChain): void {
    if (dev.epc === undefined) {
      // pci_epf_test_unbind reads epc->init_complete through a NULL epc (observed 7.3.4, +0x24).
      throw new Oops(k.printk.oops('0000000000000264', ['pci_epf_test_unbind+0x24/0x7c', ...chain], k.splat()));
    }
    freeDoorbell(k, dev);
    delete dev.host;
  },

  epcInit(k: KernelContext, dev: EpfDevice): void {
    // An epc_init error returns before the command work is queued [inferred from its order].
    if (epcInit(k, dev) && dev.host) dev.host.cmdStopped = true;
  },

  barWritten(k: KernelContext, dev: EpfDevice, bar: number, offset: number, width: AccessWidth): void {
    const h = dev.host;
    if (!h || h.cmdStopped || bar !== regBar(dev)) return;
    // The command work is queued at epc_init on EPCs without a link-up notifier (Cadence: a CPU
    // store to the RAM is served before `start`), else at link-up (pci_epf_test_epc_init). A
    // command written before link-up would be served at link-up: not modelled.
    if (k.controller(dev.epc!).features.linkupNotifier && !k.m.controllers[dev.epc!]!.start) return;
    if (offset + width / 8 <= TEST_REG.COMMAND || offset >= TEST_REG.COMMAND + 4) return;
    cmdHandler(k, dev);
  },

  doorbellIrq(k: KernelContext, dev: EpfDevice): void {
    // pci_epf_test_doorbell_handler: STATUS |= DOORBELL_SUCCESS, then the host IRQ.
    if (!dev.host) return;
    orStatus(dev, TEST_STATUS.DOORBELL_SUCCESS);
    raiseIrq(k, dev);
  },
};
