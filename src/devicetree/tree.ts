// DeviceTree: the device tree the kernel exposes under /sys/firmware/devicetree/base, read
// through a KernelPort (drivers/of/kobj.c: one directory per node, one file per property, raw
// bytes). Node paths are DT paths ("/", "/soc/pcie-ep@4c300000"). Every read is cached for the
// life of the instance. Phandle, compatible and label lookups are answered from the boot blob
// /sys/firmware/fdt and confirmed live (boot-tree.ts says why that is sound); where it cannot
// answer, the whole-tree walk behind them happens once, on first use. Property values always
// come from the live files. Missing nodes and properties read as undefined; unreadable files
// throw; content that is not what the kernel writes throws DtParseError naming the file.
import { isKernelError } from '../kernel/errors.js';
import type { KernelPort } from '../kernel/port.js';
import { cellsToBigint, decodeCells, decodeString, decodeStrings, decodeU32, decodeU8, DtParseError } from './decode.js';
import { FDT_PATH, parseFdt } from './fdt.js';
import { BootTree, compatibleMatcher, type CompatibleQuery } from './boot-tree.js';
import { DtMissingError, DtReadError, DuplicatePhandleError } from './errors.js';
import { tolerate, walkTree, type TreeIndex } from './walk.js';

export { DtMissingError, DtReadError, DuplicatePhandleError } from './errors.js';

export const DT_BASE = '/sys/firmware/devicetree/base';

/**
 * `status` values the Devicetree Specification defines ("fail-sss": "fail-" and a condition),
 * plus "ok", which drivers/of/base.c __of_device_is_available() accepts as "okay".
 */
export function isSpecStatus(s: string): boolean {
  return isAvailableStatus(s) || s === 'disabled' || s === 'reserved' || s === 'fail' || (s.startsWith('fail-') && s.length > 5);
}

/** A status that leaves the node enabled: drivers/of/base.c __of_device_is_available() takes "okay" and "ok". */
export function isAvailableStatus(s: string): boolean {
  return s === 'okay' || s === 'ok';
}

/** How lookups used /sys/firmware/fdt: the blob answered, or why the live walk did. */
export type FdtUse = 'used' | 'absent' | 'unreadable' | 'corrupt' | 'not-used';

export interface RegEntry {
  address: bigint;
  size: bigint;
}

export interface Listing {
  properties: string[];
  children: string[];
}


const isMissing = (e: unknown): boolean =>
  isKernelError(e, 'ENOENT');

