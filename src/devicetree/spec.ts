// A device tree as data: how board profiles describe their DT, and how the fake kernel
// lays it out under /sys/firmware/devicetree/base. Encoding follows the flattened-DT rules
// the kernel exports there (drivers/of/kobj.c: one file per property holding its raw bytes):
// cells are big-endian 32-bit, strings NUL-terminated, string lists NUL-separated,
// boolean properties zero bytes, `/bits/ 8` properties one byte per value.

/** A reference to a labelled node (`&its`), encoded as that node's phandle cell. */
export interface PhandleRef {
  ref: string;
}

export type DtValue =
  | { kind: 'empty' }
  | { kind: 'cells'; cells: readonly (number | PhandleRef)[] }
  | { kind: 'u8'; values: readonly number[] }
  | { kind: 'strings'; values: readonly string[] }
  | { kind: 'bytes'; bytes: readonly number[] };

export interface DtNodeSpec {
  /** dtc label (`its:`); makes the node referable and, with symbols, listed in __symbols__. */
  label?: string;
  props: Readonly<Record<string, DtValue>>;
  /** Children by full node name, unit address included (`pcie-ep@4c300000`). */
  children: Readonly<Record<string, DtNodeSpec>>;
}

export const ref = (label: string): PhandleRef => ({ ref: label });
export const flag = (): DtValue => ({ kind: 'empty' });
export const cells = (...values: (number | PhandleRef)[]): DtValue => ({ kind: 'cells', cells: values });
export const u8 = (...values: number[]): DtValue => ({ kind: 'u8', values });
export const str = (...values: string[]): DtValue => ({ kind: 'strings', values });
export const bytes = (...values: number[]): DtValue => ({ kind: 'bytes', bytes: values });
/** A 64-bit value as two cells, high first (`<0x9 0x0>`). */
export const u64cells = (v: bigint | number): (number)[] => {
  const b = BigInt(v);
  return [Number(b >> 32n), Number(b & 0xffffffffn)];
};

export function node(
  props: Record<string, DtValue>,
  children: Record<string, DtNodeSpec> = {},
  label?: string,
): DtNodeSpec {
  return label === undefined ? { props, children } : { props, children, label };
}

export interface FlatProperty {
  /** Node path from the root, "" for the root itself, else "/soc/pcie-ep@4c300000". */
  node: string;
  name: string;
  bytes: Uint8Array;
}

export interface FlatTree {
  nodes: string[];
  properties: FlatProperty[];
  /** label → node path, for __symbols__. */
  labels: Record<string, string>;
}

export interface FlattenOptions {
  /** Emit /__symbols__ (dtc -@). */
  symbols?: boolean;
}

/**
 * Lays a spec out as the kernel shows it: every node gets a `name` property (node name
 * without the unit address), every referenced labelled node a `phandle` (unless the spec
 * gives one), numbered 1, 2, … in tree order as dtc does; with symbols, every labelled node.
 */
export function flatten(root: DtNodeSpec, opts: FlattenOptions = {}): FlatTree {
  const labels: Record<string, string> = {};
  const referenced = new Set<string>();
  const walk = (n: DtNodeSpec, path: string, fn: (n: DtNodeSpec, path: string) => void): void => {
    fn(n, path);
    for (const [child, spec] of Object.entries(n.children)) walk(spec, `${path}/${child}`, fn);
  };
  walk(root, '', (n, path) => {
    if (n.label !== undefined) {
      if (labels[n.label] !== undefined) throw new Error(`duplicate DT label ${n.label}`);
      labels[n.label] = path;
    }
    for (const v of Object.values(n.props))
      if (v.kind === 'cells') for (const c of v.cells) if (typeof c !== 'number') referenced.add(c.ref);
  });
  const phandles = new Map<string, number>();
  let next = 1;
  const explicit = new Set<number>();
  walk(root, '', (n) => {
    const p = n.props['phandle'];
    if (p?.kind === 'cells' && typeof p.cells[0] === 'number') explicit.add(p.cells[0]);
  });
  walk(root, '', (n) => {
    if (n.label === undefined || !referenced.has(n.label)) return;
    const p = n.props['phandle'];
    if (p?.kind === 'cells' && typeof p.cells[0] === 'number') phandles.set(n.label, p.cells[0]);
    else {
      while (explicit.has(next)) next++;
      phandles.set(n.label, next++);
    }
  });
  for (const label of referenced) if (!phandles.has(label)) throw new Error(`DT reference to unknown label &${label}`);
  // dtc -@ (livetree.c generate_label_tree, allocph) also gives every other labelled node a
  // phandle, in tree order after the referenced ones, so an overlay can target it by label.
  if (opts.symbols)
    walk(root, '', (n) => {
      if (n.label === undefined || phandles.has(n.label)) return;
      const p = n.props['phandle'];
      if (p?.kind === 'cells' && typeof p.cells[0] === 'number') phandles.set(n.label, p.cells[0]);
      else {
        while (explicit.has(next)) next++;
        phandles.set(n.label, next++);
      }
    });

  const nodes: string[] = [];
  const properties: FlatProperty[] = [];
  walk(root, '', (n, path) => {
    nodes.push(path);
    const nodeName = path === '' ? '' : path.slice(path.lastIndexOf('/') + 1).split('@')[0]!;
    const props: Record<string, DtValue> = { ...n.props };
    if (props['name'] === undefined) props['name'] = str(nodeName);
    if (n.label !== undefined && phandles.has(n.label) && props['phandle'] === undefined)
      props['phandle'] = cells(phandles.get(n.label)!);
    for (const [name, v] of Object.entries(props)) properties.push({ node: path, name, bytes: encodeValue(v, phandles) });
  });
  if (opts.symbols) {
    nodes.push('/__symbols__');
    properties.push({ node: '/__symbols__', name: 'name', bytes: encodeValue(str('__symbols__'), phandles) });
    for (const [label, path] of Object.entries(labels))
      properties.push({ node: '/__symbols__', name: label, bytes: encodeValue(str(path || '/'), phandles) });
  }
  return { nodes, properties, labels };
}

export function encodeValue(v: DtValue, phandles: ReadonlyMap<string, number> = new Map()): Uint8Array {
  switch (v.kind) {
    case 'empty':
      return new Uint8Array(0);
    case 'u8':
      return Uint8Array.from(v.values, (x) => x & 0xff);
    case 'bytes':
      return Uint8Array.from(v.bytes);
    case 'strings':
      return new TextEncoder().encode(v.values.map((s) => s + '\0').join(''));
    case 'cells': {
      const out = new Uint8Array(v.cells.length * 4);
      const view = new DataView(out.buffer);
      v.cells.forEach((c, i) => {
        const value = typeof c === 'number' ? c : phandles.get(c.ref);
        if (value === undefined) throw new Error(`DT reference to unknown label &${(c as PhandleRef).ref}`);
        view.setUint32(i * 4, value >>> 0, false);
      });
      return out;
    }
  }
}
