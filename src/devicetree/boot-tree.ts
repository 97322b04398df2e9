// BootTree: phandle, compatible and label lookups answered from the boot blob
// (/sys/firmware/fdt, parsed by fdt.ts) instead of opening every node of the live tree, each
// answer confirmed against the live tree before DeviceTree uses it.
//
// Why the blob is only a hint (kernel facts):
// - drivers/of/fdt.c of_fdt_raw_init() (late_initcall) creates /sys/firmware/fdt only when the
//   blob's CRC still equals the one taken at early boot, so it is the tree the kernel unflattened
//   the live tree from (unflatten_device_tree), byte for byte, or it is absent.
// - The live tree can still differ: overlays (drivers/of/overlay.c, applied by drivers or
//   out-of-tree configfs) add nodes, add or change properties, and add /__symbols__ entries;
//   of_changeset users (drivers/pci/of.c of_pci_make_dev_node, CONFIG_PCI_DYNAMIC_OF_NODES) add
//   nodes under PCI host bridges; of_detach_node removes nodes. The kernel also adds a `name`
//   file to every node (populate_properties) that the v16+ blob does not hold.
// - An overlay's phandles are renumbered above the live tree's largest one before it is applied
//   (drivers/of/resolver.c of_resolve_phandles → adjust_overlay_phandles), so a phandle found in
//   the blob never belongs to an overlay node; a phandle not in the blob may.
//
// So: a phandle's node from the blob counts only when its live `phandle` (or `linux,phandle`)
// file holds the same 4 bytes; a compatible search counts only when every blob candidate's live
// `compatible` holds the same bytes and the live listing of each candidate's parent has no
// child the blob lacks (an overlay-added node beside them is examined live, with its subtree).
// Any other case returns undefined and DeviceTree walks the live tree as before: the blob is
// absent, unreadable or corrupt, a candidate is not confirmed, or the blob has no candidate at
// all (a node an overlay added elsewhere could be the only one). Labels only print `&label`
// instead of `&{/path}`, so a label the blob lacks is not searched for.
//
// Not seen without the walk: a boot node whose `compatible` an overlay rewrote into a searched
// one (of_changeset_update_property). EP overlays enable an EP node the boot tree already has
// (rk3588-rock-5b-pcie-ep.dtso sets status on pcie3x4_ep), and a controller probed from any
// node is found through sysfs (of_node) anyway, so at most the idle-node list could miss one.
// Reading every node's compatible to rule that out would cost what the walk costs.
import { decodeStrings, DtParseError } from './decode.js';
import { asciiOf, type FdtIndex } from './fdt.js';

/** What BootTree needs from the live tree (DeviceTree provides it). */
export interface LiveTree {
  raw(node: string, prop: string): Promise<Uint8Array | undefined>;
  children(node: string): Promise<string[]>;
  /** Entry names of a node directory, one readdir; undefined when it is not one. */
  entries(node: string): Promise<string[] | undefined>;
  exists(node: string): Promise<boolean>;
}

const same = (a: Uint8Array | undefined, b: Uint8Array): boolean => a !== undefined && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
const join = (parent: string, child: string): string => (parent === '/' ? `/${child}` : `${parent}/${child}`);

/**
 * The strings of a compatible, leniently: a value without its final NUL still yields its last
 * fragment, so a broken compatible that names what is searched for is a candidate (and the
 * strict live read then reports it) rather than silently not found.
 */
export function compatibleFragments(bytes: Uint8Array): string[] {
  if (bytes.length > 0 && bytes[bytes.length - 1] === 0) {
    const ascii = asciiOf(bytes.subarray(0, -1));
    if (ascii !== undefined) return ascii.split('\0');
  }
  try {
    return decodeStrings(bytes, '');
  } catch (e) {
    if (!(e instanceof DtParseError)) throw e;
    return Buffer.from(bytes).toString('utf8').split('\0');
  }
}

export class BootTree {
  #symbols: number | undefined | null = null;

  constructor(
    readonly index: FdtIndex,
    private readonly live: LiveTree,
  ) {}

  /** Live-confirmed nodes holding `phandle`, tree order; undefined when the blob cannot answer. */
  async phandle(phandle: number): Promise<string[] | undefined> {
    const ids = this.index.holders(phandle);
    if (!ids) return undefined;
    const confirmed: string[] = [];
    for (const id of ids) {
      const prop = this.index.phandleProp(id)!;
      const path = this.index.path(id);
      if (same(await this.live.raw(path, prop.name), prop.bytes)) confirmed.push(path);
    }
    return confirmed.length ? confirmed : undefined;
  }

