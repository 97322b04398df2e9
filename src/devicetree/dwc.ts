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

/**
 * A BAR the controller driver's pci_epc_features marks BAR_RESERVED because the integrated DMA
 * controller's registers sit behind it, described by a `struct pci_epc_bar_rsvd_region` of type
 * PCI_EPC_BAR_RSVD_DMA_CTRL_MMIO (include/linux/pci-epc.h). EPF drivers skip such a BAR
 * (pci_epc_get_next_free_bar), a set_bar() on it fails (dw_pcie_ep_set_bar: "Invalid BAR type",
 * -EINVAL), and dw_pcie_ep_get_aux_resources() reports the embedded doorbell at `bar`,
 * `offset` + the eDMA's db_offset, so the doorbell needs no inbound window of its own.
 */
export interface DmaCtrlBar {
  bar: number;
  /** The region in the BAR (pci_epc_bar_rsvd_region offset/size). */
  offset: number;
  size: number;
}

/**
 * Where the embedded doorbell sits in the reserved DMA BAR, as dw_pcie_ep_get_aux_resources()
 * (pcie-designware-ep.c) reports it: the region's BAR, at the region's offset + the eDMA v0
 * core's db_offset. Whether a release reports it at all is the caller's (barRsvdRegions).
 */
export function doorbellInDmaBar(dma: DmaCtrlBar): { bar: number; offset: number } {
  return { bar: dma.bar, offset: dma.offset + Number(EDMA_V0_DOORBELL_OFFSET) };
}

/**
 * The one home of "this controller reserves BAR n for its DMA registers", by the EP node's
 * compatible (the glue driver's of_match data picks its pci_epc_features).
 * drivers/pci/controller/dwc/pcie-dw-rockchip.c rockchip_pcie_epc_features_rk3588:
 * `.bar[BAR_4] = { .type = BAR_RESERVED }` since the endpoint mode support (e242f26f6320,
 * "PCI: dw-rockchip: Add endpoint mode support", v6.11 [inferred]; in 6.12.117's source), with
 * `rk3588_bar4_rsvd` (DMA_CTRL_MMIO, offset 0, size 0x2000) since "PCI: dw-rockchip: Describe
 * RK3588 BAR4 DMA ctrl window" (489d3abb4117 in linux-next, March 2026: v7.1 [inferred];
 * KernelBehaviour.barRsvdRegions). Read in 7.3.4.
 */
const DMA_CTRL_BARS: Readonly<Record<string, DmaCtrlBar>> = {
  'rockchip,rk3588-pcie-ep': { bar: 4, offset: 0x0, size: 0x2000 },
};

/** The DMA-register BAR the controller with these compatibles reserves, if any. */
export function dmaCtrlBar(compatible: readonly string[]): DmaCtrlBar | undefined {
  for (const c of compatible) if (DMA_CTRL_BARS[c]) return DMA_CTRL_BARS[c];
  return undefined;
}
