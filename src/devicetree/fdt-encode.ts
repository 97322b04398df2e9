// Encodes a FlatTree (src/devicetree/spec.ts) as the FDT v17 blob a bootloader hands the kernel
// and drivers/of/fdt.c re-exports as /sys/firmware/fdt. Layout as scripts/dtc/libfdt/fdt.h and
// dtc write it: 40-byte header, an empty memory reservation map (one (0, 0) entry), the
// structure block, then the strings block with each property name stored once. `name`
// properties are left out: a v16+ blob has none, the kernel makes them when it unflattens
// (drivers/of/fdt.c populate_properties). Used by the fake kernel and the benchmark boards.
import type { FlatTree } from './spec.js';
import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_MAGIC, FDT_PROP } from './fdt.js';

const HEADER = 40;
const RSVMAP = 16;

export function encodeFdt(tree: FlatTree): Uint8Array {
  const norm = (p: string): string => (p === '' ? '/' : p);
  const children = new Map<string, string[]>();
  const props = new Map<string, { name: string; bytes: Uint8Array }[]>();
  for (const n of tree.nodes) {
    const path = norm(n);
    children.set(path, children.get(path) ?? []);
    props.set(path, props.get(path) ?? []);
    if (path === '/') continue;
    const parent = path.slice(0, path.lastIndexOf('/')) || '/';
    const list = children.get(parent) ?? [];
    list.push(path);
    children.set(parent, list);
  }
  for (const p of tree.properties) if (p.name !== 'name') props.get(norm(p.node))?.push({ name: p.name, bytes: p.bytes });

  const strings: number[] = [];
  const offsets = new Map<string, number>();
  const nameOffset = (name: string): number => {
    let off = offsets.get(name);
    if (off === undefined) {
      off = strings.length;
      offsets.set(name, off);
      strings.push(...Buffer.from(name + '\0', 'utf8'));
    }
    return off;
  };

  const chunks: Uint8Array[] = [];
  const u32 = (v: number): void => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, false);
    chunks.push(b);
  };
  const padded = (bytes: Uint8Array): void => {
    chunks.push(bytes);
    const pad = (4 - (bytes.length % 4)) % 4;
    if (pad) chunks.push(new Uint8Array(pad));
  };
  const emit = (path: string): void => {
    u32(FDT_BEGIN_NODE);
    padded(Buffer.from((path === '/' ? '' : path.slice(path.lastIndexOf('/') + 1)) + '\0', 'utf8'));
    for (const p of props.get(path) ?? []) {
      u32(FDT_PROP);
      u32(p.bytes.length);
      u32(nameOffset(p.name));
      padded(p.bytes);
    }
    for (const c of children.get(path) ?? []) emit(c);
    u32(FDT_END_NODE);
  };
  emit('/');
  u32(FDT_END);

  const struct = Buffer.concat(chunks);
  const offStruct = HEADER + RSVMAP;
  const offStrings = offStruct + struct.length;
  const total = offStrings + strings.length;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  [FDT_MAGIC, total, offStruct, offStrings, HEADER, 17, 16, 0, strings.length, struct.length].forEach((x, i) => v.setUint32(i * 4, x, false));
  // Bytes HEADER..HEADER+16 stay zero: the terminating (0, 0) reservation entry.
  out.set(struct, offStruct);
  out.set(strings, offStrings);
  return out;
}
