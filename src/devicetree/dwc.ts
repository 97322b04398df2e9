// DesignWare (DWC) endpoint controller facts read from the device tree.
import type { DeviceTree } from './tree.js';

/**
 * Where dw_pcie_get_resources() (drivers/pci/controller/dwc/pcie-designware.c) finds the eDMA
 * registers: a "dma" reg entry, else inside the iATU window when that is at least
 * 2 × DEFAULT_DBI_DMA_OFFSET (0x80000) long; none: edma_reg_size stays 0, and the controller
 * offers no embedded doorbell (dw_pcie_ep_get_aux_resources_count() returns 0).
 */
export type EdmaRegisters = 'dma-reg' | 'atu-window' | 'none';

/** DEFAULT_DBI_DMA_OFFSET = PCIE_DMA_UNROLL_BASE (pcie-designware.h). */
const DEFAULT_DBI_DMA_OFFSET = 0x80000n;

export async function edmaRegisters(tree: DeviceTree, node: string): Promise<EdmaRegisters> {
  const names = (await tree.strings(node, 'reg-names')) ?? [];
  if (names.includes('dma')) return 'dma-reg';
  const atu = names.indexOf('atu');
  if (atu < 0) return 'none';
  const reg = (await tree.reg(node))[atu];
  return reg !== undefined && reg.size >= 2n * DEFAULT_DBI_DMA_OFFSET ? 'atu-window' : 'none';
}

/** offsetof(struct dw_edma_v0_regs, rd_int_status) (drivers/dma/dw-edma/dw-edma-v0-regs.h): dw_edma_v0_core_db_offset(). */
export const EDMA_V0_DOORBELL_OFFSET = 0xa0n;

/**
 * The physical address of the embedded doorbell: edma_reg_phys (the "dma" reg, or the iATU
 * window + DEFAULT_DBI_DMA_OFFSET) + the eDMA v0 core's db_offset (dw_pcie_ep_get_aux_resources
 * in pcie-designware-ep.c); undefined when the controller has no eDMA registers.
 */
export async function embeddedDoorbellAddress(tree: DeviceTree, node: string): Promise<bigint | undefined> {
  const where = await edmaRegisters(tree, node);
  if (where === 'none') return undefined;
  const names = (await tree.strings(node, 'reg-names')) ?? [];
  const reg = (await tree.reg(node))[names.indexOf(where === 'dma-reg' ? 'dma' : 'atu')];
  if (reg === undefined) return undefined;
  return reg.address + (where === 'atu-window' ? DEFAULT_DBI_DMA_OFFSET : 0n) + EDMA_V0_DOORBELL_OFFSET;
}
