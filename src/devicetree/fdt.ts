// A pure parser of the flattened device-tree blob the kernel exports as /sys/firmware/fdt
// (drivers/of/fdt.c of_fdt_raw_init: the boot blob, mode 0400), into an in-memory index: every
// node by its path (full names with unit address, as drivers/of/kobj.c names the directories),
// its properties as raw bytes, and phandle → node paths. Layout from scripts/dtc/libfdt/fdt.h:
// a big-endian header, the memory reservation map, the structure block (BEGIN_NODE, END_NODE,
// PROP, NOP, END tokens on 4-byte boundaries) and the strings block. The input is treated as
// hostile: every offset is bounds-checked, nesting is bounded, and anything that is not a
// well-formed v16/v17 blob throws DtParseError (and only that) naming the file and the offset.
import { DtParseError } from './decode.js';

export const FDT_PATH = '/sys/firmware/fdt';
export const FDT_MAGIC = 0xd00dfeed;

/** scripts/dtc/libfdt/fdt.h token values. */
export const FDT_BEGIN_NODE = 0x1;
export const FDT_END_NODE = 0x2;
export const FDT_PROP = 0x3;
export const FDT_NOP = 0x4;
export const FDT_END = 0x9;

/** Header sizes: v16 ends after size_dt_strings, v17 adds size_dt_struct. */
const HEADER_V16 = 36;
const HEADER_V17 = 40;
/** drivers/of/fdt.c FDT_MAX_DEPTH: the kernel refuses to unflatten deeper trees. */
export const FDT_MAX_DEPTH = 64;

const ADVICE = 'epctl ignores the blob and reads the device tree directory by directory instead';

/** Where every property of a blob lies; node maps are built from it on first use. */
interface PropTable {
  blob: Uint8Array;
  node: number[];
  name: string[];
  start: number[];
  len: number[];
}

/** One node of the blob. Only `compatible` and the phandle are picked out while parsing. */
export class FdtNode {
  /** Child node names, unit address included, in blob order. */
  readonly children: string[] = [];
  /** The `compatible` value, when the node has one. */
  compatible: Uint8Array | undefined;
  /** The property the kernel takes the phandle from: the first of `phandle` / `linux,phandle`. */
  phandleProp: { name: string; bytes: Uint8Array } | undefined;
  /** Rows of the property table that can be this node's (its first to its last property). */
  firstProp = 0;
  lastProp = -1;
  #props: Map<string, Uint8Array> | undefined;

  constructor(
    /** DT path: "/" for the root, else "/soc/pcie-ep@4c300000". */
    readonly path: string,
    /** Position in tree order. */
    readonly id: number,
    private readonly table: PropTable,
  ) {}

  /** The first property whose value is exactly `value` (a /__symbols__ label by path), without building the map. */
  propWithValue(value: Uint8Array): string | undefined {
    const { blob, node, name, start, len } = this.table;
    outer: for (let i = this.firstProp; i <= this.lastProp; i++) {
      if (node[i] !== this.id || len[i] !== value.length) continue;
      const at = start[i]!;
      for (let j = 0; j < value.length; j++) if (blob[at + j] !== value[j]) continue outer;
      return name[i];
    }
    return undefined;
  }

