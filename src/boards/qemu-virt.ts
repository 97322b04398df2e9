// The real-kernel lane's board (scripts/lane/dts.ts, observed 7.3.4): `qemu-system-aarch64 -M
// virt,gic-version=3,its=on -cpu cortex-a57 -smp 1 -m 1G` with QEMU's own DTB plus a RAM-backed
// Cadence EP node, compiled with `dtc -@`. Three profiles differ only in the EP node's MSI
// property: `msi-map = <0x0 &its 0x0 0x1>` (doorbell works on 7.3.4, ITS DeviceID 0),
// `msi-parent = <&its 0x0>` ("Can't find MSI domain for EPC"), and none.
// Source: QEMU hw/arm/virt.c (dumpdtb), decompiled; the EP part is the lane's added .dtsi.
//
// Chosen (not in the reference): intc@8000000 phandle 0x8002 and cpu@0 phandle 0x8001 (only
// the ITS's 0x8003 is observed); GICR size and timer/pl011 nodes as QEMU's virt.c writes them;
// the RC node reduced to the properties listed here.
import type { BoardProfile, EpcFeatures } from './types.js';
import { cells, flag, node, ref, str, u8, type DtNodeSpec, type DtValue } from '../devicetree/spec.js';
import { GIC_SPI, IRQ_TYPE_LEVEL_HIGH, STD, archTimerIrq, armv8Timer, gicV3Its, okay, spiIrq } from './common.js';

/** drivers/pci/controller/cadence/pcie-cadence-ep.c cdns_pcie_epc_features (chosen: not in the reference). */
const CDNS_EPC_FEATURES: EpcFeatures = {
  msiCapable: true,
  msixCapable: true,
  linkupNotifier: false,
  align: 256,
  bars: [STD, STD, STD, STD, STD, STD],
};

function qemuVirtDt(epMsi: Readonly<Record<string, DtValue>>): DtNodeSpec {
  return node({
    'interrupt-parent': cells(0x8002),
    '#size-cells': cells(2),
    '#address-cells': cells(2),
    compatible: str('linux,dummy-virt'),
    model: str('linux,dummy-virt'),
  }, {
    // -m 1G; QEMU rewrites /memory in a passed DTB (observed in the QEMU lane).
    'memory@40000000': node({ device_type: str('memory'), reg: cells(0x0, 0x40000000, 0x0, 0x40000000) }),
    cpus: node({ '#address-cells': cells(1), '#size-cells': cells(0) }, {
      'cpu@0': node({
        phandle: cells(0x8001),
        device_type: str('cpu'),
        compatible: str('arm,cortex-a57'),
        reg: cells(0),
        'enable-method': str('psci'),
      }),
    }),
    timer: armv8Timer(IRQ_TYPE_LEVEL_HIGH),
    'pl011@9000000': node({
      compatible: str('arm,pl011', 'arm,primecell'),
      reg: cells(0x0, 0x09000000, 0x0, 0x1000),
      interrupts: cells(GIC_SPI, 1, IRQ_TYPE_LEVEL_HIGH),
    }),
    'intc@8000000': node({
      phandle: cells(0x8002),
      reg: cells(0x0, 0x08000000, 0x0, 0x10000, 0x0, 0x080a0000, 0x0, 0xf60000),
      '#redistributor-regions': cells(1),
      compatible: str('arm,gic-v3'),
      ranges: flag(),
      '#size-cells': cells(2),
      '#address-cells': cells(2),
      'interrupt-controller': flag(),
      '#interrupt-cells': cells(3),
    }, {
      // Labelled `its:` by the lane; phandle 0x8003 with -smp 1 (0x8004 with 2).
      'its@8080000': gicV3Its(0x08080000, { phandle: cells(0x8003) }, 'its'),
    }),
    // QEMU's ECAM host (highmem ECAM at 0x40_10000000, so its device is 4010000000.pcie).
    'pcie@10000000': node({
      'msi-map': cells(0x0, ref('its'), 0x0, 0x10000),
      'dma-coherent': flag(),
      'bus-range': cells(0x0, 0xff),
      'linux,pci-domain': cells(0),
      '#size-cells': cells(2),
      '#address-cells': cells(3),
      device_type: str('pci'),
      reg: cells(0x40, 0x10000000, 0x0, 0x10000000),
      compatible: str('pci-host-ecam-generic'),
    }),
    chosen: node({ 'stdout-path': str('/pl011@9000000') }),
    // Added by the lane (scripts/lane/dts.ts): RAM that absorbs the Cadence driver's probe writes.
    'reserved-memory': node({
      '#address-cells': cells(2),
      '#size-cells': cells(2),
      ranges: flag(),
    }, {
      'fake-epc@7e000000': node({ reg: cells(0x00, 0x7e000000, 0x00, 0x2000000), 'no-map': flag() }, {}, 'fake_epc_ram'),
    }),
    'pcie-ep@7e000000': node({
      compatible: str('cdns,cdns-pcie-ep'),
      reg: cells(0x00, 0x7e000000, 0x00, 0x1000000, 0x00, 0x7f000000, 0x00, 0x1000000),
      'reg-names': str('reg', 'mem'),
      'cdns,max-outbound-regions': cells(16),
      'max-functions': u8(2),
      ...epMsi,
      status: okay(),
    }),
  });
}

