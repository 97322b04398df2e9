// NXP i.MX8M Plus EVK booted as an endpoint (imx8mp-evk-pcie-ep.dtb: &pcie disabled, &pcie_ep
// okay). No ITS and no msi-map/msi-parent: the doorbell cannot work (imx8mp.dtsi).
// DT: arch/arm64/boot/dts/freescale/imx8mp.dtsi + imx8mp-evk.dts.
//
// Chosen (no cited source): root compatible/model; the soc@0 ranges, GICR reg, aips2/spba
// buses and uart2 (console) from imx8mp.dtsi; timer flags; virq numbers; the RC sibling is
// left out; dtSymbols (base DTB of overlays is built with -@).
import type { BoardProfile, EpcFeatures } from './types.js';
import { cells, flag, node, ref, str } from '../devicetree/spec.js';
import {
  EPF_DRIVERS_ALL,
  GIC_PPI,
  GIC_SPI,
  IRQ_TYPE_LEVEL_HIGH,
  IRQ_TYPE_LEVEL_LOW,
  RESERVED,
  STD,
  SZ_64K,
  archTimerIrq,
  armv8Timer,
  cpus,
  okay,
  spiIrq,
} from './common.js';

/** drivers/pci/controller/dwc/pci-imx6.c imx8m_pcie_epc_features: msi, BAR1/BAR3 reserved, align 64 KiB. */
const IMX8M_EPC_FEATURES: EpcFeatures = {
  msiCapable: true,
  msixCapable: false,
  linkupNotifier: false,
  align: SZ_64K,
  bars: [STD, RESERVED, STD, RESERVED, STD, STD],
};

export const imx8mp: BoardProfile = {
  name: 'imx8mp',
  title: 'NXP i.MX8M Plus EVK, PCIe EP DTB (no ITS: no doorbell)',
  soc: 'i.MX8MP',
  cpus: 4,
  dt: node({
    compatible: str('fsl,imx8mp-evk', 'fsl,imx8mp'),
    model: str('NXP i.MX8MPlus EVK board'),
    'interrupt-parent': cells(ref('gic')),
    '#address-cells': cells(2),
    '#size-cells': cells(2),
  }, {
    cpus: cpus([0x0, 0x1, 0x2, 0x3].map((reg) => [reg, 'arm,cortex-a53'] as const)),
    timer: armv8Timer(IRQ_TYPE_LEVEL_LOW),
    'soc@0': node({
      compatible: str('fsl,imx8mp-soc', 'simple-bus'),
      '#address-cells': cells(1),
      '#size-cells': cells(1),
      ranges: cells(0x0, 0x0, 0x0, 0x3e000000),
    }, {
      'bus@30800000': node({
        compatible: str('fsl,aips-bus', 'simple-bus'),
        reg: cells(0x30800000, 0x400000),
        '#address-cells': cells(1),
        '#size-cells': cells(1),
        ranges: flag(),
      }, {
        'spba-bus@30800000': node({
          compatible: str('fsl,spba-bus', 'simple-bus'),
          reg: cells(0x30800000, 0x100000),
          '#address-cells': cells(1),
          '#size-cells': cells(1),
          ranges: flag(),
        }, {
          'serial@30890000': node({
            compatible: str('fsl,imx8mp-uart', 'fsl,imx6q-uart'),
            reg: cells(0x30890000, 0x10000),
            interrupts: cells(GIC_SPI, 27, IRQ_TYPE_LEVEL_HIGH),
            status: okay(),
          }, {}, 'uart2'),
        }),
      }, 'aips2'),
      // pcie_ep (later also pcie0_ep), imx8mp.dtsi; first-version ib/ob windows.
      'pcie-ep@33800000': node({
        compatible: str('fsl,imx8mp-pcie-ep'),
        reg: cells(0x33800000, 0x100000, 0x18000000, 0x8000000, 0x33900000, 0x100000, 0x33b00000, 0x100000),
        'reg-names': str('dbi', 'addr_space', 'dbi2', 'atu'),
        interrupts: cells(GIC_SPI, 127, IRQ_TYPE_LEVEL_HIGH),
        'interrupt-names': str('dma'),
        'num-lanes': cells(1),
        'fsl,max-link-speed': cells(3),
        'num-ib-windows': cells(4),
        'num-ob-windows': cells(4),
        status: okay(),
      }, {}, 'pcie_ep'),
      // GIC-v3 without an ITS child: no immutable MSI controller on this SoC.
      'interrupt-controller@38800000': node({
        compatible: str('arm,gic-v3'),
        reg: cells(0x38800000, 0x10000, 0x38880000, 0xc0000),
        '#interrupt-cells': cells(3),
        'interrupt-controller': flag(),
        interrupts: cells(GIC_PPI, 9, IRQ_TYPE_LEVEL_HIGH),
        'interrupt-parent': cells(ref('gic')),
      }, {}, 'gic'),
    }, 'soc'),
  }),
  dtSymbols: true,
  controllers: [
    {
      name: '33800000.pcie-ep',
      dtPath: '/soc@0/pcie-ep@33800000',
      devicePath: '/sys/devices/platform/soc@0/33800000.pcie-ep',
      driver: 'imx6q-pcie',
      maxFunctions: 1,
      maxVirtualFunctions: 0,
      features: IMX8M_EPC_FEATURES,
      dwc: true,
    },
  ],
  functionDrivers: EPF_DRIVERS_ALL,
  // imx uart names its IRQ after the device (drivers/tty/serial/imx.c: dev_name(&pdev->dev)).
  irqs: [archTimerIrq(11, 30), spiIrq(13, 27, '30890000.serial')],
  kernelConfig: { PCI_IMX6_EP: 'y', PCIE_DW_EP: 'y', ARM_GIC_V3_ITS: 'n' },
};
