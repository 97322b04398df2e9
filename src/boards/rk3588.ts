// Radxa ROCK 5B (RK3588) booted with rk3588-rock-5b-pcie-ep.dtso: pcie3x4 disabled, pcie3x4_ep
// okay, mmu600_pcie disabled (rk3588-extra.dtsi). Two profiles: `rk3588` is upstream (EP node
// without msi-map: no doorbell, "Can't find MSI domain for EPC"); `rk3588-msi-map` adds the RC's
// `msi-map = <0x0000 &its1 0x0000 0x1000>` to the EP node, as Niklas Cassel tested the v21
// doorbell series. The GIC itself is also an MBI msi-controller (mutable, not a doorbell target).
// DT: arch/arm64/boot/dts/rockchip/rk3588-base.dtsi (GIC, uart2), rk3588-extra.dtsi (pcie3x4,
// pcie3x4_ep, pcie30phy), rk3588-rock-5b.dts.
//
// Chosen (no cited source): root compatible/model; the pcie30phy and mmu600_pcie regs; the RC
// reduced to dbi reg, msi-map and iommu-map; uart2 (console, SPI 333); timer flags; EPC
// features other than the BAR types and BAR4's reserved region (msi/msix, linkup_notifier, align 64 KiB as
// pcie-dw-rockchip.c); virq numbers; dtSymbols (overlay base built with -@).
import type { BarFeature, BoardProfile, EpcFeatures } from './types.js';
import { dmaCtrlBar } from '../devicetree/dwc.js';
import { cells, flag, node, ref, str, type DtNodeSpec, type DtValue } from '../devicetree/spec.js';
import {
  DISTRO_NVME_TARGET_CONFIG,
  EPF_DRIVERS_NVME,
  GIC_PPI,
  GIC_SPI,
  IRQ_TYPE_LEVEL_HIGH,
  RESIZABLE,
  SZ_64K,
  archTimerIrq,
  armv8Timer,
  cpus,
  disabled,
  gicV3Its,
  okay,
  spiIrq,
} from './common.js';

const RK3588_EP_COMPATIBLE = 'rockchip,rk3588-pcie-ep';
/** BAR4: the eDMA registers (devicetree/dwc.ts dmaCtrlBar, rk3588_bar4_rsvd). */
const DMA_BAR = dmaCtrlBar([RK3588_EP_COMPATIBLE])!;
const DMA_RESERVED: BarFeature = { type: 'reserved', dmaCtrl: { offset: DMA_BAR.offset, size: DMA_BAR.size } };

/**
 * drivers/pci/controller/dwc/pcie-dw-rockchip.c rockchip_pcie_epc_features_rk3588: BAR0-3 and
 * BAR5 resizable; BAR4 BAR_RESERVED, since it exposes the DMA registers to the host whatever
 * its iATU settings.
 */
const RK3588_EPC_FEATURES: EpcFeatures = {
  msiCapable: true,
  msixCapable: true,
  linkupNotifier: true,
  align: SZ_64K,
  bars: [0, 1, 2, 3, 4, 5].map((n) => (n === DMA_BAR.bar ? DMA_RESERVED : RESIZABLE)) as unknown as EpcFeatures['bars'],
};

/** The GIC has `#interrupt-cells = <4>` (PPI partitions): SPIs carry a trailing 0. */
const spi = (n: number): number[] => [GIC_SPI, n, IRQ_TYPE_LEVEL_HIGH, 0];

