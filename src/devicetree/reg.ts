// A node's `reg` as CPU physical ranges, the way drivers/of/address.c (of_translate_address)
// turns a bus address into one: the address is read with the #address-cells / #size-cells that
// apply to the node (DeviceTree.reg: the parent's, else an ancestor's, else 2 / 1), then carried
// up through every ancestor's `ranges` until the root. An empty `ranges` maps 1:1; a bus
// without `ranges` is not mapped into its parent's space (of_translate_one: "no ranges; cannot
// translate"), so its children's `reg` are no CPU addresses (cpu@N, i2c and spi devices, PHYs).
// memoryMap() gathers every enabled node's ranges for `epctl devmem`, /memory and the
// /reserved-memory children included.
import { cellsToBigint, decodeCells, DtParseError } from './decode.js';
import { nodeName, parentPath, type DeviceTree } from './tree.js';

/** One `reg` entry, translated to a CPU physical range. */
export interface CpuRange {
  /** DT path of the node ("/soc/pcie-ep@4c300000"). */
  node: string;
  /** Index of the entry in `reg`. */
  index: number;
  /** Its `reg-names` entry, when the node names them ("dbi", "addr_space"). */
  name: string | undefined;
  /** CPU physical base and size in bytes. */
  base: bigint;
  size: bigint;
  /** What is there: RAM (/memory), a /reserved-memory carve-out, or a device's registers. */
  kind: 'memory' | 'reserved' | 'device';
  /**
   * A /reserved-memory region marked `reusable` (a CMA pool, reserved-memory.yaml): the kernel
   * allocates movable pages from it while its owner does not use it, so it holds kernel data.
   */
  reusable?: true;
}

export type CpuRegs =
  | { translatable: true; ranges: CpuRange[] }
  /** `bus` has no `ranges` (or is a PCI bus): the node's `reg` is no CPU address. */
  | { translatable: false; bus: string; reason: string; ranges: [] };

/** One `ranges` entry: child bus [child, child + size) is parent bus [parent, parent + size). */
interface RangesEntry {
  child: bigint;
  parent: bigint;
  size: bigint;
}

/** 2^64: nothing at or above it is a CPU physical address epctl can reach. */
const ADDR_LIMIT = 1n << 64n;

/** `#address-cells` a node gives its own children: its own, else inherited as the kernel does (of_bus_n_addr_cells). */
async function childCells(tree: DeviceTree, bus: string, prop: '#address-cells' | '#size-cells', dflt: number): Promise<number> {
  for (let p: string | undefined = bus; p !== undefined; p = parentPath(p)) {
    const v = await tree.u32(p, prop);
    if (v !== undefined) return v;
  }
  return dflt;
}

/**
 * `ranges` of a bus: undefined when absent, [] when empty (identity), else its entries. Each
 * entry is (child address: the bus's #address-cells, parent address: the cells that apply to the
 * bus itself, size: the bus's #size-cells), as of_range_parser_init() sizes them.
 */
export async function parseRanges(tree: DeviceTree, bus: string): Promise<RangesEntry[] | undefined> {
  const bytes = await tree.raw(bus, 'ranges');
  if (bytes === undefined) return undefined;
  if (bytes.length === 0) return [];
  const path = tree.file(bus, 'ranges');
  const [ca, pa, cs] = await Promise.all([childCells(tree, bus, '#address-cells', 2), tree.addressCells(bus), childCells(tree, bus, '#size-cells', 1)]);
  const cells = decodeCells(bytes, path);
  const per = ca + pa + cs;
  if (per === 0 || cells.length % per !== 0)
    throw new DtParseError(path, `${cells.length} cells is not a whole number of (${ca} child-address + ${pa} parent-address + ${cs} size)-cell entries`);
  const out: RangesEntry[] = [];
  for (let i = 0; i < cells.length; i += per)
    out.push({ child: cellsToBigint(cells.slice(i, i + ca)), parent: cellsToBigint(cells.slice(i + ca, i + ca + pa)), size: cellsToBigint(cells.slice(i + ca + pa, i + per)) });
  return out;
}

/**
 * The node's `reg` entries as CPU physical ranges, in `reg` order. An entry that no `ranges`
 * window covers is left out (the kernel's of_translate_address gives OF_BAD_ADDR for it); one
 * that runs past the end of its window is cut at the window's end (what lies beyond is not on
 * that bus). Malformed `reg`, `ranges` or cell counts throw DtParseError naming the file.
 */
