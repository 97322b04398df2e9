// The RC-to-EP doorbell allocation of drivers/pci/endpoint/pci-ep-msi.c
// (pci_epf_alloc_doorbell / pci_epf_free_doorbell), as the modelled release has it: the checks
// of drivers/pci/endpoint/pci-ep-msi.c in order, with their errnos and kernel log lines. The domain lookup
// (msi-map for requester ID 0, never msi-parent) comes from src/devicetree/msi.ts through
// KernelContext.msiDomain, so the fake and probe share one home for that rule.
import { Errno, type KernelContext } from './context.js';
import type { EpfDevice } from './model.js';
import { KERN_ERR, KERN_INFO } from './printk.js';
import { doorbellChip } from '../procfs/interrupts.js';
import { dmaCtrlBarOf } from '../boards/common.js';
import { doorbellInDmaBar } from '../devicetree/dwc.js';


/**
 * pci_epf_alloc_doorbell(epf, num_db) followed by the driver's request_irq of each vector
 * under `action`: returns the virqs (hwirq = msi_index), or throws Errno after logging.
 */
export function allocDoorbell(k: KernelContext, dev: EpfDevice, numDb: number, action: string): number[] {
  const err = (text: string): void => k.printk.dev(KERN_ERR, dev.driver, dev.name, text);
  // CONFIG_PCI_ENDPOINT_MSI_DOORBELL off: include/linux/pci-ep-msi.h stub, -ENODATA, no log.
  if (!k.b.doorbell || k.config('PCI_ENDPOINT_MSI_DOORBELL') !== 'y') throw new Errno('ENODATA');
  const epcName = dev.epc;
  if (epcName === undefined) throw new Errno('EINVAL');
  const failed = (code: 'EINVAL' | 'EBUSY' | 'ENODEV' | 'EOPNOTSUPP' | 'ENOMEM', errno: number): never => {
    // 7.3.4's refactored pci_epf_alloc_doorbell() reports the MSI path's failure once more.
    if (k.b.doorbellRefactored && code !== 'EINVAL') err(`Failed to allocate doorbell: -${errno}`);
    throw new Errno(code);
  };
  // Step 1: only the first function on the EPC's list may own doorbells.
  if (k.m.controllers[epcName]!.epfs[0] !== dev.name) {
    err(k.b.doorbellRefactored ? "Doorbell doesn't support multiple EPF" : "MSI doorbell doesn't support multiple EPF");
    throw new Errno('EINVAL');
  }
  // Step 2 (after v6.17): doorbells already allocated.
  if (k.b.doorbellBusyCheck && dev.doorbellVirqs !== undefined) throw new Errno('EBUSY');
  // Step 3: of_msi_map_get_device_domain(epc parent, 0, DOMAIN_BUS_PLATFORM_MSI).
  const domain = k.msiDomain(epcName);
  if (!domain.found) {
    err("Can't find MSI domain for EPC");
    return k.b.doorbellRefactored ? embedded(k, dev, numDb, action) : failed('ENODEV', 19);
  }
  // Step 5 (after v6.17): only an immutable MSI parent (GIC-v3 ITS) keeps address/data fixed.
  if (k.b.doorbellImmutableCheck && !domain.immutable) {
    err('Mutable MSI controller not supported');
    return k.b.doorbellRefactored ? embedded(k, dev, numDb, action) : failed('ENODEV', 19);
  }
  // Steps 6-7: platform_device_msi_init_and_alloc_irqs().
  const injected = k.hook('alloc_doorbell', k.functionPath(dev));
  if (injected) {
    err('Failed to allocate MSI');
    throw new Errno(injected);
  }
  const virqs: number[] = [];
  for (let i = 0; i < numDb; i++) virqs.push(k.irq.request(doorbellChip(epcName), i, 'Edge', action));
  dev.doorbellVirqs = virqs;
  return virqs;
}

