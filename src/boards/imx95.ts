// NXP i.MX95 19x19 EVK booted with both EP overlays (imx-pcie0-ep.dtso, imx-pcie1-ep.dtso):
// the doorbell reference platform (v21 cover letter). Two profiles: `imx95` carries the msi-map
// of the Oct-2025 fix, `imx95-v6.18` the v6.18 DT where the map landed on pcie0_ep by
// mistake. DT: arch/arm64/boot/dts/freescale/imx95.dtsi + imx95-19x19-evk.dts.
//
// Chosen (no cited source): root compatible/model; the aips1 bus and lpuart1 (console) from
// imx95.dtsi; timer flags as imx95.dtsi; the RC nodes reduced to their dbi reg; pcie1's
// msi-map-mask taken equal to pcie0's; virq numbers; dtSymbols (base DTB of overlays is
// built with -@).
import type { BoardProfile, ControllerProfile, EpcFeatures } from './types.js';
import { cells, flag, node, ref, str, type DtNodeSpec, type DtValue } from '../devicetree/spec.js';
import {
  DISTRO_NVME_TARGET_CONFIG,
  EPF_DRIVERS_NVME,
  GIC_CPU_MASK_SIMPLE,
  GIC_PPI,
  GIC_SPI,
  IRQ_TYPE_LEVEL_HIGH,
  IRQ_TYPE_LEVEL_LOW,
  SZ_4K,
  SZ_64K,
  STD,
  archTimerIrq,
  armv8Timer,
  cpus,
  disabled,
  gicV3,
  gicV3Its,
  okay,
  spiIrq,
} from './common.js';

/** drivers/pci/controller/dwc/pci-imx6.c imx95_pcie_epc_features: msi only, BAR1 fixed 64 KiB, align 4 KiB. */
const IMX95_EPC_FEATURES: EpcFeatures = {
  msiCapable: true,
  msixCapable: false,
  linkupNotifier: false,
  align: SZ_4K,
  bars: [STD, { type: 'fixed', fixedSize: SZ_64K }, STD, STD, STD, STD],
};

/** The `msi-map` each EP node carries; absent = no property. */
interface Imx95EpMsiMaps {
  pcie0Ep?: DtValue;
  pcie1Ep?: DtValue;
  /** The property those values go in (a vendor tree for the v9 doorbell posting uses msi-parent). */
  prop?: 'msi-map' | 'msi-parent';
}

/** An EP node (imx95.dtsi pcie0_ep/pcie1_ep): dbi, atu, dbi2, app, dma, addr_space; SPI 317 "dma". */
function pcieEp(unit: number, addrSpaceHi: number, msiMap: DtValue | undefined, label: string, prop: 'msi-map' | 'msi-parent' = 'msi-map'): DtNodeSpec {
  return node(
    {
      compatible: str('fsl,imx95-pcie-ep'),
      reg: cells(
        0, unit, 0, 0x10000, // dbi
        0, unit + 0x60000, 0, 0x1000, // atu
        0, unit + 0x20000, 0, 0x1000, // dbi2
        0, unit + 0x40000, 0, 0x2000, // app (0x4000 in newer/vendor trees)
        0, unit + 0x70000, 0, 0x10000, // dma
        addrSpaceHi, 0, 1, 0, // addr_space, 4 GiB
      ),
      'reg-names': str('dbi', 'atu', 'dbi2', 'app', 'dma', 'addr_space'),
      'num-lanes': cells(1),
      interrupts: cells(GIC_SPI, 317, IRQ_TYPE_LEVEL_HIGH),
      'interrupt-names': str('dma'),
      ...(msiMap === undefined ? {} : { [prop]: msiMap }),
      status: okay(), // the EP overlay sets &pcieN_ep okay
    },
    {},
    label,
  );
}

/**
 * The RC sibling, disabled by the EP overlay. msi-map/msi-map-mask as nxp-imx/linux-imx
 * imx95.dtsi (vendor tree): ID 0 (the root port) and IDs 0x100.. (bus 1) to the ITS.
 */
function pcieRc(unit: number, devId: number, label: string): DtNodeSpec {
  return node(
    {
      compatible: str('fsl,imx95-pcie'),
      reg: cells(0, unit, 0, 0x10000), // dbi; config/atu/app entries left out
      device_type: str('pci'),
      '#address-cells': cells(3),
      '#size-cells': cells(2),
      'msi-map': cells(0x0, ref('its'), devId, 0x1, 0x100, ref('its'), devId + 1, 0x7),
      'msi-map-mask': cells(0x1ff),
      status: disabled(),
    },
    {},
    label,
  );
}

