// msi-map and msi-parent resolution as the RC-to-EP doorbell meets it. pci_epf_alloc_doorbell()
// (drivers/pci/endpoint/pci-ep-msi.c) asks of_msi_map_get_device_domain(epc->dev.parent, 0,
// DOMAIN_BUS_PLATFORM_MSI) (drivers/of/irq.c) for a domain; that walks the *device* parent
// chain and runs of_map_id() (drivers/of/base.c) with "msi-map"/"msi-map-mask" on each node.
// The ITS then takes the DeviceID from the controller node alone (drivers/irqchip/
// irq-gic-its-msi-parent.c: its_pmsi_prepare → of_pmsi_get_dev_id). Kernel code is paraphrased
// in comments, never copied.
import { decodeCells, DtParseError } from './decode.js';
import { parentPath, type DeviceTree } from './tree.js';

/** One `<id-base phandle msi-base length>` tuple of msi-map. */
export interface MsiMapEntry {
  idBase: number;
  phandle: number;
  msiBase: number;
  length: number;
}

export type MsiMapResolution =
  /** An entry covers the ID: the kernel looks for the MSI domain of `target`. */
  | { kind: 'mapped'; mapNode: string; entry: MsiMapEntry; mask: number; target: string; deviceId: number }
  /** No node of the device chain has msi-map: "Can't find MSI domain for EPC". */
  | { kind: 'no-msi-map' }
  /** `mapNode` has msi-map but no entry covers the ID; the walk ends there (of_map_id returns 0). */
  | { kind: 'no-entry'; mapNode: string; mask: number }
  /** The covering entry's phandle names no node. */
  | { kind: 'dangling'; mapNode: string; phandle: number };

/** All bits: of_map_id()'s default when msi-map-mask is absent or shorter than one cell. */
export const DEFAULT_MSI_MAP_MASK = 0xffffffff;

const MSI_MAP_ADVICE = 'write msi-map as <id-base &its msi-base length> tuples, e.g. msi-map = <0x0 &its 0x10 0x1>;';

/** An msi-map the kernel rejects with an error line (drivers/of/base.c, of_map_id) and skips. */
export class MsiMapError extends DtParseError {
  /** The line the kernel logs for it. */
  readonly kernelLog: string;
  constructor(path: string, reason: string, kernelLog: string, advice: string = MSI_MAP_ADVICE) {
    super(path, reason, `the kernel logs "${kernelLog}" and skips this msi-map — ${advice}`);
    this.kernelLog = kernelLog;
  }
}

/**
 * The msi-map tuples. drivers/of/base.c (of_map_id): an empty map, or one whose byte length is
 * not a multiple of four cells, logs "<node>: Error: Bad msi-map length: <bytes>" and is skipped.
 * (The unmerged 2026 series "of: Respect #{iommu,msi}-cells in maps" sizes each entry by its
 * target's #msi-cells; for an ITS, #msi-cells = <1>, that is the same four cells.)
 */
export function parseMsiMap(bytes: Uint8Array, path: string, node = path): MsiMapEntry[] {
  if (bytes.length === 0 || bytes.length % 16 !== 0)
    throw new MsiMapError(
      path,
      `${bytes.length} bytes is not a whole number of 4-cell (id-base, phandle, msi-base, length) entries`,
      `${node}: Error: Bad msi-map length: ${bytes.length}`,
    );
  const cells = decodeCells(bytes, path);
  const out: MsiMapEntry[] = [];
  for (let i = 0; i < cells.length; i += 4)
    out.push({ idBase: cells[i]!, phandle: cells[i + 1]!, msiBase: cells[i + 2]!, length: cells[i + 3]! });
  return out;
}

/**
 * msi-map-mask: all bits when absent, else exactly one cell. of_property_read_u32() would take
 * the first cell of a longer value and leave all bits for a shorter one, but the binding
 * (pci-ep.yaml, msi-map-mask: uint32) allows one cell only, so any other length is reported
 * rather than guessed at.
 */
export function parseMsiMapMask(bytes: Uint8Array | undefined, path: string): number {
  if (!bytes) return DEFAULT_MSI_MAP_MASK;
  if (bytes.length !== 4) {
    const kernel = bytes.length < 4 ? 'all bits (0xffffffff)' : hex(new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false));
    throw new DtParseError(path, `${bytes.length} bytes where one 32-bit cell (4 bytes) was expected; the kernel would use ${kernel} as the mask`, 'write msi-map-mask = <0x…>; with one cell');
  }
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false);
}