/** The doorbell was allocated but the driver's request_irq() failed: its error path ran (pci-epf-test: DB_BAR = NO_BAR). */
export class RequestIrqFailed extends Errno {
  constructor() {
    super('EINVAL');
  }
}

/**
 * pci_epf_alloc_doorbell_embedded() after the MSI path's -ENODEV (7.3.4 pci-ep-msi.c): the
 * EPC's auxiliary DOORBELL_MMIO resource. Only DesignWare EPCs have the op
 * (pcie-designware-ep.c dw_pcie_ep_get_aux_resources_count: 1 when the eDMA registers were
 * found, else 0 → -ENODEV); others give -EOPNOTSUPP (observed 7.3.4 on the Cadence EPC: -95).
 * Every doorbell is the one emulation virq (IRQF_SHARED), requested once.
 */
function embedded(k: KernelContext, dev: EpfDevice, numDb: number, action: string): number[] {
  const epc = dev.epc!;
  const log = (level: number, text: string): void => k.printk.dev(level, dev.driver, dev.name, text);
  const errno = !k.controller(epc).dwc ? (['EOPNOTSUPP', 95] as const) : k.msiDomain(epc).edma === 'none' ? (['ENODEV', 19] as const) : undefined;
  if (errno) {
    log(KERN_ERR, `Failed to allocate doorbell: -${errno[1]}`);
    throw new Errno(errno[0]);
  }
  log(KERN_INFO, 'Using embedded (DMA) doorbell fallback');
  // include/linux/dma/edma.h: with DW_EDMA not reachable from the built-in DesignWare core (=m,
  // as arm64's defconfig has it, or off) dw_edma_probe() is a stub, db_offset stays 0 and
  // db_irq 0, so the aux resource is offered with IRQ 0 and the driver's request_irq() fails
  // (-EINVAL) [source, 7.3.4 pcie-designware-ep.c, dw-edma-core.c; not observed].
  if (k.config('DW_EDMA') !== 'y') {
    log(KERN_ERR, 'Failed to request doorbell IRQ: 0');
    throw new RequestIrqFailed();
  }
  // Every db_msg[i] carries the same virq; the drivers request it once (pci-epf-vntb.c
  // epf_ntb_db_irq_is_duplicated(), pci-epf-test.c requests its one doorbell).
  const virq = k.irq.requestEmbedded(epc, action);
  const virqs = new Array<number>(numDb).fill(virq);
  dev.doorbellVirqs = virqs;
  dev.doorbellEmbedded = action;
  return virqs;
}

/**
 * The BAR where the embedded doorbell is already exposed to the host (the doorbell message's
 * `bar` and `offset`, pci-ep-msi.c pci_epf_alloc_doorbell_embedded): dw_pcie_ep_get_aux_resources()
 * finds the controller's PCI_EPC_BAR_RSVD_DMA_CTRL_MMIO region (RK3588: BAR4, offset 0) and
 * reports bar_offset = region offset + the eDMA's db_offset. Undefined (NO_BAR) when the
 * controller reserves no such BAR or the release cannot describe one (barRsvdRegions): then the
 * function maps the doorbell through a BAR of its own.
 */
export function embeddedDoorbellBar(k: KernelContext, epc: string): { bar: number; offset: number } | undefined {
  const dma = dmaCtrlBarOf(k.controller(epc).features);
  if (!k.b.barRsvdRegions || dma === undefined) return undefined;
  return doorbellInDmaBar(dma);
}

/** pci_epf_free_doorbell + free_irq: the rows and the per-device domain go (an embedded doorbell's virq stays with dw-edma); cannot fail. */
export function freeDoorbell(k: KernelContext, dev: EpfDevice): void {
  for (const virq of new Set(dev.doorbellVirqs ?? [])) {
    if (dev.doorbellEmbedded !== undefined) k.irq.freeAction(virq, dev.doorbellEmbedded);
    else k.irq.free(virq);
  }
  delete dev.doorbellVirqs;
  delete dev.doorbellEmbedded;
}
