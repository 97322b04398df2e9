// Shared pieces of the built-in board profiles: the dt-bindings constants the DTS files use,
// node builders for CPUs, the architected timer and the GIC-v3 ITS, BAR/feature shorthands
// and boot-time interrupt rows. Facts come from the boards' upstream DT files and drivers; each
// board file says which of its values those lack and were chosen.
import type { BarFeature, BootIrq, EpcFeatures, EpfDriverName } from './types.js';
import { cells, flag, node, str, type DtNodeSpec, type DtValue } from '../devicetree/spec.js';
import type { DmaCtrlBar } from '../devicetree/dwc.js';

// include/dt-bindings/interrupt-controller/arm-gic.h and irq.h
export const GIC_SPI = 0;
export const GIC_PPI = 1;
export const IRQ_TYPE_LEVEL_HIGH = 4;
export const IRQ_TYPE_LEVEL_LOW = 8;
/** GIC_CPU_MASK_SIMPLE(n): the PPI target mask some dtsi files still OR into the flags. */
export const GIC_CPU_MASK_SIMPLE = (n: number): number => ((1 << n) - 1) << 8;

export const SZ_4K = 0x1000;
export const SZ_64K = 0x10000;

export const okay = (): DtValue => str('okay');
export const disabled = (): DtValue => str('disabled');

/** A BAR the driver declares nothing about (BAR_PROGRAMMABLE in older kernels). */
export const STD: BarFeature = { type: 'standard' };
export const RESERVED: BarFeature = { type: 'reserved' };

/** The reserved BAR behind which the controller shows its DMA registers (BarFeature.dmaCtrl), if any. */
export function dmaCtrlBarOf(features: EpcFeatures): DmaCtrlBar | undefined {
  const bar = features.bars.findIndex((b) => b.type === 'reserved' && b.dmaCtrl !== undefined);
  return bar < 0 ? undefined : { bar, ...features.bars[bar]!.dmaCtrl! };
}
export const RESIZABLE: BarFeature = { type: 'resizable' };

/**
 * Layerscape (drivers/pci/controller/dwc/pci-layerscape-ep.c, ls_pcie_ep_probe): BAR2/BAR4
 * only_64bit, BAR3/BAR5 their upper halves (declared BAR_RESERVED), linkup_notifier (set
 * there). Chosen, not in the reference: msi/msix_capable are read from the core's capability list
 * at init (ls_pcie_ep_init), both taken as present; align is not set (0).
 */
export const LAYERSCAPE_EPC_FEATURES: EpcFeatures = {
  msiCapable: true,
  msixCapable: true,
  linkupNotifier: true,
  align: 0,
  bars: [STD, STD, { type: 'standard', only64bit: true }, RESERVED, { type: 'standard', only64bit: true }, RESERVED],
};

/** EPF drivers built into the modelled kernels of the real boards. */
export const EPF_DRIVERS_ALL: readonly EpfDriverName[] = ['pci_epf_test', 'pci_epf_ntb', 'pci_epf_vntb'];

/**
 * A board that can be an NVMe SSD for its host: EPF_DRIVERS_ALL plus nvmet_pci_epf
 * (drivers/nvme/target/pci-epf.c, 6.14+; the fake leaves it out of older releases).
 */
export const EPF_DRIVERS_NVME: readonly EpfDriverName[] = [...EPF_DRIVERS_ALL, 'nvmet_pci_epf'];

/**
 * The NVMe target and null_blk as a distribution's arm64 kernel builds them: as modules. Chosen:
 * the distribution .config files found in public repositories carry CONFIG_NVME_TARGET=m and
 * CONFIG_BLK_DEV_NULL_BLK=m (nothing needs them at boot; null_blk is a test device); Debian's
 * own arm64 config of this release was not at hand to check. arm64's defconfig sets neither. NVME_TARGET_PCI_EPF "depends on
 * NVME_TARGET" (drivers/nvme/target/Kconfig), so with NVME_TARGET=m it can only be =m too.
 * With these, modprobe nvmet_pci_epf (which loads nvmet) and modprobe null_blk set the board up.
 */