export type MsiMapMatch = { entry: MsiMapEntry; deviceId: number } | undefined;

/**
 * The first entry covering `rid`, in map order, with the ID it translates to. As of_map_id():
 * the ID is masked first; an entry covers [id-base, id-base + length) computed in u32 (so a
 * wrapping range covers nothing); an id-base with bits outside the mask is an error
 * ("Invalid msi-map translation - msi-map-mask (0x…) ignores id-base (0x…)"), met only for
 * entries before the match; the output is masked-id − id-base + msi-base, in u32.
 */
export function matchMsiMap(entries: readonly MsiMapEntry[], mask: number, rid: number, path: string, node = path): MsiMapMatch {
  const masked = (rid & mask) >>> 0;
  for (const entry of entries) {
    if ((entry.idBase & ~mask) >>> 0 !== 0)
      throw new MsiMapError(
        path,
        `entry id-base ${hex(entry.idBase)} has bits outside msi-map-mask ${hex(mask)}`,
        `${node}: Invalid msi-map translation - msi-map-mask (${hex(mask)}) ignores id-base (${hex(entry.idBase)})`,
        'make every id-base fit inside msi-map-mask',
      );
    if (masked < entry.idBase || masked >= ((entry.idBase + entry.length) >>> 0)) continue;
    return { entry, deviceId: (masked - entry.idBase + entry.msiBase) >>> 0 };
  }
  return undefined;
}

/**
 * What of_msi_map_get_device_domain() finds for requester ID `rid`, walking `devicePathChain`
 * (the controller's DT node first, then its device parents: see deviceChain()).
 *
 * Kernel walk (drivers/of/irq.c, of_msi_xlate/__of_msi_map_id): a node without msi-map is
 * passed over; the first node with msi-map ends the walk, matched or not. Since ≈v6.18 ("of/irq:
 * Add msi-parent check to of_msi_xlate()", release read from the list, not a tag) a node
 * without msi-map may also end it with an msi-parent whose specifier has no argument cells
 * (of_check_msi_parent); an ITS has #msi-cells = <1>, so `msi-parent = <&its N>` never does,
 * which is why msi-parent alone gives "Can't find MSI domain for EPC" (observed 7.3.4).
 *
 * Where the kernel logs an error and walks on (bad length, id-base outside the mask, a
 * phandle naming no node: of_map_id returns -EINVAL/-EFAULT/-ENODEV), this reports the broken
 * map instead (DtParseError, or `dangling`): the DT needs fixing either way.
 */
export async function resolveMsiMap(tree: DeviceTree, devicePathChain: readonly string[], rid = 0): Promise<MsiMapResolution> {
  for (const mapNode of devicePathChain) {
    const bytes = await tree.raw(mapNode, 'msi-map');
    if (bytes === undefined) continue;
    const path = tree.file(mapNode, 'msi-map');
    const entries = parseMsiMap(bytes, path, mapNode);
    const mask = parseMsiMapMask(await tree.raw(mapNode, 'msi-map-mask'), tree.file(mapNode, 'msi-map-mask'));
    const m = matchMsiMap(entries, mask, rid, path, mapNode);
    // "<node>: no msi-map translation for id 0x0 on (null)", then the ID passes untranslated.
    if (!m) return { kind: 'no-entry', mapNode, mask };
    const target = await tree.nodeByPhandle(m.entry.phandle);
    if (target === undefined) return { kind: 'dangling', mapNode, phandle: m.entry.phandle };
    return { kind: 'mapped', mapNode, entry: m.entry, mask, target, deviceId: m.deviceId };
  }
  return { kind: 'no-msi-map' };
}

export interface MsiParentSpecifier {
  phandle: number;
  /** Argument cells, as many as the target's #msi-cells (0 when it has none). */
  args: number[];
  /** Node the phandle names; undefined when none has it (dangling). */
  target: string | undefined;
}

export interface MsiParent extends MsiParentSpecifier {
  node: string;
  /** Every specifier, the first included; parsing stops after a dangling phandle. */
  specifiers: MsiParentSpecifier[];
}

/**
 * A node's msi-parent, split into `<&ctrl args…>` specifiers by each target's #msi-cells, as
 * of_parse_phandle_with_optional_args() does (missing #msi-cells = no arguments). undefined when
 * the node has no msi-parent.
 */
