// The lane's device-tree variants, edited into QEMU's own dumped tree (hw/arm/virt.c writes it
// with `dumpdtb`): the ITS gets a label so the EP node can refer to it whatever phandle QEMU
// chose (it depends on -smp), and RAM-backed Cadence EP nodes (drivers/pci/controller/cadence/
// pcie-cadence-plat.c) are appended inside the root node. Pure text editing; dtc compiles it.

/** The EP node's MSI wiring: the doorbell needs msi-map (drivers/pci/endpoint/pci-ep-msi.c looks it up with of_msi_map_get_device_domain). */
export const DT_VARIANTS = ['msi-map', 'msi-parent', 'no-msi', 'two-epc'] as const;
export type DtVariant = (typeof DT_VARIANTS)[number];

/** Where a RAM-backed EPC sits: `reg` (16 MiB of registers) then `mem` (16 MiB of outbound window). */
interface Epc {
  readonly base: number;
  readonly msi: string;
}

const MIB16 = 0x1000000;

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function epNode(epc: Epc): string {
  return [
    `\tpcie-ep@${epc.base.toString(16)} {`,
    '\t\tcompatible = "cdns,cdns-pcie-ep";',
    `\t\treg = <0x00 ${hex(epc.base)} 0x00 ${hex(MIB16)}>, <0x00 ${hex(epc.base + MIB16)} 0x00 ${hex(MIB16)}>;`,
    '\t\treg-names = "reg", "mem";',
    '\t\tcdns,max-outbound-regions = <16>;',
    '\t\tmax-functions = /bits/ 8 <2>;',
    ...(epc.msi ? [`\t\t${epc.msi};`] : []),
    '\t\tstatus = "okay";',
    '\t};',
  ].join('\n');
}

/** The reserved RAM under the EPCs (`no-map`, so the kernel never hands it out). Must lie inside -m 1G RAM. */
function reservedMemory(base: number, size: number): string {
  return [
    '\treserved-memory {',
    '\t\t#address-cells = <0x02>;',
    '\t\t#size-cells = <0x02>;',
    '\t\tranges;',
    `\t\tfake_epc_ram: fake-epc@${base.toString(16)} {`,
    `\t\t\treg = <0x00 ${hex(base)} 0x00 ${hex(size)}>;`,
    '\t\t\tno-map;',
    '\t\t};',
    '\t};',
  ].join('\n');
}

/** The EPCs of a variant. two-epc adds 7c000000.pcie-ep below the usual one, with ITS DeviceID 1. */
export function variantEpcs(variant: DtVariant): Epc[] {
  const main = 0x7e000000;
  switch (variant) {
    case 'msi-map':
      return [{ base: main, msi: 'msi-map = <0x0 &its 0x0 0x1>' }];
    case 'msi-parent':
      return [{ base: main, msi: 'msi-parent = <&its 0x0>' }];
    case 'no-msi':
      return [{ base: main, msi: '' }];
    case 'two-epc':
      return [
        { base: main, msi: 'msi-map = <0x0 &its 0x0 0x1>' },
        { base: 0x7c000000, msi: 'msi-map = <0x0 &its 0x1 0x1>' },
      ];
  }
}

/** The controller names the kernel gives the variant's EPCs (`<first reg address>.<node name>`). */
export function variantControllers(variant: DtVariant): string[] {
  return variantEpcs(variant).map((e) => `${e.base.toString(16)}.pcie-ep`);
}

/** Labels QEMU's ITS node `its:`; fails unless exactly one `its@…` node exists. */
export function labelIts(dts: string): string {
  const re = /^(\s*)(its@[0-9a-f]+ \{)$/gm;
  const hits = [...dts.matchAll(re)];
  if (hits.length !== 1) throw new Error(`device tree: expected one its@… node in QEMU's dumped tree, found ${hits.length} (was QEMU run with -M virt,gic-version=3,its=on?)`);
  return dts.replace(re, '$1its: $2');
}

/**
 * QEMU's dumped tree (decompiled) with the ITS labelled and the variant's reserved RAM and EP
 * nodes added. The random /chosen seeds QEMU writes on every dump (rng-seed, kaslr-seed) are
 * dropped so the same inputs give the same DTB (the lane caches it by content).
 */
export function editDts(dts: string, variant: DtVariant): string {
  const labelled = labelIts(dts).replace(/^\s*(rng-seed|kaslr-seed) = <[^>]*>;\n/gm, '');
  const epcs = variantEpcs(variant);
  const low = Math.min(...epcs.map((e) => e.base));
  const nodes = [reservedMemory(low, 0x80000000 - low), ...epcs.map(epNode)].join('\n\n');
  // The root node closes with the last `};` at the start of a line.
  const end = labelled.lastIndexOf('\n};');
  if (end < 0) throw new Error("device tree: no closing `};` of the root node in QEMU's dumped tree");
  return `${labelled.slice(0, end)}\n\n${nodes}${labelled.slice(end)}`;
}
