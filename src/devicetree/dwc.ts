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