export async function readMsiParent(tree: DeviceTree, node: string): Promise<MsiParent | undefined> {
  const bytes = await tree.raw(node, 'msi-parent');
  if (bytes === undefined) return undefined;
  const path = tree.file(node, 'msi-parent');
  const cells = decodeCells(bytes, path);
  if (cells.length === 0) throw new DtParseError(path, 'empty, where at least one phandle was expected', 'write msi-parent = <&ctrl args…>; or remove it');
  const specifiers: MsiParentSpecifier[] = [];
  for (let i = 0; i < cells.length; ) {
    const phandle = cells[i]!;
    const target = await tree.nodeByPhandle(phandle);
    if (target === undefined) {
      specifiers.push({ phandle, args: cells.slice(i + 1), target });
      break;
    }
    const n = (await tree.u32(target, '#msi-cells')) ?? 0;
    if (i + 1 + n > cells.length)
      throw new DtParseError(path, `specifier ${specifiers.length} needs ${n} argument cell(s) (#msi-cells of ${target}) but only ${cells.length - i - 1} remain`, 'give each msi-parent phandle as many arguments as its #msi-cells');
    specifiers.push({ phandle, args: cells.slice(i + 1, i + 1 + n), target });
    i += 1 + n;
  }
  const first = specifiers[0]!;
  return { node, ...first, specifiers };
}

export type ItsDeviceId =
  | { source: 'msi-parent' | 'msi-map'; deviceId: number }
  /** The controller node gives none: platform_device_msi_init_and_alloc_irqs() fails ("Failed to allocate MSI"). */
  | { source: 'none' }
  /** msi-parent names the ITS with other than one argument cell: WARN_ON and -EINVAL. */
  | { source: 'bad-msi-parent'; args: number[] };

/**
 * The DeviceID the ITS gives the controller's doorbells (drivers/irqchip/irq-gic-its-msi-parent.c,
 * its_pmsi_prepare → of_pmsi_get_dev_id), reading the controller's own node only: first an
 * msi-parent specifier naming this ITS (its one argument), else the node's own msi-map for
 * ID dev->id = 0 (an unmapped ID passes untranslated); no parent walk here.
 */
export async function itsDeviceId(tree: DeviceTree, controller: string, its: string): Promise<ItsDeviceId> {
  const parent = await readMsiParent(tree, controller);
  for (const s of parent?.specifiers ?? []) {
    if (s.target !== its) continue;
    return s.args.length === 1 ? { source: 'msi-parent', deviceId: s.args[0]! } : { source: 'bad-msi-parent', args: s.args };
  }
  const bytes = await tree.raw(controller, 'msi-map');
  if (bytes === undefined) return { source: 'none' };
  const path = tree.file(controller, 'msi-map');
  const mask = parseMsiMapMask(await tree.raw(controller, 'msi-map-mask'), tree.file(controller, 'msi-map-mask'));
  const m = matchMsiMap(parseMsiMap(bytes, path, controller), mask, 0, path, controller);
  return { source: 'msi-map', deviceId: m ? m.deviceId : 0 };
}

/**
 * Bus compatibles whose children of_platform_populate() turns into platform devices with the
 * bus node's device as parent (drivers/of/platform.c: of_default_bus_match_table; arm,amba-bus
 * with CONFIG_ARM_AMBA). Exported for the fake kernel's device layout.
 */
export const OF_DEFAULT_BUS_COMPATIBLES: readonly string[] = ['simple-bus', 'simple-mfd', 'isa', 'arm,amba-bus'];

/**
 * DT paths of the device made from `dtPath` and of its device parents, nearest first.
 * drivers/of/platform.c: root-level nodes become platform devices whose parent is the platform
 * bus (no of_node), so the chain stops below the root; a child of a bus node
 * (OF_DEFAULT_BUS_COMPATIBLES) gets the bus node's device as parent, and so does a child a
 * driver populates (of_platform_populate(np, …, dev) passes its own device), so every DT
 * ancestor below the root is a device parent.
 * /soc/pcie-ep@4c300000 → [/soc/pcie-ep@4c300000, /soc]; /pcie-ep@fe150000 → [/pcie-ep@fe150000].
 */
export async function deviceChain(tree: DeviceTree, dtPath: string): Promise<string[]> {
  const chain: string[] = [];
  for (let p: string | undefined = dtPath; p !== undefined && p !== '/' && p !== ''; p = parentPath(p)) chain.push(p);
  // Async for symmetry with the other lookups and so a later rule (nodes a driver reparents)
  // can read the tree without changing callers.
  await tree.ready();
  return chain;
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