function imx95Dt(maps: Imx95EpMsiMaps): DtNodeSpec {
  return node({
    compatible: str('fsl,imx95-19x19-evk', 'fsl,imx95'),
    model: str('NXP i.MX95 19X19 board'),
    'interrupt-parent': cells(ref('gic')),
    '#address-cells': cells(2),
    '#size-cells': cells(2),
  }, {
    cpus: cpus([0x0, 0x100, 0x200, 0x300, 0x400, 0x500].map((reg) => [reg, 'arm,cortex-a55'] as const)),
    // imx95-19x19-evk.dts placeholder, fixed up by the bootloader (2 GiB).
    'memory@80000000': node({ device_type: str('memory'), reg: cells(0x0, 0x80000000, 0, 0x80000000) }),
    timer: armv8Timer(GIC_CPU_MASK_SIMPLE(6) | IRQ_TYPE_LEVEL_LOW),
    'interrupt-controller@48000000': gicV3([0, 0x48000000, 0, 0x10000, 0, 0x48060000, 0, 0xc0000], {
      'msi-controller@48040000': gicV3Its(0x48040000, { 'dma-noncoherent': flag() }, 'its'),
    }, { 'dma-noncoherent': flag() }),
    soc: node({
      compatible: str('simple-bus'),
      '#address-cells': cells(2),
      '#size-cells': cells(2),
      ranges: flag(),
    }, {
      'bus@44000000': node({
        compatible: str('fsl,aips-bus', 'simple-bus'),
        reg: cells(0x0, 0x44000000, 0x0, 0x800000),
        ranges: cells(0x44000000, 0x0, 0x44000000, 0x800000),
        '#address-cells': cells(1),
        '#size-cells': cells(1),
      }, {
        'serial@44380000': node({
          compatible: str('fsl,imx95-lpuart', 'fsl,imx8ulp-lpuart', 'fsl,imx7ulp-lpuart'),
          reg: cells(0x44380000, 0x1000),
          interrupts: cells(GIC_SPI, 19, IRQ_TYPE_LEVEL_HIGH),
          status: okay(),
        }, {}, 'lpuart1'),
      }, 'aips1'),
      'pcie@4c300000': pcieRc(0x4c300000, 0x10, 'pcie0'),
      'pcie-ep@4c300000': pcieEp(0x4c300000, 0x9, maps.pcie0Ep, 'pcie0_ep', maps.prop),
      'pcie@4c380000': pcieRc(0x4c380000, 0x98, 'pcie1'),
      'pcie-ep@4c380000': pcieEp(0x4c380000, 0xa, maps.pcie1Ep, 'pcie1_ep', maps.prop),
    }),
  });
}

function controller(name: string): ControllerProfile {
  return {
    name,
    dtPath: `/soc/pcie-ep@${name.split('.')[0]}`,
    devicePath: `/sys/devices/platform/soc/${name}`,
    driver: 'imx6q-pcie',
    maxFunctions: 1, // no max-functions in imx95.dtsi
    maxVirtualFunctions: 0,
    features: IMX95_EPC_FEATURES,
    dwc: true,
  };
}

function imx95Profile(name: string, title: string, maps: Imx95EpMsiMaps): BoardProfile {
  return {
    name,
    title,
    soc: 'i.MX95',
    cpus: 6,
    dt: imx95Dt(maps),
    dtSymbols: true,
    controllers: [controller('4c300000.pcie-ep'), controller('4c380000.pcie-ep')],
    functionDrivers: EPF_DRIVERS_NVME,
    irqs: [archTimerIrq(11, 26), spiIrq(13, 19, 'fsl-lpuart')],
    kernelConfig: { PCI_IMX6_EP: 'y', PCIE_DW_EP: 'y', ARM_GIC_V3_ITS: 'y', ...DISTRO_NVME_TARGET_CONFIG },
  };
}

/** After "arm64: dts: imx95: Fix MSI mapping for PCIe endpoint nodes" (Oct 2025): both EPs ring. */
export const imx95: BoardProfile = imx95Profile(
  'imx95',
  'NXP i.MX95 19x19 EVK, both PCIe EP overlays, DT with the Oct-2025 msi-map fix',
  {
    pcie0Ep: cells(0x0, ref('its'), 0x10, 0x1),
    pcie1Ep: cells(0x0, ref('its'), 0x98, 0x1),
  },
);

/** v6.18 DT (bbe4b2f7d6533): pcie1's map on pcie0_ep, nothing on pcie1_ep. */
export const imx95V618: BoardProfile = imx95Profile(
  'imx95-v6.18',
  'NXP i.MX95 19x19 EVK, both PCIe EP overlays, v6.18 DT (msi-map with ID 0x98 on pcie0_ep only)',
  { pcie0Ep: cells(0x0, ref('its'), 0x98, 0x1) },
);

/**
 * An i.MX95 on an NXP vendor kernel (6.6 based) that carries the v9 posting of the doorbell
 * series (Dec 2024): its pci-ep-msi.c takes the MSI domain from the EP node's msi-parent and
 * checks no immutability, so the vendor tree puts msi-parent = <&its DeviceID> on the EP nodes
 * (the DeviceIDs of the RC nodes' msi-map for ID 0). [chosen: release 6.6.52, as NXP's lf-6.6.52 BSP]
 */
export const imx95Vendor: BoardProfile = {
  ...imx95Profile('imx95-vendor', 'NXP i.MX95 19x19 EVK on an NXP vendor kernel (6.6) carrying the v9 doorbell posting; EP nodes with msi-parent, no msi-map', {
    pcie0Ep: cells(ref('its'), 0x10),
    pcie1Ep: cells(ref('its'), 0x98),
    prop: 'msi-parent',
  }),
  vendorKernel: { release: '6.6.52', doorbell: 'posted-v9' },
};
