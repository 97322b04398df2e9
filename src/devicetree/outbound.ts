// How many outbound windows (EP memory → PCI address translations, what pci_epc_map_addr uses)
// an endpoint controller's DT node says it has. Two properties say it:
//
// - `cdns,max-outbound-regions` (Cadence, Documentation/devicetree/bindings/pci/cdns-pcie-ep.yaml):
//   the authority. drivers/pci/controller/cadence/pcie-cadence-ep.c cdns_pcie_ep_setup reads it
//   into ep->max_regions (CDNS_PCIE_MAX_OB = 32 when absent). Region 0 is reserved for IRQ
//   writes (set_bit(0, &ep->ob_region_map)) and cdns_pcie_ep_map_addr refuses r >= max_regions - 1,
//   so pci_epc_map_addr can hold at most max_regions - 2 mappings at once.
// - `num-ob-windows` (DesignWare, Documentation/devicetree/bindings/pci/snps,dw-pcie-common.yaml):
//   deprecated, and not read by the 7.3.4 driver: pcie-designware.c dw_pcie_iatu_detect (called
//   from pcie-designware-ep.c dw_pcie_ep_init_registers) counts the iATU outbound regions by
//   writing each one and reading it back, and logs "iATU: unroll T, <ob> ob, <ib> ib, ...". The
//   hardware is the authority. The DT value is still
//   the best fact to be had offline, so it is reported as what it is: the DT's statement.
import type { DeviceTree } from './tree.js';

export const CDNS_MAX_OUTBOUND_REGIONS = 'cdns,max-outbound-regions';
export const DW_NUM_OB_WINDOWS = 'num-ob-windows';

export interface OutboundWindows {
  /** The property's value, as the DT has it. */
  count: number;
  /** Which property said it: the Cadence one the driver uses, or DesignWare's advisory one. */
  property: typeof CDNS_MAX_OUTBOUND_REGIONS | typeof DW_NUM_OB_WINDOWS;
}

/**
 * The outbound window count the EP node states, or undefined when it states none. A property
 * that is not one u32 throws DtParseError (the caller reports it against the file).
 */
export async function outboundWindows(tree: DeviceTree, node: string): Promise<OutboundWindows | undefined> {
  for (const property of [CDNS_MAX_OUTBOUND_REGIONS, DW_NUM_OB_WINDOWS] as const) {
    const count = await tree.u32(node, property);
    if (count !== undefined) return { count, property };
  }
  return undefined;
}