export const DISTRO_NVME_TARGET_CONFIG: Readonly<Record<string, 'y' | 'm' | 'n'>> = {
  NVME_TARGET: 'm',
  NVME_TARGET_PCI_EPF: 'm',
  BLK_DEV_NULL_BLK: 'm',
};

/** `/cpus` with one `cpu@<reg>` per entry, `#address-cells = <1>` as on every board here. */
export function cpus(list: readonly (readonly [reg: number, compatible: string])[]): DtNodeSpec {
  const children: Record<string, DtNodeSpec> = {};
  for (const [reg, compatible] of list)
    children[`cpu@${reg.toString(16)}`] = node({
      device_type: str('cpu'),
      compatible: str(compatible),
      reg: cells(reg),
      'enable-method': str('psci'),
    });
  return node({ '#address-cells': cells(1), '#size-cells': cells(0) }, children);
}

/**
 * The architected timer node: secure, non-secure, virtual and hypervisor PPIs (13, 14, 11,
 * 10) with the dtsi's flags; `tail` is the extra partition cell of 4-cell GICs (RK3588).
 */
export function armv8Timer(flags: number, tail: readonly number[] = []): DtNodeSpec {
  const ppi = (n: number): number[] => [GIC_PPI, n, flags, ...tail];
  return node({ compatible: str('arm,armv8-timer'), interrupts: cells(...ppi(13), ...ppi(14), ...ppi(11), ...ppi(10)) });
}

/** A GIC-v3 ITS child: `<0 base 0 0x20000>`, msi-controller, `#msi-cells = <1>` (imx95.dtsi, fsl-ls1028a.dtsi, rk3588-base.dtsi). */
export function gicV3Its(base: number, extra: Record<string, DtValue> = {}, label?: string): DtNodeSpec {
  return node(
    {
      compatible: str('arm,gic-v3-its'),
      reg: cells(0, base, 0, 0x20000),
      'msi-controller': flag(),
      '#msi-cells': cells(1),
      ...extra,
    },
    {},
    label,
  );
}

/**
 * The arch_timer row. Which PPI Linux takes is arch_timer_select_ppi()
 * (drivers/clocksource/arm_arch_timer.c): a kernel running at EL2 (VHE: Cortex-A55, A76)
 * uses the hypervisor timer, INTID 26; one entered at EL2 without VHE (A53, A72) the
 * non-secure physical timer, INTID 30; one at EL1 without EL2 (QEMU virt) the virtual timer,
 * INTID 27 (observed 6.12 and 7.3.4 in the QEMU lane). Real boards are assumed booted at EL2 (chosen).
 */
export function archTimerIrq(irq: number, intid: 26 | 27 | 30, counts?: readonly number[]): BootIrq {
  return { irq, chip: 'GICv3', hwirq: intid, trigger: 'Level', actions: ['arch_timer'], ...(counts ? { counts } : {}) };
}

/** A wired SPI row: GICv3 hwirq = SPI + 32. */
export function spiIrq(irq: number, spi: number, action: string, counts?: readonly number[]): BootIrq {
  return { irq, chip: 'GICv3', hwirq: spi + 32, trigger: 'Level', actions: [action], ...(counts ? { counts } : {}) };
}

/**
 * A GIC-v3 node with 64-bit children (arm,gic-v3 binding): `reg` holds GICD then GICR, the
 * maintenance interrupt is PPI 9. Children are its ITS nodes.
 */
export function gicV3(reg: readonly number[], children: Record<string, DtNodeSpec>, extra: Record<string, DtValue> = {}): DtNodeSpec {
  return node(
    {
      compatible: str('arm,gic-v3'),
      reg: cells(...reg),
      '#address-cells': cells(2),
      '#size-cells': cells(2),
      '#interrupt-cells': cells(3),
      'interrupt-controller': flag(),
      interrupts: cells(GIC_PPI, 9, IRQ_TYPE_LEVEL_HIGH),
      ...extra,
      ranges: flag(),
    },
    children,
    'gic',
  );
}
