// DeviceTree: the device tree the kernel exposes under /sys/firmware/devicetree/base, read
// through a KernelPort (drivers/of/kobj.c: one directory per node, one file per property, raw
// bytes). Node paths are DT paths ("/", "/soc/pcie-ep@4c300000"). Every read is cached for the
// life of the instance; the whole-tree walk behind phandle and compatible lookups happens once,
// on first use. Missing nodes and properties read as undefined; unreadable files throw.
import { EpctlError, isKernelError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';
import type { KernelPort } from '../kernel/port.js';
import { cellsToBigint, decodeCells, decodeString, decodeStrings, decodeU32, decodeU8, DtParseError } from './decode.js';

export const DT_BASE = '/sys/firmware/devicetree/base';

/** The kernel exposes no device tree: an ACPI system, or /sys/firmware is not mounted. */
export class DtMissingError extends EpctlError {
  readonly path: string;
  constructor(path: string) {
    super(
      `${path}: no such directory; the kernel exposes no device tree here — an ACPI (not device-tree) system, or sysfs is not mounted at /sys — so epctl cannot read msi-map or find the ITS`,
      { exitCode: EXIT.BAD_DATA },
    );
    this.path = path;
  }
}

/** A device-tree file exists but cannot be read (EACCES, EIO, …). */
export class DtReadError extends EpctlError {
  readonly path: string;
  readonly code: string;
  constructor(path: string, code: string, cause: unknown) {
    const what = code === 'EACCES' || code === 'EPERM' ? 'permission denied; run epctl as root or fix the mode of the recorded file' : `${code} while reading it; the device tree could not be read — retry, or re-record the board`;
    super(`${path}: ${what}`, { exitCode: EXIT.BAD_DATA, cause });
    this.path = path;
    this.code = code;
  }
}

export interface RegEntry {
  address: bigint;
  size: bigint;
}

interface Listing {
  properties: string[];
  children: string[];
}

interface TreeIndex {
  byPhandle: Map<number, string>;
  compatible: Map<string, string[]>;
}

/** Nodes dtc adds for overlays; they hold bookkeeping, not hardware. */
const BOOKKEEPING = new Set(['__symbols__', '__fixups__', '__local_fixups__']);

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
  #index: Promise<TreeIndex> | undefined;
  #symbols: Promise<Map<string, string>> | undefined;

  constructor(port: KernelPort, base: string = DT_BASE) {
    this.port = port;
    this.base = base;
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

  async exists(node: string): Promise<boolean> {
    return (await this.#listing(node)) !== undefined;
  }

  /** Child node names, unit address included, in the order the kernel lists them. */
  async children(node: string): Promise<string[]> {
    return [...((await this.#listing(node))?.children ?? [])];
  }

  async properties(node: string): Promise<string[]> {
    return [...((await this.#listing(node))?.properties ?? [])];
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

  /** `status`, "okay" when absent (drivers/of/base.c: __of_device_is_available). */
  async status(node: string): Promise<string> {
    return (await this.string(node, 'status')) ?? 'okay';
  }

  /** Enabled as of_device_is_available(): no `status`, or "okay" / "ok". */
  async available(node: string): Promise<boolean> {
    const s = await this.status(node);
    return s === 'okay' || s === 'ok';
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

  /** The node a phandle refers to (of_find_node_by_phandle), or undefined when none has it. */
  async nodeByPhandle(phandle: number): Promise<string | undefined> {
    if (phandle === 0 || phandle === 0xffffffff) return undefined;
    return (await this.#indexed()).byPhandle.get(phandle);
  }

  /** Every node listing `compat` in its compatible property, in tree order. */
  async findCompatible(compat: string): Promise<string[]> {
    return [...((await this.#indexed()).compatible.get(compat) ?? [])];
  }

  /** Nodes with a compatible ending in `suffix` ("-pcie-ep"), in path order. */
  async findCompatibleSuffix(suffix: string): Promise<string[]> {
    const paths = new Set<string>();
    for (const [compat, nodes] of (await this.#indexed()).compatible) if (compat.endsWith(suffix)) for (const n of nodes) paths.add(n);
    return [...paths].sort();
  }

  /** The node a dtc label names, from /__symbols__ (dtc -@); undefined without symbols. */
  async labelPath(label: string): Promise<string | undefined> {
    return (await this.#labels()).get(label);
  }

  /** The first label of a node in /__symbols__, for printing `&its` instead of a path. */
  async pathLabel(node: string): Promise<string | undefined> {
    for (const [label, path] of await this.#labels()) if (path === node) return label;
    return undefined;
  }

  async #inherited(node: string, prop: string, dflt: number): Promise<number> {
    for (let p = parentPath(node); p !== undefined; p = parentPath(p)) {
      const v = await this.u32(p, prop);
      if (v !== undefined) return v;
    }
    return dflt;
  }

  #listing(node: string): Promise<Listing | undefined> {
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
    this.#index ??= this.#walk();
    return this.#index;
  }

  async #walk(): Promise<TreeIndex> {
    // Listings in parallel, then facts in tree (pre-)order, so the first node wins a duplicate
    // phandle as in of_find_node_by_phandle() and compatible lists keep the kernel's order.
    const collect = async (node: string): Promise<string[]> => {
      const l = await this.#listing(node);
      if (!l) return [];
      const kids = l.children.filter((c) => node !== '/' || !BOOKKEEPING.has(c));
      const subtrees = await Promise.all(kids.map((c) => collect(node === '/' ? `/${c}` : `${node}/${c}`)));
      return [node, ...subtrees.flat()];
    };
    const nodes = await collect('/');
    const facts = await Promise.all(
      nodes.map(async (node) => {
        const props = (await this.#listing(node))?.properties ?? [];
        const hasPhandle = props.includes('phandle') || props.includes('linux,phandle');
        // A malformed phandle or compatible on some unrelated node must not stop a lookup:
        // that node simply cannot be found (the direct getters still throw DtParseError).
        return {
          node,
          phandle: hasPhandle ? await tolerate(this.phandle(node), undefined) : undefined,
          compatible: props.includes('compatible') ? await tolerate(this.compatible(node), []) : [],
        };
      }),
    );
    const index: TreeIndex = { byPhandle: new Map(), compatible: new Map() };
    for (const f of facts) {
      if (f.phandle !== undefined && !index.byPhandle.has(f.phandle)) index.byPhandle.set(f.phandle, f.node);
      for (const c of f.compatible) {
        const list = index.compatible.get(c);
        if (list) list.push(f.node);
        else index.compatible.set(c, [f.node]);
      }
    }
    return index;
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

async function tolerate<T, D>(p: Promise<T>, dflt: D): Promise<T | D> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof DtParseError) return dflt;
    throw e;
  }
}
