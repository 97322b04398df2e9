// A pure parser of the flattened device-tree blob the kernel exports as /sys/firmware/fdt
// (drivers/of/fdt.c of_fdt_raw_init: the boot blob, mode 0400), into an FdtIndex (fdt-index.ts): every
// node by its path (full names with unit address, as drivers/of/kobj.c names the directories),
// its properties as raw bytes, and phandle → node paths. Layout from scripts/dtc/libfdt/fdt.h:
// a big-endian header, the memory reservation map, the structure block (BEGIN_NODE, END_NODE,
// PROP, NOP, END tokens on 4-byte boundaries) and the strings block. The input is treated as
// hostile: every offset is bounds-checked, nesting is bounded, and anything that is not a
// well-formed v16/v17 blob throws DtParseError (and only that) naming the file and the offset.
import { DtParseError } from './decode.js';
import { FDT_LIMIT } from '../kernel/limits.js';
import { asciiOf, decodeName, FdtIndex, type Nodes, type Props } from './fdt-index.js';

export { asciiOf, FdtIndex, type FdtNode } from './fdt-index.js';

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

/** Largest blob parsed: the port's read limit for /sys/firmware/fdt (kernel/limits.ts). */
const FDT_MAX_SIZE = FDT_LIMIT.bytes;

const ADVICE = 'epctl ignores the blob and reads the device tree directory by directory instead';

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
  if (blob.length > FDT_MAX_SIZE) fail(0, `${blob.length} bytes is more than the ${FDT_MAX_SIZE} epctl reads as a device tree`);
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
  /** Checks a name in place: one path component, ASCII or valid UTF-8. */
  const checkName = (start: number, len: number, at: number, what: string): void => {
    let ascii = true;
    for (let i = start; i < start + len; i++) {
      const c = blob[i]!;
      if (c === 0x2f) fail(at, `${what} ${JSON.stringify(decodeLoose(blob.subarray(start, start + len)))} cannot be a file name`);
      if (c >= 0x80) ascii = false;
    }
    if (len === 0 || (len === 1 && blob[start] === 0x2e) || (len === 2 && blob[start] === 0x2e && blob[start + 1] === 0x2e))
      fail(at, `${what} ${JSON.stringify(decodeLoose(blob.subarray(start, start + len)))} cannot be a file name`);
    if (!ascii) {
      try {
        text.decode(blob.subarray(start, start + len));
      } catch {
        fail(at, `${what} is not valid UTF-8`);
      }
    }
  };
  const names = new Map<number, string>();
  const propName = (nameoff: number, at: number): string => {
    const cached = names.get(nameoff);
    if (cached !== undefined) return cached;
    if (nameoff >= sizeStrings) fail(at, `property name offset ${nameoff} is outside the ${sizeStrings}-byte strings block`);
    const len = nulAfter(offStrings + nameoff, stringsEnd);
    if (len < 0) fail(at, 'property name has no terminating NUL inside the strings block');
    checkName(offStrings + nameoff, len, at, 'property name');
    const name = decodeName(blob.subarray(offStrings + nameoff, offStrings + nameoff + len));
    names.set(nameoff, name);
    return name;
  };

  // Every node takes at least 8 bytes of the structure block, every property 12.
  const maxNodes = Math.floor(sizeStruct / 8) + 1;
  const maxProps = Math.floor(sizeStruct / 12) + 1;
  const n: Nodes = {
    parent: new Int32Array(maxNodes),
    nameStart: new Int32Array(maxNodes),
    nameLen: new Int32Array(maxNodes),
    firstProp: new Int32Array(maxNodes),
    lastProp: new Int32Array(maxNodes),
    compatRow: new Int32Array(maxNodes),
    phandleRow: new Int32Array(maxNodes),
    count: 0,
  };
  const p: Props = { node: new Int32Array(maxProps), name: [], start: new Int32Array(maxProps), len: new Int32Array(maxProps), count: 0 };
  const phandleIds = new Map<number, number[]>();
  const badPhandleIds: number[] = [];
  /** Open node ids, innermost last. */
  const stack: number[] = [];
  // Duplicate children: (parent, name hash) → child ids, compared byte for byte on a hit. Hashes
  // stay below 2^30 so V8 keeps them as small integers (no heap number per node).
  const siblings = new Map<number, number[]>();
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
      if (!rootClosed) fail(at, stack.length ? 'FDT_END inside an open node' : 'FDT_END before the root node');
      break;
    }
    if (token === FDT_BEGIN_NODE) {
      if (rootClosed) fail(at, 'a second root node after the first one closed');
      const len = nulAfter(off, structEnd);
      if (len < 0) fail(at, 'node name has no terminating NUL inside the structure block');
      const parent = stack.length ? stack[stack.length - 1]! : -1;
      if (parent < 0 && len !== 0) fail(at, `the root node is named ${JSON.stringify(decodeLoose(blob.subarray(off, off + len)))}, not ""`);
      if (stack.length >= FDT_MAX_DEPTH) fail(at, `nodes nest deeper than ${FDT_MAX_DEPTH} levels (drivers/of/fdt.c FDT_MAX_DEPTH)`);
      if (n.count >= maxNodes) fail(at, 'more nodes than the structure block can hold');
      const id = n.count++;
      if (parent >= 0) {
        checkName(off, len, at, 'node name');
        let h = (parent * 31 + len) & 0x3fffffff;
        for (let i = off; i < off + len; i++) h = (Math.imul(h, 16777619) ^ blob[i]!) & 0x3fffffff;
        const same = siblings.get(h);
        if (same) {
          for (const other of same)
            if (n.parent[other] === parent && n.nameLen[other] === len && blob.subarray(n.nameStart[other]!, n.nameStart[other]! + len).every((b, i) => b === blob[off + i]))
              fail(at, `two children of one node are named ${JSON.stringify(decodeLoose(blob.subarray(off, off + len)))}`);
          same.push(id);
        } else siblings.set(h, [id]);
      }
      n.parent[id] = parent;
      n.nameStart[id] = off;
      n.nameLen[id] = len;
      n.firstProp[id] = 0;
      n.lastProp[id] = -1;
      n.compatRow[id] = -1;
      n.phandleRow[id] = -1;
      off = align4(off + len + 1);
      if (off > structEnd) fail(at, 'node name padding runs past the structure block');
      if (propNames.length <= stack.length) propNames.push([]);
      propNames[stack.length]!.length = 0;
      stack.push(id);
      continue;
    }
    if (token === FDT_END_NODE) {
      if (stack.pop() === undefined) fail(at, 'FDT_END_NODE without an open node');
      if (stack.length === 0) rootClosed = true;
      continue;
    }
    if (token === FDT_PROP) {
      if (!stack.length) fail(at, 'a property outside any node');
      const id = stack[stack.length - 1]!;
      if (off + 8 > structEnd) fail(at, 'a property header runs past the structure block');
      const len = view.getUint32(off, false);
      const name = propName(view.getUint32(off + 4, false), at);
      const start = off + 8;
      if (len > structEnd - start) fail(at, `property ${name} of ${len} bytes runs past the structure block`);
      const seen = propNames[stack.length - 1]!;
      if (seen.includes(name)) fail(at, `a node has property ${name} twice`);
      seen.push(name);
      if (p.count >= maxProps) fail(at, 'more properties than the structure block can hold');
      const row = p.count++;
      if (n.lastProp[id]! < 0) n.firstProp[id] = row;
      n.lastProp[id] = row;
      p.node[row] = id;
      p.name.push(name);
      p.start[row] = start;
      p.len[row] = len;
      off = align4(start + len);
      if (off > structEnd) fail(at, `property ${name} padding runs past the structure block`);
      if (name === 'compatible') n.compatRow[id] = row;
      else if ((name === 'phandle' || name === 'linux,phandle') && n.phandleRow[id]! < 0) {
        n.phandleRow[id] = row;
        if (len !== 4) badPhandleIds.push(id);
        else {
          const value = view.getUint32(start, false);
          if (value !== 0 && value !== 0xffffffff) {
            const list = phandleIds.get(value);
            if (list) list.push(id);
            else phandleIds.set(value, [id]);
          }
        }
      }
      continue;
    }
    fail(at, `unknown token 0x${token.toString(16)}`);
  }
  return new FdtIndex(version, blob, n, p, phandleIds, badPhandleIds);
}

/** For messages only: bytes as text, invalid UTF-8 replaced. */
function decodeLoose(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** Rounds up to 4; offsets stay below FDT_MAX_SIZE, so 32-bit integer arithmetic is exact. */
const align4 = (n: number): number => (n + 3) & ~3;
