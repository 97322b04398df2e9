// FdtIndex: the query side of a parsed /sys/firmware/fdt (fdt.ts parses it). Tables by node id
// and property row, with paths, names and property maps made on demand: a cold CLI pays for
// every object and string it makes, and a lookup needs only a few of a thousand nodes.

const text = new TextDecoder('utf-8', { fatal: true });

/** The property tables of a parsed blob, by row (tree order). */
export interface Props {
  node: Int32Array;
  name: string[];
  start: Int32Array;
  len: Int32Array;
  count: number;
}

/** The node tables of a parsed blob, by node id (tree order; 0 is the root). */
export interface Nodes {
  parent: Int32Array;
  nameStart: Int32Array;
  nameLen: Int32Array;
  /** First and last property row of the node (rows between may belong to children). */
  firstProp: Int32Array;
  lastProp: Int32Array;
  compatRow: Int32Array;
  phandleRow: Int32Array;
  count: number;
}

/**
 * A parsed blob. Parsing checks every byte it relies on but builds no per-node objects:
 * paths, names and property maps are made on demand, so a thousand-node blob costs one pass
 * over typed arrays (a cold CLI pays for every object and string it makes).
 */
export class FdtIndex {
  readonly #paths: (string | undefined)[] = [];
  #byPath: Map<string, number> | undefined;
  #children: number[][] | undefined;
  #nodes: Map<string, FdtNode> | undefined;

  constructor(
    readonly version: number,
    private readonly blob: Uint8Array,
    private readonly n: Nodes,
    private readonly p: Props,
    /** phandle → node ids holding it, tree order. */
    private readonly phandleIds: Map<number, number[]>,
    /** Node ids whose `phandle`/`linux,phandle` is not 4 bytes. */
    private readonly badPhandleIds: number[],
  ) {}

  get size(): number {
    return this.n.count;
  }

  /** The node's name with unit address ("" for the root). */
  name(id: number): string {
    return decodeName(this.blob.subarray(this.n.nameStart[id]!, this.n.nameStart[id]! + this.n.nameLen[id]!));
  }

  /** DT path of a node: "/" for the root, else "/soc/pcie-ep@4c300000". */
  path(id: number): string {
    let path = this.#paths[id];
    if (path === undefined) {
      const parent = this.n.parent[id]!;
      path = parent < 0 ? '/' : parent === 0 ? `/${this.name(id)}` : `${this.path(parent)}/${this.name(id)}`;
      this.#paths[id] = path;
    }
    return path;
  }

  /** The id of the node at `path`, or undefined. */
  idOf(path: string): number | undefined {
    this.#byPath ??= new Map(Array.from({ length: this.n.count }, (_, id) => [this.path(id), id]));
    return this.#byPath.get(path);
  }

  /** The parent's id, -1 for the root. */
  parentId(id: number): number {
    return this.n.parent[id]!;
  }

  /** The id of the child of `parent` named `name` (unit address included), without building paths. */
  childId(parent: number, name: string): number | undefined {
    const want = new TextEncoder().encode(name);
    outer: for (let id = parent + 1; id < this.n.count; id++) {
      if (this.n.parent[id] !== parent || this.n.nameLen[id] !== want.length) continue;
      const at = this.n.nameStart[id]!;
      for (let j = 0; j < want.length; j++) if (this.blob[at + j] !== want[j]) continue outer;
      return id;
    }
    return undefined;
  }

  /** Child node ids, blob order. */
  children(id: number): number[] {
    if (!this.#children) {
      this.#children = Array.from({ length: this.n.count }, () => []);
      for (let c = 1; c < this.n.count; c++) this.#children[this.n.parent[c]!]!.push(c);
    }
    return this.#children[id]!;
  }

  /** Property names of a node, blob order. */
  propNames(id: number): string[] {
    const out: string[] = [];
    for (let r = this.n.firstProp[id]!; r <= this.n.lastProp[id]!; r++) if (this.p.node[r] === id) out.push(this.p.name[r]!);
    return out;
  }