function rk3588Dt(epMsiMap: DtValue | undefined): DtNodeSpec {
  return node({
    compatible: str('radxa,rock-5b', 'rockchip,rk3588'),
    model: str('Radxa ROCK 5B'),
    'interrupt-parent': cells(ref('gic')),
    '#address-cells': cells(2),
    '#size-cells': cells(2),
  }, {
    // cpu@0..300 little Cortex-A55, cpu@400..700 big Cortex-A76.
    cpus: cpus([
      ...[0x000, 0x100, 0x200, 0x300].map((reg) => [reg, 'arm,cortex-a55'] as const),
      ...[0x400, 0x500, 0x600, 0x700].map((reg) => [reg, 'arm,cortex-a76'] as const),
    ]),
    timer: armv8Timer(IRQ_TYPE_LEVEL_HIGH, [0]),
    // Disabled by the EP overlay: the SMMU broke EP mode (iommus dropped from pcie3x4_ep).
    'iommu@fc900000': node({
      compatible: str('arm,smmu-v3'),
      reg: cells(0x0, 0xfc900000, 0x0, 0x200000),
      '#iommu-cells': cells(1),
      status: disabled(),
    }, {}, 'mmu600_pcie'),
    'pcie@fe150000': node({
      compatible: str('rockchip,rk3588-pcie', 'rockchip,rk3568-pcie'),
      reg: cells(0xa, 0x40000000, 0x0, 0x00400000), // dbi; apb/config entries left out
      device_type: str('pci'),
      '#address-cells': cells(3),
      '#size-cells': cells(2),
      'msi-map': cells(0x0000, ref('its1'), 0x0000, 0x1000),
      'iommu-map': cells(0x0000, ref('mmu600_pcie'), 0x0000, 0x1000),
      status: disabled(),
    }, {}, 'pcie3x4'),
    // Root level, dbi first: the EPC is a40000000.pcie-ep, not fe150000 (of_device_make_bus_id, drivers/of/device.c).
    'pcie-ep@fe150000': node({
      compatible: str(RK3588_EP_COMPATIBLE),
      reg: cells(
        0xa, 0x40000000, 0x0, 0x00100000, // dbi
        0xa, 0x40100000, 0x0, 0x00100000, // dbi2
        0x0, 0xfe150000, 0x0, 0x00010000, // apb
        0x9, 0x00000000, 0x0, 0x40000000, // addr_space
        0xa, 0x40300000, 0x0, 0x00100000, // atu
      ),
      'reg-names': str('dbi', 'dbi2', 'apb', 'addr_space', 'atu'),
      interrupts: cells(...spi(263), ...spi(262), ...spi(261), ...spi(260), ...spi(259),
        ...spi(271), ...spi(272), ...spi(269), ...spi(270)),
      'interrupt-names': str('sys', 'pmc', 'msg', 'legacy', 'err', 'dma0', 'dma1', 'dma2', 'dma3'),
      'max-link-speed': cells(3),
      'num-lanes': cells(4),
      phys: cells(ref('pcie30phy')),
      ...(epMsiMap === undefined ? {} : { 'msi-map': epMsiMap }),
      status: okay(),
    }, {}, 'pcie3x4_ep'),
    // GICv3 with MBI (msi-controller on the GIC node: mutable) and two ITSes; the RC uses its1.
    'interrupt-controller@fe600000': node({
      compatible: str('arm,gic-v3'),
      'dma-noncoherent': flag(),
      reg: cells(0x0, 0xfe600000, 0, 0x10000, 0x0, 0xfe680000, 0, 0x100000),
      interrupts: cells(GIC_PPI, 9, IRQ_TYPE_LEVEL_HIGH, 0),
      'interrupt-controller': flag(),
      'mbi-alias': cells(0x0, 0xfe610000),
      'mbi-ranges': cells(424, 56),
      'msi-controller': flag(),
      ranges: flag(),
      '#address-cells': cells(2),
      '#interrupt-cells': cells(4),
      '#size-cells': cells(2),
    }, {
      'msi-controller@fe640000': gicV3Its(0xfe640000, { 'dma-noncoherent': flag() }, 'its0'),
      'msi-controller@fe660000': gicV3Its(0xfe660000, { 'dma-noncoherent': flag() }, 'its1'),
    }, 'gic'),
    'serial@feb50000': node({
      compatible: str('rockchip,rk3588-uart', 'snps,dw-apb-uart'),
      reg: cells(0x0, 0xfeb50000, 0x0, 0x100),
      interrupts: cells(...spi(333)),
      'reg-shift': cells(2),
      'reg-io-width': cells(4),
      status: okay(),
    }, {}, 'uart2'),
    'phy@fee80000': node({
      compatible: str('rockchip,rk3588-pcie3-phy'),
      reg: cells(0x0, 0xfee80000, 0x0, 0x20000),
      '#phy-cells': cells(0),
      'rockchip,rx-common-refclk-mode': cells(0, 0, 0, 0), // set by the EP overlay
      status: okay(),
    }, {}, 'pcie30phy'),
  });
}

function rk3588Profile(name: string, title: string, epMsiMap: DtValue | undefined): BoardProfile {
  return {
    name,
    title,
    soc: 'RK3588',
    cpus: 8,
    dt: rk3588Dt(epMsiMap),
    dtSymbols: true,
    controllers: [
      {
        name: 'a40000000.pcie-ep',
        dtPath: '/pcie-ep@fe150000',
        devicePath: '/sys/devices/platform/a40000000.pcie-ep',
        driver: 'rockchip-dw-pcie',
        maxFunctions: 1,
        maxVirtualFunctions: 0,
        features: RK3588_EPC_FEATURES,
        dwc: true,
        // dw-edma probe line seen on ROCK 5B EP boots (Niklas Cassel, linux-pci 2026).
        probeLog: ['rockchip-dw-pcie a40000000.pcie-ep: eDMA: unroll T, 2 wr, 2 rd'],
      },
    ],
    functionDrivers: EPF_DRIVERS_NVME,
    // dw8250 requests its IRQ at open under the port name (serial2 alias → ttyS2).
    irqs: [archTimerIrq(11, 26), spiIrq(13, 333, 'ttyS2')],
    kernelConfig: { PCIE_ROCKCHIP_DW_EP: 'y', PCIE_DW_EP: 'y', ARM_GIC_V3_ITS: 'y', ...DISTRO_NVME_TARGET_CONFIG },
  };
}

/** Upstream DT: the EP node has no msi-map, so pci_epf_alloc_doorbell() finds no MSI domain. */
export const rk3588: BoardProfile = rk3588Profile(
  'rk3588',
  'Radxa ROCK 5B (RK3588), PCIe EP overlay, upstream DT (EP node without msi-map: no doorbell)',
  undefined,
);

/** EP node with the RC's map to its1 added, as tested on ROCK 5B (`ok 17 pcie_ep_doorbell.DOORBELL_TEST`). */
export const rk3588MsiMap: BoardProfile = rk3588Profile(
  'rk3588-msi-map',
  'Radxa ROCK 5B (RK3588), PCIe EP overlay, EP node with msi-map = <0x0000 &its1 0x0000 0x1000>',
  cells(0x0000, ref('its1'), 0x0000, 0x1000),
);