function qemuVirtProfile(name: string, title: string, epMsi: Readonly<Record<string, DtValue>>): BoardProfile {
  return {
    name,
    title,
    soc: 'QEMU virt',
    cpus: 1,
    dt: qemuVirtDt(epMsi),
    dtSymbols: true,
    controllers: [
      {
        name: '7e000000.pcie-ep',
        dtPath: '/pcie-ep@7e000000',
        devicePath: '/sys/devices/platform/7e000000.pcie-ep',
        driver: 'cdns-pcie',
        maxFunctions: 2,
        maxVirtualFunctions: 0,
        features: CDNS_EPC_FEATURES,
        dwc: false,
        // 7.x wording (observed 7.3.4, pcie-cadence.c); 6.1/6.12 printed "no phy-names.  PHY will not be initialized".
        probeLog: ['cdns-pcie 7e000000.pcie-ep: no "phy-names" property found; PHY will not be initialized'],
      },
    ],
    // The lane kernel (scripts/lane/kernel.config) builds pci_epf_test, pci_epf_ntb, pci_epf_vntb
    // and nvmet_pci_epf in: observed 7.3.4 by the differential, functions/ lists all four.
    functionDrivers: ['pci_epf_test', 'pci_epf_ntb', 'pci_epf_vntb', 'nvmet_pci_epf'],
    // Observed 7.3.4, 1 CPU, as the lane boots it (-nic none, virtio-rng-pci at 00:01.0; seen by
    // the differential): timer, console, virtio-rng MSI-X via the ITS, so the first doorbell is 17.
    // (the 6.12 lane's capture was taken with another device at 00:01.0: virtio1 on 16, 17.)
    irqs: [
      archTimerIrq(11, 27, [1125]),
      spiIrq(13, 1, 'uart-pl011', [0]),
      { irq: 15, chip: 'ITS-PCI-MSIX-0000:00:01.0', hwirq: 0, trigger: 'Edge', actions: ['virtio0-config'], counts: [0] },
      { irq: 16, chip: 'ITS-PCI-MSIX-0000:00:01.0', hwirq: 1, trigger: 'Edge', actions: ['virtio0-input'], counts: [5] },
    ],
    // The lane's config fragment (scripts/lane/kernel.config): no pci_epf_mhi.
    kernelConfig: {
      PCIE_CADENCE_EP: 'y',
      PCIE_CADENCE_PLAT_EP: 'y',
      PCIE_DW_EP: 'y',
      PCIE_DW_PLAT_EP: 'y',
      ARM_GIC_V3_ITS: 'y',
      PCI_EPF_TEST: 'y',
      PCI_EPF_VNTB: 'y',
      PCI_EPF_NTB: 'y',
      NVME_TARGET: 'y',
      // null_blk built in: /dev/nullb0 exists at boot (observed 7.3.4, the nvme lane scenario).
      BLK_DEV_NULL_BLK: 'y',
      PCI_EPF_MHI: 'n',
      // CONFIG_FTRACE=y in the fragment for every release: the lane's 6.12.117 kernel serves
      // tracefs and `doorbell watch --source tracefs` runs there (the 6.x default is none).
      FTRACE: 'y',
    },
  };
}

/** The lane as defined: msi-map with msi-base 0, so the EP's ITS DeviceID is 0. */
export const qemuVirt: BoardProfile = qemuVirtProfile(
  'qemu-virt',
  'QEMU arm64 virt (GICv3 + ITS), RAM-backed Cadence EP with msi-map = <0x0 &its 0x0 0x1>',
  { 'msi-map': cells(0x0, ref('its'), 0x0, 0x1) },
);

/** msi-parent only: 7.3.4 logs "Can't find MSI domain for EPC" and the doorbell fails with -95. */
export const qemuVirtMsiParent: BoardProfile = qemuVirtProfile(
  'qemu-virt-msi-parent',
  'QEMU arm64 virt (GICv3 + ITS), RAM-backed Cadence EP with msi-parent = <&its 0x0> only',
  { 'msi-parent': cells(ref('its'), 0x0) },
);

/** No MSI property on the EP node at all. */
export const qemuVirtNoMsi: BoardProfile = qemuVirtProfile(
  'qemu-virt-no-msi',
  'QEMU arm64 virt (GICv3 + ITS), RAM-backed Cadence EP without msi-map or msi-parent',
  {},
);
