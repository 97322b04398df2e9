// NXP LS1028A RDB with both PCIe controllers in EP mode (a board DTS or U-Boot fixup sets
// pcie_epN okay and the RC node disabled; no upstream overlay). ITS present, but the EP nodes
// carry neither msi-map nor msi-parent: no doorbell by upstream DT (fsl-ls1028a.dtsi).
// DT: arch/arm64/boot/dts/freescale/fsl-ls1028a.dtsi + fsl-ls1028a-rdb.dts.
//
// Chosen (no cited source): root compatible/model; GICR reg; duart0 (console, SPI 32) from
// fsl-ls1028a.dtsi; timer flags; the RC nodes reduced to compatible, regs/config reg and
// msi-parent; virq numbers; no __symbols__ (no overlay in the build).
import type { BoardProfile, ControllerProfile } from './types.js';
import { cells, flag, node, ref, str, type DtNodeSpec } from '../devicetree/spec.js';
import {
  EPF_DRIVERS_ALL,
  GIC_CPU_MASK_SIMPLE,
  GIC_PPI,
  GIC_SPI,
  IRQ_TYPE_LEVEL_HIGH,
  IRQ_TYPE_LEVEL_LOW,
  LAYERSCAPE_EPC_FEATURES,
  archTimerIrq,
  armv8Timer,
  cpus,
  disabled,
  gicV3,
  gicV3Its,
  okay,
  spiIrq,
} from './common.js';

/** pcie_epN: regs + 32 GiB addr_space window, SPI "pme", ib 6 / ob 8 (fsl-ls1028a.dtsi). */
function pcieEp(unit: number, addrSpaceHi: number, spi: number, label: string): DtNodeSpec {
  return node({
    compatible: str('fsl,ls1028a-pcie-ep'),
    reg: cells(0x00, unit, 0x0, 0x00100000, addrSpaceHi, 0x00000000, 0x8, 0x00000000),
    'reg-names': str('regs', 'addr_space'),
    interrupts: cells(GIC_SPI, spi, IRQ_TYPE_LEVEL_HIGH),
    'interrupt-names': str('pme'),
    'num-ib-windows': cells(6),
    'num-ob-windows': cells(8),
    status: okay(),
  }, {}, label);
}

/** pcieN (RC), disabled in EP mode; upstream RC nodes use `msi-parent = <&its 0>`. */
function pcieRc(unit: number, configHi: number, label: string): DtNodeSpec {
  return node({
    compatible: str('fsl,ls1028a-pcie'),
    reg: cells(0x00, unit, 0x0, 0x00100000, configHi, 0x00000000, 0x0, 0x00002000),
    'reg-names': str('regs', 'config'),
    device_type: str('pci'),
    '#address-cells': cells(3),
    '#size-cells': cells(2),
    'msi-parent': cells(ref('its'), 0),
    status: disabled(),
  }, {}, label);
}

function controller(name: string): ControllerProfile {
  return {
    name,
    dtPath: `/soc/pcie-ep@${name.split('.')[0]}`,
    devicePath: `/sys/devices/platform/soc/${name}`,
    driver: 'layerscape-pcie-ep',
    maxFunctions: 1, // no max-functions on LS1028A EP nodes
    maxVirtualFunctions: 0,
    features: LAYERSCAPE_EPC_FEATURES,
    dwc: true,
  };
}

export const ls1028a: BoardProfile = {
  name: 'ls1028a',
  title: 'NXP LS1028A RDB, both PCIe controllers in EP mode (EP nodes without msi-map: no doorbell)',
  soc: 'LS1028A',
  cpus: 2,
  dt: node({
    compatible: str('fsl,ls1028a-rdb', 'fsl,ls1028a'),
    model: str('LS1028A RDB Board'),
    'interrupt-parent': cells(ref('gic')),
    '#address-cells': cells(2),
    '#size-cells': cells(2),
  }, {
    cpus: cpus([0x0, 0x1].map((reg) => [reg, 'arm,cortex-a72'] as const)),
    timer: armv8Timer(GIC_CPU_MASK_SIMPLE(2) | IRQ_TYPE_LEVEL_LOW),
    'interrupt-controller@6000000': gicV3([0x0, 0x06000000, 0, 0x10000, 0x0, 0x06040000, 0, 0x40000], {
      // #msi-cells added by a 2024 Frank Li patch (fsl-ls1028a.dtsi).
      'msi-controller@6020000': gicV3Its(0x06020000, {}, 'its'),
    }),
    soc: node({
      compatible: str('simple-bus'),
      '#address-cells': cells(2),
      '#size-cells': cells(2),
      ranges: flag(),
    }, {
      'serial@21c0500': node({
        compatible: str('fsl,ns16550', 'ns16550a'),
        reg: cells(0x00, 0x21c0500, 0x0, 0x100),
        interrupts: cells(GIC_SPI, 32, IRQ_TYPE_LEVEL_HIGH),
        status: okay(),
      }, {}, 'duart0'),
      'pcie@3400000': pcieRc(0x03400000, 0x80, 'pcie1'),
      'pcie-ep@3400000': pcieEp(0x03400000, 0x80, 108, 'pcie_ep1'),
      'pcie@3500000': pcieRc(0x03500000, 0x88, 'pcie2'),
      'pcie-ep@3500000': pcieEp(0x03500000, 0x88, 113, 'pcie_ep2'),
    }, 'soc'),
  }),
  dtSymbols: false,
  controllers: [controller('3400000.pcie-ep'), controller('3500000.pcie-ep')],
  functionDrivers: EPF_DRIVERS_ALL,
  // 8250 requests its IRQ at open under the port name (serial0 alias → ttyS0).
  irqs: [archTimerIrq(11, 30), spiIrq(13, 32, 'ttyS0')],
  kernelConfig: { PCI_LAYERSCAPE_EP: 'y', PCIE_DW_EP: 'y', ARM_GIC_V3_ITS: 'y' },
};