  #row(r: number): Uint8Array {
    return this.blob.subarray(this.p.start[r]!, this.p.start[r]! + this.p.len[r]!);
  }

  /** One property's bytes (a view into the blob), or undefined. */
  value(id: number, prop: string): Uint8Array | undefined {
    for (let r = this.n.firstProp[id]!; r <= this.n.lastProp[id]!; r++) if (this.p.node[r] === id && this.p.name[r] === prop) return this.#row(r);
    return undefined;
  }

  /** The first property of the node whose value is exactly `value` (a /__symbols__ label by path). */
  propWithValue(id: number, value: Uint8Array): string | undefined {
    const { blob } = this;
    outer: for (let r = this.n.firstProp[id]!; r <= this.n.lastProp[id]!; r++) {
      if (this.p.node[r] !== id || this.p.len[r] !== value.length) continue;
      const at = this.p.start[r]!;
      for (let j = 0; j < value.length; j++) if (blob[at + j] !== value[j]) continue outer;
      return this.p.name[r];
    }
    return undefined;
  }

  /** Ids of the nodes with a `compatible`, tree order. */
  compatibleIds(): number[] {
    const out: number[] = [];
    for (let id = 0; id < this.n.count; id++) if (this.n.compatRow[id]! >= 0) out.push(id);
    return out;
  }

  compatible(id: number): Uint8Array | undefined {
    const r = this.n.compatRow[id]!;
    return r < 0 ? undefined : this.#row(r);
  }

  /** The property the kernel takes the node's phandle from (drivers/of/fdt.c populate_properties: the first of `phandle` / `linux,phandle`). */
  phandleProp(id: number): { name: string; bytes: Uint8Array } | undefined {
    const r = this.n.phandleRow[id]!;
    return r < 0 ? undefined : { name: this.p.name[r]!, bytes: this.#row(r) };
  }

  /** Node ids holding a phandle (a 4-byte `phandle`, else `linux,phandle`), tree order. */
  holders(phandle: number): number[] | undefined {
    return this.phandleIds.get(phandle);
  }

  /** phandle → paths of every node holding it, tree order. */
  get phandles(): Map<number, string[]> {
    return new Map([...this.phandleIds].map(([ph, ids]) => [ph, ids.map((id) => this.path(id))]));
  }

  /** Paths of the nodes whose phandle is not 4 bytes. */
  get badPhandles(): string[] {
    return this.badPhandleIds.map((id) => this.path(id));
  }

  /** Every node as an object, by path (builds them all: for tests and tools, not the hot path). */
  get nodes(): Map<string, FdtNode> {
    if (!this.#nodes) {
      this.#nodes = new Map();
      for (let id = 0; id < this.n.count; id++) {
        const props = new Map<string, Uint8Array>();
        for (let r = this.n.firstProp[id]!; r <= this.n.lastProp[id]!; r++) if (this.p.node[r] === id) props.set(this.p.name[r]!, this.#row(r));
        this.#nodes.set(this.path(id), { path: this.path(id), props, children: this.children(id).map((c) => this.name(c)) });
      }
    }
    return this.#nodes;
  }
}

/** One node as an object (FdtIndex.nodes). */
export interface FdtNode {
  /** DT path: "/" for the root, else "/soc/pcie-ep@4c300000". */
  path: string;
  /** Properties in blob order, raw bytes (views into the blob). */
  props: Map<string, Uint8Array>;
  /** Child node names, unit address included, in blob order. */
  children: string[];
}

/** A name already checked by parseFdt (ASCII, or valid UTF-8). */
export function decodeName(bytes: Uint8Array): string {
  return asciiOf(bytes) ?? text.decode(bytes);
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * The bytes as a string when they are all ASCII, else undefined. Decoded natively (latin1 is
 * ASCII below 0x80): names and compatibles are ASCII in practice, and a cold CLI cannot afford
 * a JavaScript loop or a TextDecoder call per name on a thousand-node blob.
 */
export function asciiOf(bytes: Uint8Array): string | undefined {
  const s = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  return NON_ASCII.test(s) ? undefined : s;
}