export async function cpuRegs(tree: DeviceTree, node: string): Promise<CpuRegs> {
  const raw = await tree.reg(node);
  if (raw.length === 0) return { translatable: true, ranges: [] };
  let spans = raw.map((r, index) => ({ index, base: r.address, size: r.size }) as { index: number; base: bigint; size: bigint });
  for (let bus = parentPath(node); bus !== undefined && bus !== '/'; bus = parentPath(bus)) {
    // PCI buses carry 3-cell addresses whose high cell says config/IO/memory space (IEEE 1275 PCI
    // binding): a config-space `reg` of a PCI device is no CPU address.
    if ((await tree.string(bus, 'device_type')) === 'pci')
      return { translatable: false, bus, reason: `${bus} is a PCI bus: its children's reg are PCI config-space addresses`, ranges: [] };
    const ranges = await parseRanges(tree, bus);
    if (ranges === undefined) return { translatable: false, bus, reason: `${bus} has no ranges property, so its children's reg are not CPU addresses`, ranges: [] };
    if (ranges.length === 0) continue;
    const next: typeof spans = [];
    for (const s of spans) {
      const w = ranges.find((r) => s.base >= r.child && s.base < r.child + r.size);
      if (!w) continue;
      const end = s.base + s.size < w.child + w.size ? s.base + s.size : w.child + w.size;
      next.push({ index: s.index, base: s.base - w.child + w.parent, size: end - s.base });
    }
    spans = next;
  }
  const names = await tree.strings(node, 'reg-names').catch(keepParseErrorAsUndefined);
  const kind = await kindOf(tree, node);
  const reusable = kind === 'reserved' && (await tree.flag(node, 'reusable'));
  return {
    translatable: true,
    ranges: spans
      .filter((s) => s.base < ADDR_LIMIT && s.size > 0n)
      .map((s) => ({ node, index: s.index, name: names?.[s.index], base: s.base, size: s.base + s.size > ADDR_LIMIT ? ADDR_LIMIT - s.base : s.size, kind, ...(reusable ? { reusable: true as const } : {}) })),
  };
}

const keepParseErrorAsUndefined = (e: unknown): undefined => {
  if (e instanceof DtParseError) return undefined;
  throw e;
};

async function kindOf(tree: DeviceTree, node: string): Promise<CpuRange['kind']> {
  if (parentPath(node) === '/reserved-memory') return 'reserved';
  // The memory node: device_type = "memory" (Devicetree Specification §3.4), /memory or /memory@N.
  if (parentPath(node) === '/' && ((await tree.string(node, 'device_type').catch(keepParseErrorAsUndefined)) === 'memory' || nodeName(node).split('@')[0] === 'memory')) return 'memory';
  return 'device';
}

/** Every CPU physical range the device tree declares, with the nodes it could not use and why. */
export interface MemoryMap {
  ranges: CpuRange[];
  /** Nodes whose reg, ranges or status could not be read as the kernel would: skipped, with the error. */
  problems: DtParseError[];
}

/** Nodes dtc adds for overlays, and ones that never hold CPU addresses. */
const SKIP_AT_ROOT = new Set(['__symbols__', '__fixups__', '__local_fixups__', 'aliases', 'chosen', 'cpus']);

/**
 * Walks the whole live tree: every node that is enabled (its `status` and every ancestor's is
 * "okay", "ok" or absent: the kernel creates no device below a disabled bus) and whose `reg`
 * translates contributes its ranges, in tree order. A node whose properties are malformed is
 * skipped and reported in `problems`, so one bad node elsewhere does not stop an access.
 */
export async function memoryMap(tree: DeviceTree): Promise<MemoryMap> {
  const out: MemoryMap = { ranges: [], problems: [] };
  const visit = async (node: string): Promise<{ ranges: CpuRange[]; problems: DtParseError[] }> => {
    const mine: { ranges: CpuRange[]; problems: DtParseError[] } = { ranges: [], problems: [] };
    if (node !== '/') {
      let enabled: boolean;
      try {
        enabled = await tree.available(node);
      } catch (e) {
        if (!(e instanceof DtParseError)) throw e;
        mine.problems.push(e);
        return mine;
      }
      if (!enabled) return mine;
      try {
        if ((await tree.properties(node)).includes('reg')) {
          const r = await cpuRegs(tree, node);
          mine.ranges.push(...r.ranges);
        }
      } catch (e) {
        if (!(e instanceof DtParseError)) throw e;
        mine.problems.push(e);
      }
    }
    const kids = (await tree.children(node)).filter((c) => node !== '/' || !SKIP_AT_ROOT.has(c));
    const subs = await Promise.all(kids.map((c) => visit(node === '/' ? `/${c}` : `${node}/${c}`)));
    for (const s of subs) {
      mine.ranges.push(...s.ranges);
      mine.problems.push(...s.problems);
    }
    return mine;
  };
  await tree.ready();
  const all = await visit('/');
  out.ranges = all.ranges;
  out.problems = all.problems;
  return out;
}