/** The DT parent of a node path ("/soc/x" → "/soc", "/x" → "/"), undefined for the root. */
export function parentPath(path: string): string | undefined {
  if (path === '/' || path === '') return undefined;
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** The node name with its unit address ("pcie-ep@4c300000"); "/" for the root. */
export function nodeName(path: string): string {
  return path === '/' ? '/' : path.slice(path.lastIndexOf('/') + 1);
}

/** The unit address of a node path ("/soc/pcie-ep@4c300000" → "4c300000"), if any. */
export function unitAddress(path: string): string | undefined {
  const name = nodeName(path);
  const at = name.indexOf('@');
  return at < 0 ? undefined : name.slice(at + 1);
}

export class DeviceTree {
  readonly port: KernelPort;
  /** Kernel directory of the root node. */
  readonly base: string;
  #ready: Promise<void> | undefined;
  readonly #listings = new Map<string, Promise<Listing | undefined>>();
  readonly #raw = new Map<string, Promise<Uint8Array | undefined>>();
  /** The boot blob matching `base`, or null when none is looked for. */
  readonly fdtPath: string | null;
  #index: Promise<TreeIndex> | undefined;
  #symbols: Promise<Map<string, string>> | undefined;
  #boot: Promise<BootTree | undefined> | undefined;
  #fdtUse: FdtUse = 'not-used';

  constructor(port: KernelPort, base: string = DT_BASE, fdtPath: string | null = base === DT_BASE ? FDT_PATH : null) {
    this.port = port;
    this.base = base;
    this.fdtPath = fdtPath;
  }

  /** Whether the last lookup was answered from the boot blob, or why not (for tests and benches). */
  get fdtUse(): FdtUse {
    return this.#fdtUse;
  }

  /** Kernel path of a node directory, or of one of its property files. */
  file(node: string, prop?: string): string {
    const dir = node === '/' || node === '' ? this.base : this.base + node;
    return prop === undefined ? dir : `${dir}/${prop}`;
  }

  /** Throws DtMissingError when the base directory does not exist (checked once). */
  ready(): Promise<void> {
    this.#ready ??= (async () => {
      try {
        const st = await this.port.stat(this.base);
        if (st.kind !== 'dir') throw new DtMissingError(this.base);
      } catch (e) {
        if (isMissing(e)) throw new DtMissingError(this.base);
        if (isKernelError(e)) throw new DtReadError(this.base, e.code, e);
        throw e;
      }
    })();
    return this.#ready;
  }

  /** Whether the node exists: one stat, unless its listing is already cached. */
  async exists(node: string): Promise<boolean> {
    const cached = this.#listings.get(this.file(node));
    if (cached) return (await cached) !== undefined;
    await this.ready();
    try {
      return (await this.port.stat(this.file(node))).kind === 'dir';
    } catch (e) {
      if (isMissing(e)) return false;
      if (isKernelError(e)) throw new DtReadError(this.file(node), e.code, e);
      throw e;
    }
  }

  /** Child node names, unit address included, in the order the kernel lists them. */
  async children(node: string): Promise<string[]> {
    return [...((await this.listing(node))?.children ?? [])];
  }

  /** Entry names of a node directory (properties and children, one readdir), undefined when it is none. */
  async entries(node: string): Promise<string[] | undefined> {
    const dir = this.file(node);
    await this.ready();
    try {
      return await this.port.readdir(dir);
    } catch (e) {
      if (isMissing(e)) return undefined;
      if (isKernelError(e)) throw new DtReadError(dir, e.code, e);
      throw e;
    }
  }

  async properties(node: string): Promise<string[]> {
    return [...((await this.listing(node))?.properties ?? [])];
  }

  /** Raw property bytes, or undefined when the node or property does not exist. */
  raw(node: string, prop: string): Promise<Uint8Array | undefined> {
    const path = this.file(node, prop);
    let p = this.#raw.get(path);
    if (!p) {
      p = this.ready().then(() => this.port.read(path)).catch((e: unknown) => {
        if (isMissing(e)) return undefined;
        if (isKernelError(e)) throw new DtReadError(path, e.code, e);
        throw e;
      });
      this.#raw.set(path, p);
    }
    return p;
  }

  async cells(node: string, prop: string): Promise<number[] | undefined> {
    const b = await this.raw(node, prop);
    return b && decodeCells(b, this.file(node, prop));
  }

  async u32(node: string, prop: string): Promise<number | undefined> {
    const b = await this.raw(node, prop);
    return b && decodeU32(b, this.file(node, prop));
  }

  async u8(node: string, prop: string): Promise<number | undefined> {
    const b = await this.raw(node, prop);
    return b && decodeU8(b, this.file(node, prop));
  }

  async string(node: string, prop: string): Promise<string | undefined> {
    const b = await this.raw(node, prop);
    return b && decodeString(b, this.file(node, prop));
  }

  async strings(node: string, prop: string): Promise<string[] | undefined> {
    const b = await this.raw(node, prop);
    return b && decodeStrings(b, this.file(node, prop));
  }

  /** A boolean property (`msi-controller`): true when present, whatever it holds. */
  async flag(node: string, prop: string): Promise<boolean> {
    return (await this.raw(node, prop)) !== undefined;
  }

  async compatible(node: string): Promise<string[]> {
    return (await this.strings(node, 'compatible')) ?? [];
  }

  /**
   * `status`, "okay" when absent (drivers/of/base.c: __of_device_is_available). A value the
   * specification does not define throws DtParseError: the kernel would treat it as disabled,
   * but it is more likely a typo for "okay" than a decision, so epctl says neither.
   */
  async status(node: string): Promise<string> {
    const s = (await this.string(node, 'status')) ?? 'okay';
    if (!isSpecStatus(s))
      throw new DtParseError(
        this.file(node, 'status'),
        `${JSON.stringify(s)} is not a status the Devicetree Specification defines ("okay", "disabled", "reserved", "fail", "fail-sss"; the kernel also takes "ok"), and the kernel treats it as disabled`,
        'write status = "okay"; or status = "disabled"; in the board .dts',
      );
    return s;
  }

  /** Enabled as of_device_is_available(): no `status`, or "okay" / "ok". */
  async available(node: string): Promise<boolean> {
    return isAvailableStatus(await this.status(node));
  }

  /**
   * `#address-cells` that applies to this node's `reg`: the parent's, else the nearest
   * ancestor's (drivers/of/base.c: of_bus_n_addr_cells walks up, warning on recent kernels),
   * else the DT default 2.
   */
  addressCells(node: string): Promise<number> {
    return this.#inherited(node, '#address-cells', 2);
  }

  /** `#size-cells` for this node's `reg`, found as addressCells(); default 1. */
  sizeCells(node: string): Promise<number> {
    return this.#inherited(node, '#size-cells', 1);
  }

  /** `reg` as (address, size) pairs, untranslated; [] when absent. */
  async reg(node: string): Promise<RegEntry[]> {
    const cells = await this.cells(node, 'reg');
    if (!cells) return [];
    const [ac, sc] = await Promise.all([this.addressCells(node), this.sizeCells(node)]);
    const per = ac + sc;
    if (per === 0 || cells.length % per !== 0)
      throw new DtParseError(this.file(node, 'reg'), `${cells.length} cells is not a whole number of (${ac} address + ${sc} size)-cell entries`);
    const out: RegEntry[] = [];
    for (let i = 0; i < cells.length; i += per)
      out.push({ address: cellsToBigint(cells.slice(i, i + ac)), size: cellsToBigint(cells.slice(i + ac, i + per)) });
    return out;
  }

  /** The node's phandle (`phandle`, or the legacy `linux,phandle`), if it has one. */
  async phandle(node: string): Promise<number | undefined> {
    return (await this.u32(node, 'phandle')) ?? (await this.u32(node, 'linux,phandle'));
  }

  /** The DT parent path, undefined for the root. */
  parent(node: string): string | undefined {
    return parentPath(node);
  }

  /**
   * The node a phandle refers to (of_find_node_by_phandle), or undefined when none has it.
   * Two nodes holding it throw DuplicatePhandleError; a miss while some `phandle` file is not
   * 4 bytes throws DtParseError naming that file (it may be the node meant).
   */
  async nodeByPhandle(phandle: number): Promise<string | undefined> {
    if (phandle === 0 || phandle === 0xffffffff) return undefined;
    const boot = await this.#bootTree();
    let nodes = boot && (await boot.phandle(phandle));
    this.#fdtUse = nodes ? 'used' : this.#fdtMiss();
    if (!nodes) {
      const index = await this.#indexed();
      nodes = index.byPhandle.get(phandle) ?? [];
      const bad = index.badPhandles[0];
      if (nodes.length === 0 && bad !== undefined) {
        const prop = (await this.raw(bad, 'phandle')) ? 'phandle' : 'linux,phandle';
        const len = (await this.raw(bad, prop))?.length ?? 0;
        throw new DtParseError(this.file(bad, prop), `${len} bytes where a 4-byte phandle was expected, so no reference reaches this node, and no node holds phandle 0x${phandle.toString(16)}: this may be the node meant`);
      }
    }
    if (nodes.length > 1) throw new DuplicatePhandleError(phandle, await Promise.all(nodes.map(async (n) => this.file(n, (await this.raw(n, 'phandle')) ? 'phandle' : 'linux,phandle'))));
    return nodes[0];
  }

  /**
   * Every node listing `compat` in its compatible property, in tree order. `bootOnly`: the kernel
   * acts on such nodes only while booting, so the boot blob's confirmed answer is complete
   * (no check for nodes added at runtime, and none found is an answer).
   */
  async findCompatible(compat: string, opts: { bootOnly?: boolean } = {}): Promise<string[]> {
    return this.#findCompatible({ text: compat }, opts.bootOnly ?? false);
  }

  /** Nodes with a compatible ending in `suffix` ("-pcie-ep"), in path order. */
  async findCompatibleSuffix(suffix: string): Promise<string[]> {
    return (await this.#findCompatible({ text: suffix, suffix: true }, false)).sort();
  }

  /** The node a dtc label names, from /__symbols__ (dtc -@); undefined without symbols. */
  async labelPath(label: string): Promise<string | undefined> {
    const boot = await this.#bootTree();
    const path = (boot && (await boot.labelPath(label))) ?? (await this.#labels()).get(label);
    // A symbol is data: only an absolute path of plain node names may become a file path.
    return path !== undefined && (path === '/' || /^(\/[^/]+)+$/.test(path)) && !path.split('/').some((c) => c === '.' || c === '..') ? path : undefined;
  }

  /**
   * The first label of a node in /__symbols__, for printing `&its` instead of a path. With a
   * usable boot blob only its labels are looked at: one an overlay added is not worth reading
   * every symbol for, since `&{/path}` names the node as well.
   */
  async pathLabel(node: string): Promise<string | undefined> {
    const boot = await this.#bootTree();
    if (boot) return boot.label(node);
    for (const [label, path] of await this.#labels()) if (path === node) return label;
    return undefined;
  }

  async #findCompatible(want: CompatibleQuery, complete: boolean): Promise<string[]> {
    const boot = await this.#bootTree();
    let found = boot && (await boot.compatible(want, complete));
    this.#fdtUse = found ? 'used' : this.#fdtMiss();
    const match = compatibleMatcher(want);
    found ??= (await this.#indexed()).compatible.filter((c) => c.strings.some(match)).map((c) => c.node);
    // Candidates were matched leniently; a compatible without its final NUL is reported here.
    for (const n of found) await this.compatible(n);
    return [...new Set(found)];
  }

  #fdtMiss(): FdtUse {
    return this.#fdtUse === 'used' || this.#fdtUse === 'not-used' ? 'not-used' : this.#fdtUse;
  }

  /** The boot blob, parsed once; undefined when absent, unreadable or corrupt (then lookups walk). */
  #bootTree(): Promise<BootTree | undefined> {
    this.#boot ??= (async () => {
      await this.ready();
      if (this.fdtPath === null) return undefined;
      let bytes: Uint8Array;
      try {
        bytes = await this.port.read(this.fdtPath);
      } catch (e) {
        if (!isKernelError(e)) throw e;
        this.#fdtUse = isMissing(e) ? 'absent' : 'unreadable';
        return undefined;
      }
      try {
        return new BootTree(parseFdt(bytes, this.fdtPath), this);
      } catch (e) {
        if (!(e instanceof DtParseError)) throw e;
        this.#fdtUse = 'corrupt';
        return undefined;
      }
    })();
    return this.#boot;
  }

  async #inherited(node: string, prop: string, dflt: number): Promise<number> {
    for (let p = parentPath(node); p !== undefined; p = parentPath(p)) {
      const v = await this.u32(p, prop);
      if (v !== undefined) return v;
    }
    return dflt;
  }

  /** A node's properties and children (readdir, then lstat of each entry), cached; undefined when it is no node. */
  listing(node: string): Promise<Listing | undefined> {
    const dir = this.file(node);
    let p = this.#listings.get(dir);
    if (!p) {
      p = this.#list(dir);
      this.#listings.set(dir, p);
    }
    return p;
  }

  async #list(dir: string): Promise<Listing | undefined> {
    await this.ready();
    const guard = async <T>(path: string, op: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await op();
      } catch (e) {
        if (isMissing(e)) return undefined;
        if (isKernelError(e)) throw new DtReadError(path, e.code, e);
        throw e;
      }
    };
    const names = await guard(dir, () => this.port.readdir(dir));
    if (!names) return undefined;
    const kinds = await Promise.all(names.map((n) => guard(`${dir}/${n}`, async () => (await this.port.lstat(`${dir}/${n}`)).kind)));
    const listing: Listing = { properties: [], children: [] };
    names.forEach((n, i) => {
      if (kinds[i] === 'file') listing.properties.push(n);
      else if (kinds[i] === 'dir') listing.children.push(n);
    });
    return listing;
  }

  #indexed(): Promise<TreeIndex> {
    this.#index ??= walkTree(this);
    return this.#index;
  }

  #labels(): Promise<Map<string, string>> {
    this.#symbols ??= (async () => {
      const names = (await this.properties('/__symbols__')).filter((n) => n !== 'name');
      const paths = await Promise.all(names.map((n) => tolerate(this.string('/__symbols__', n), undefined)));
      const labels = new Map<string, string>();
      names.forEach((n, i) => {
        const path = paths[i];
        if (path !== undefined) labels.set(n, path);
      });
      return labels;
    })();
    return this.#symbols;
  }
}