  /**
   * Nodes with a compatible string equal to `want.text` (or ending in it, `want.suffix`), tree
   * order. `complete`: the blob's set is final (nodes the kernel only acts on at boot), so parents
   * are not checked for additions and no candidate is an answer too.
   */
  async compatible(want: CompatibleQuery, complete = false): Promise<string[] | undefined> {
    const match = compatibleMatcher(want);
    const hits = (bytes: Uint8Array | undefined): boolean => bytes !== undefined && compatibleFragments(bytes).some(match);
    // Matched on the bytes first: decoding a thousand compatibles costs more than the search.
    const needle = new TextEncoder().encode(want.text);
    const candidates = this.index
      .compatibleIds()
      .filter((id) => mentions(this.index.compatible(id)!, needle) && hits(this.index.compatible(id)) && !this.#isBookkeeping(id))
      .map((id) => ({ id, bytes: this.index.compatible(id)! }));
    if (candidates.length === 0) return complete ? [] : undefined;
    for (const n of candidates) if (!same(await this.live.raw(this.index.path(n.id), 'compatible'), n.bytes)) return undefined;
    const found = candidates.map((n) => this.index.path(n.id));
    if (complete) return found;
    // Children an overlay added beside a candidate: examined live, subtree included.
    // One readdir per parent; only names the blob does not know are looked at further.
    for (const parentId of new Set(candidates.map((n) => this.index.parentId(n.id)))) {
      const parent = this.index.path(parentId);
      const known = new Set(['name', ...this.index.children(parentId).map((c) => this.index.name(c)), ...this.index.propNames(parentId)]);
      for (const name of (await this.live.entries(parent)) ?? []) {
        if (known.has(name) || !(await this.live.exists(join(parent, name)))) continue;
        for (const path of await this.#liveSubtree(join(parent, name))) if (hits(await this.live.raw(path, 'compatible'))) found.push(path);
      }
    }
    return found;
  }

  /** The first label the blob's /__symbols__ gives `path`, confirmed by its live file. */
  async label(path: string): Promise<string | undefined> {
    const symbols = this.#symbolsId();
    if (symbols === undefined) return undefined;
    const label = this.index.propWithValue(symbols, new TextEncoder().encode(`${path}\0`));
    return label !== undefined && same(await this.live.raw('/__symbols__', label), this.index.value(symbols, label)!) ? label : undefined;
  }

  /** The path a label names in the blob's /__symbols__, confirmed live; undefined otherwise. */
  async labelPath(label: string): Promise<string | undefined> {
    const symbols = this.#symbolsId();
    const bytes = symbols === undefined ? undefined : this.index.value(symbols, label);
    if (!bytes || !same(await this.live.raw('/__symbols__', label), bytes)) return undefined;
    const s = compatibleFragments(bytes);
    return s.length === 1 ? s[0] : undefined;
  }

  /** Below /__symbols__ or another root-level node dtc adds for overlays. */
  #isBookkeeping(id: number): boolean {
    for (let a = id; a > 0; a = this.index.parentId(a)) if (this.index.parentId(a) === 0) return isBookkeepingName(this.index.name(a));
    return false;
  }

  #symbolsId(): number | undefined {
    if (this.#symbols === null) this.#symbols = this.index.size > 0 ? this.index.childId(0, '__symbols__') : undefined;
    return this.#symbols;
  }

  async #liveSubtree(path: string, depth = 0): Promise<string[]> {
    if (depth > 64) return [path];
    const out = [path];
    for (const c of await this.live.children(path)) out.push(...(await this.#liveSubtree(join(path, c), depth + 1)));
    return out;
  }
}

/** What a compatible search asks for: one string exactly, or any string ending in `text`. */
export interface CompatibleQuery {
  text: string;
  suffix?: boolean;
}

export function compatibleMatcher(want: CompatibleQuery): (compat: string) => boolean {
  return want.suffix ? (c) => c.endsWith(want.text) : (c) => c === want.text;
}

/** Whether `needle` occurs anywhere in `bytes` (a cheap filter before decoding). */
function mentions(bytes: Uint8Array, needle: Uint8Array): boolean {
  if (needle.length === 0) return true;
  const first = needle[0]!;
  outer: for (let i = bytes.indexOf(first); i >= 0 && i + needle.length <= bytes.length; i = bytes.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** Root children dtc adds for overlays (dtc -@); they hold bookkeeping, not hardware. */
export function isBookkeepingName(name: string): boolean {
  return name === '__symbols__' || name === '__fixups__' || name === '__local_fixups__';
}
