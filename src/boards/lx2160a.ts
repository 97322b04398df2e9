// NXP LX2160A rev2 (DesignWare PCIe; rev1's Mobiveil controller has no EP driver) with all six
// controllers in EP mode. ITS present, EP nodes without msi-map/msi-parent: no doorbell by
// upstream DT (fsl-lx2160a-rev2.dtsi). DT: arch/arm64/boot/dts/freescale/fsl-lx2160a.dtsi +
// fsl-lx2160a-rev2.dtsi.
//
// Chosen (no cited source): root compatible/model; GICR reg; uart0 (console, pl011, SPI 32)
// from fsl-lx2160a.dtsi; EP interrupts (SPI 108 + 5n, "pme", as the RC nodes); timer flags;
// RC siblings left out; virq numbers; no __symbols__.
import type { BoardProfile, ControllerProfile } from './types.js';
import { cells, flag, node, ref, str, type DtNodeSpec } from '../devicetree/spec.js';
import {
  EPF_DRIVERS_ALL,
  GIC_PPI,
  GIC_SPI,
  IRQ_TYPE_LEVEL_HIGH,
  IRQ_TYPE_LEVEL_LOW,
  LAYERSCAPE_EPC_FEATURES,
  archTimerIrq,
  armv8Timer,
  cpus,
  gicV3,
  gicV3Its,
  okay,
  spiIrq,
} from './common.js';

/**
 * pcie_ep1..6 (fsl-lx2160a-rev2.dtsi): unit address, addr_space high word (× 8 GiB), outbound
 * and inbound windows (8/8, except ep3 and ep5: 256/24), and the chosen SPI.
 */
const EPS = [
  { label: 'pcie_ep1', unit: 0x03400000, addrHi: 0x80, ob: 8, ib: 8, spi: 108 },
  { label: 'pcie_ep2', unit: 0x03500000, addrHi: 0x88, ob: 8, ib: 8, spi: 113 },
  { label: 'pcie_ep3', unit: 0x03600000, addrHi: 0x90, ob: 256, ib: 24, spi: 118 },
  { label: 'pcie_ep4', unit: 0x03700000, addrHi: 0x98, ob: 8, ib: 8, spi: 123 },
  { label: 'pcie_ep5', unit: 0x03800000, addrHi: 0xa0, ob: 256, ib: 24, spi: 128 },
  { label: 'pcie_ep6', unit: 0x03900000, addrHi: 0xa8, ob: 8, ib: 8, spi: 133 },
] as const;

function pcieEp(ep: (typeof EPS)[number]): DtNodeSpec {
  return node({
    compatible: str('fsl,lx2160ar2-pcie-ep'),
    reg: cells(0x00, ep.unit, 0x0, 0x00100000, ep.addrHi, 0x00000000, 0x8, 0x00000000),
    'reg-names': str('regs', 'addr_space'),
    interrupts: cells(GIC_SPI, ep.spi, IRQ_TYPE_LEVEL_HIGH),
    'interrupt-names': str('pme'),
    'num-ob-windows': cells(ep.ob),
    'num-ib-windows': cells(ep.ib),
    status: okay(),
  }, {}, ep.label);
}

function controller(ep: (typeof EPS)[number]): ControllerProfile {
  const name = `${ep.unit.toString(16)}.pcie-ep`;
  return {
    name,
    dtPath: `/soc/pcie-ep@${ep.unit.toString(16)}`,
    devicePath: `/sys/devices/platform/soc/${name}`,
    driver: 'layerscape-pcie-ep',
    maxFunctions: 1,
    maxVirtualFunctions: 0,
    features: LAYERSCAPE_EPC_FEATURES,
    dwc: true,
  };
}

// 8 clusters of 2 Cortex-A72: cpu@0, cpu@1, cpu@100, cpu@101, … cpu@701.
const CPU_REGS = [0, 1, 2, 3, 4, 5, 6, 7].flatMap((cluster) => [cluster << 8, (cluster << 8) | 1]);

export const lx2160a: BoardProfile = {
  name: 'lx2160a',
  title: 'NXP LX2160A rev2, six PCIe controllers in EP mode (EP nodes without msi-map: no doorbell)',
  soc: 'LX2160A',
  cpus: 16,
  dt: node({
    compatible: str('fsl,lx2160a-rdb', 'fsl,lx2160a'),
    model: str('NXP Layerscape LX2160ARDB'),
    'interrupt-parent': cells(ref('gic')),
    '#address-cells': cells(2),
    '#size-cells': cells(2),
  }, {
    cpus: cpus(CPU_REGS.map((reg) => [reg, 'arm,cortex-a72'] as const)),
    timer: armv8Timer(IRQ_TYPE_LEVEL_LOW),
    'interrupt-controller@6000000': gicV3([0x0, 0x06000000, 0, 0x10000, 0x0, 0x06200000, 0, 0x200000], {
      'msi-controller@6020000': gicV3Its(0x06020000, {}, 'its'),
    }),
    soc: node({
      compatible: str('simple-bus'),
      '#address-cells': cells(2),
      '#size-cells': cells(2),
      ranges: flag(),
    }, {
      'serial@21c0000': node({
        compatible: str('arm,sbsa-uart', 'arm,pl011'),
        reg: cells(0x0, 0x21c0000, 0x0, 0x1000),
        interrupts: cells(GIC_SPI, 32, IRQ_TYPE_LEVEL_HIGH),
        status: okay(),
      }, {}, 'uart0'),
      ...Object.fromEntries(EPS.map((ep) => [`pcie-ep@${ep.unit.toString(16)}`, pcieEp(ep)])),
    }, 'soc'),
  }),
  dtSymbols: false,
  controllers: EPS.map(controller),
  functionDrivers: EPF_DRIVERS_ALL,
  irqs: [archTimerIrq(11, 30), spiIrq(13, 32, 'uart-pl011')],
  kernelConfig: { PCI_LAYERSCAPE_EP: 'y', PCIE_DW_EP: 'y', ARM_GIC_V3_ITS: 'y' },
};