  /** One property's bytes, without building the map. */
  value(prop: string): Uint8Array | undefined {
    if (this.#props) return this.#props.get(prop);
    const { blob, node, name, start, len } = this.table;
    for (let i = this.firstProp; i <= this.lastProp; i++) if (node[i] === this.id && name[i] === prop) return blob.subarray(start[i]!, start[i]! + len[i]!);
    return undefined;
  }

  /** Properties in blob order, raw bytes (views into the blob). */
  get props(): Map<string, Uint8Array> {
    if (!this.#props) {
      const t = this.table;
      this.#props = new Map();
      for (let i = this.firstProp; i <= this.lastProp; i++) if (t.node[i] === this.id) this.#props.set(t.name[i]!, t.blob.subarray(t.start[i]!, t.start[i]! + t.len[i]!));
    }
    return this.#props;
  }
}

export interface FdtIndex {
  version: number;
  nodes: Map<string, FdtNode>;
  /** phandle → every node holding it (`phandle`, else `linux,phandle`), in tree order. */
  phandles: Map<number, string[]>;
  /** Nodes whose `phandle`/`linux,phandle` is not 4 bytes: they hold no usable phandle. */
  badPhandles: string[];
}

/** The phandle of a node as drivers/of/fdt.c populate_properties() takes it: the first of `phandle` / `linux,phandle`. */
export function fdtPhandleProp(node: FdtNode): { name: string; bytes: Uint8Array } | undefined {
  return node.phandleProp;
}

const text = new TextDecoder('utf-8', { fatal: true });

/** Parses a whole blob; throws DtParseError naming `file` and the byte offset on any defect. */
export function parseFdt(input: Uint8Array, file: string = FDT_PATH): FdtIndex {
  // A plain Uint8Array view: Buffer's subarray and indexOf are slower per call.
  const blob = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const fail = (offset: number, reason: string): never => {
    throw new DtParseError(file, `at offset ${offset}: ${reason}`, ADVICE);
  };
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const u32 = (off: number, limit: number): number => {
    if (off < 0 || off + 4 > limit) fail(off, `a 32-bit field runs past the end (${limit} bytes)`);
    return view.getUint32(off, false);
  };

  if (blob.length < HEADER_V16) fail(0, `${blob.length} bytes is shorter than an FDT header`);
  const magic = u32(0, blob.length);
  if (magic !== FDT_MAGIC) fail(0, `magic 0x${magic.toString(16)} is not 0xd00dfeed`);
  const totalsize = u32(4, blob.length);
  const offStruct = u32(8, blob.length);
  const offStrings = u32(12, blob.length);
  const offRsv = u32(16, blob.length);
  const version = u32(20, blob.length);
  const lastComp = u32(24, blob.length);
  const sizeStrings = u32(32, blob.length);
  if (version !== 16 && version !== 17) fail(20, `version ${version} is not 16 or 17`);
  if (lastComp > 17) fail(24, `last_comp_version ${lastComp} is newer than 17`);
  const headerSize = version >= 17 ? HEADER_V17 : HEADER_V16;
  if (totalsize !== blob.length) fail(4, `totalsize ${totalsize} does not match the ${blob.length} bytes read`);
  if (totalsize < headerSize) fail(4, `totalsize ${totalsize} is shorter than the v${version} header`);
  const sizeStruct = version >= 17 ? u32(36, totalsize) : totalsize - Math.min(offStruct, totalsize);
  const inside = (field: number, off: number, size: number, what: string): void => {
    if (off < headerSize || off > totalsize || size > totalsize - off) fail(field, `${what} [${off}, +${size}) lies outside the blob (header ${headerSize}, total ${totalsize})`);
  };
  inside(8, offStruct, sizeStruct, 'structure block');
  inside(12, offStrings, sizeStrings, 'strings block');
  if (offStruct % 4 !== 0) fail(8, `structure block offset ${offStruct} is not 4-byte aligned`);
  if (offRsv % 8 !== 0) fail(16, `memory reservation map offset ${offRsv} is not 8-byte aligned`);

  // Memory reservation map: (address, size) u64 pairs ending with a (0, 0) entry.
  for (let off = offRsv; ; off += 16) {
    if (off < headerSize || off + 16 > totalsize) fail(off, 'the memory reservation map has no terminating (0, 0) entry');
    if (u32(off, totalsize) === 0 && u32(off + 4, totalsize) === 0 && u32(off + 8, totalsize) === 0 && u32(off + 12, totalsize) === 0) break;
  }

  const structEnd = offStruct + sizeStruct;
  const stringsEnd = offStrings + sizeStrings;
  /** Bytes from `start` to the first NUL before `end`, or -1. */
  const nulAfter = (start: number, end: number): number => {
    for (let i = start; i < end; i++) if (blob[i] === 0) return i - start;
    return -1;
  };
  /** Byte length of the string cstring() read last. */
  let lastLength = 0;
  const cstring = (start: number, end: number, what: string): string => {
    const nul = nulAfter(start, end);
    if (nul < 0) fail(start, `${what} has no terminating NUL inside its block`);
    lastLength = nul;
    const bytes = blob.subarray(start, start + nul);
    const ascii = asciiOf(bytes);
    if (ascii !== undefined) return ascii;
    try {
      return text.decode(bytes);
    } catch {
      return fail(start, `${what} is not valid UTF-8`);
    }
  };
  const nameCache = new Map<number, string>();
  const propName = (nameoff: number, at: number): string => {
    let name = nameCache.get(nameoff);
    if (name !== undefined) return name;
    if (nameoff >= sizeStrings) fail(at, `property name offset ${nameoff} is outside the ${sizeStrings}-byte strings block`);
    name = cstring(offStrings + nameoff, stringsEnd, 'property name');
    if (!safeName(name)) fail(at, `property name ${JSON.stringify(name)} cannot be a file name`);
    nameCache.set(nameoff, name);
    return name;
  };

  const index: FdtIndex = { version, nodes: new Map(), phandles: new Map(), badPhandles: [] };
  const table: PropTable = { blob, node: [], name: [], start: [], len: [] };
  const stack: FdtNode[] = [];
  // Property names of each open node, for the duplicate check; one list per depth, reused.
  const propNames: string[][] = [];
  let off = offStruct;
  let rootClosed = false;
  for (;;) {
    const at = off;
    if (at + 4 > structEnd) fail(at, 'the structure block ends without an FDT_END token');
    const token = view.getUint32(at, false);
    off += 4;
    if (token === FDT_NOP) continue;
    if (token === FDT_END) {
      if (!rootClosed) fail(at, stack.length ? `FDT_END inside node ${stack[stack.length - 1]!.path}` : 'FDT_END before the root node');
      break;
    }
    if (token === FDT_BEGIN_NODE) {
      if (rootClosed) fail(at, 'a second root node after the first one closed');
      const name = cstring(off, structEnd, 'node name');
      off = align4(off + lastLength + 1);
      if (off > structEnd) fail(at, 'node name padding runs past the structure block');
      const parent = stack[stack.length - 1];
      let path: string;
      if (!parent) {
        if (name !== '') fail(at, `the root node is named ${JSON.stringify(name)}, not ""`);
        path = '/';
      } else {
        if (!safeName(name)) fail(at, `node name ${JSON.stringify(name)} cannot be a directory name`);
        path = parent.path === '/' ? `/${name}` : `${parent.path}/${name}`;
        if (index.nodes.has(path)) fail(at, `${parent.path} has two children named ${name}`);
        parent.children.push(name);
      }
      if (stack.length >= FDT_MAX_DEPTH) fail(at, `nodes nest deeper than ${FDT_MAX_DEPTH} levels (drivers/of/fdt.c FDT_MAX_DEPTH)`);
      const node = new FdtNode(path, index.nodes.size, table);
      index.nodes.set(path, node);
      if (propNames.length <= stack.length) propNames.push([]);
      propNames[stack.length]!.length = 0;
      stack.push(node);
      continue;
    }
    if (token === FDT_END_NODE) {
      const node = stack.pop();
      if (!node) fail(at, 'FDT_END_NODE without an open node');
      if (stack.length === 0) rootClosed = true;
      continue;
    }
    if (token === FDT_PROP) {
      const node = stack[stack.length - 1];
      if (!node) fail(at, 'a property outside any node');
      if (off + 8 > structEnd) fail(at, 'a property header runs past the structure block');
      const len = view.getUint32(off, false);
      const name = propName(view.getUint32(off + 4, false), at);
      const start = off + 8;
      if (len > structEnd - start) fail(at, `property ${name} of ${len} bytes runs past the structure block`);
      const names = propNames[stack.length - 1]!;
      if (names.includes(name)) fail(at, `${node!.path} has property ${name} twice`);
      names.push(name);
      if (node!.lastProp < 0) node!.firstProp = table.node.length;
      node!.lastProp = table.node.length;
      table.node.push(node!.id);
      table.name.push(name);
      table.start.push(start);
      table.len.push(len);
      off = align4(start + len);
      if (off > structEnd) fail(at, `property ${name} padding runs past the structure block`);
      if (name === 'compatible') node!.compatible = blob.subarray(start, start + len);
      if ((name === 'phandle' || name === 'linux,phandle') && !node!.phandleProp) {
        node!.phandleProp = { name, bytes: blob.subarray(start, start + len) };
        if (len !== 4) index.badPhandles.push(node!.path);
        else {
          const value = view.getUint32(start, false);
          if (value !== 0 && value !== 0xffffffff) {
            const list = index.phandles.get(value);
            if (list) list.push(node!.path);
            else index.phandles.set(value, [node!.path]);
          }
        }
      }
      continue;
    }
    fail(at, `unknown token 0x${token.toString(16)}`);
  }
  return index;
}

const align4 = (n: number): number => Math.ceil(n / 4) * 4;

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

/** A name usable as one sysfs path component: not empty, not "." or "..", no "/". */
function safeName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/');
}
