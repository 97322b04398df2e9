import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FDT_LIMIT } from '../kernel/limits.js';
import { BOARDS } from '../boards/index.js';
import { cells, flatten, node, str } from './spec.js';
import { DtParseError } from './decode.js';
import { encodeFdt } from './fdt-encode.js';
import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_MAX_DEPTH, FDT_PATH, parseFdt } from './fdt.js';

const imx95 = flatten(BOARDS['imx95']!.dt, { symbols: true });
const blob = encodeFdt(imx95);

const errorOf = (bytes: Uint8Array): DtParseError => {
  try {
    parseFdt(bytes);
  } catch (e) {
    if (e instanceof DtParseError) return e;
    throw e;
  }
  throw new Error('parsed');
};

const be = (words: number[]): Uint8Array => {
  const b = new Uint8Array(words.length * 4);
  words.forEach((w, i) => new DataView(b.buffer).setUint32(i * 4, w >>> 0, false));
  return b;
};

describe('parseFdt', () => {
  it('reads back every node and property of an encoded board, except the kernel-made name files', () => {
    const index = parseFdt(blob);
    expect(index.version).toBe(17);
    expect([...index.nodes.keys()]).toEqual(imx95.nodes.map((n) => (n === '' ? '/' : n)));
    for (const p of imx95.properties) {
      const got = index.nodes.get(p.node === '' ? '/' : p.node)!.props.get(p.name);
      if (p.name === 'name') expect(got).toBeUndefined();
      else expect(got && Buffer.from(got).equals(Buffer.from(p.bytes))).toBe(true);
    }
  });

  it('writes each property name once in the strings block', () => {
    const v = new DataView(blob.buffer, blob.byteOffset);
    const strings = Buffer.from(blob.subarray(v.getUint32(12), v.getUint32(12) + v.getUint32(32))).toString('latin1').split('\0').slice(0, -1);
    expect(new Set(strings).size).toBe(strings.length);
    expect(strings).toContain('compatible');
  });

  it('indexes phandles from phandle and from the legacy linux,phandle', () => {
    const index = parseFdt(encodeFdt(flatten(node({}, { 'a@1': node({ phandle: cells(5) }), 'b@2': node({ 'linux,phandle': cells(7) }) }))));
    expect(index.phandles.get(5)).toEqual(['/a@1']);
    expect(index.phandles.get(7)).toEqual(['/b@2']);
  });

  it('keeps every node of a duplicated phandle and sets aside phandles that are not 4 bytes', () => {
    const index = parseFdt(
      encodeFdt(flatten(node({}, { 'a@1': node({ phandle: cells(5) }), 'b@2': node({ phandle: cells(5) }), 'c@3': node({ phandle: cells(1, 2) }) }))),
    );
    expect(index.phandles.get(5)).toEqual(['/a@1', '/b@2']);
    expect(index.badPhandles).toEqual(['/c@3']);
  });

  it('refuses a wrong magic, an unknown version and a size that does not match, naming the file and offset', () => {
    const bad = blob.slice();
    bad[0] = 0;
    expect(errorOf(bad).message).toMatch(new RegExp(`^${FDT_PATH}: at offset 0: magic`));
    const v15 = blob.slice();
    new DataView(v15.buffer).setUint32(20, 15);
    expect(errorOf(v15).reason).toMatch(/at offset 20: version 15/);
    expect(errorOf(blob.subarray(0, blob.length - 4)).reason).toMatch(/totalsize/);
    expect(errorOf(new Uint8Array(3)).reason).toMatch(/shorter than an FDT header/);
  });

  it('refuses a blob larger than any device tree a kernel boots, before indexing it', () => {
    // The same limit the port reads /sys/firmware/fdt with (kernel/limits.ts FDT_LIMIT).
    const big = new Uint8Array(FDT_LIMIT.bytes + 1);
    big.set(blob);
    expect(errorOf(big).reason).toMatch(new RegExp(`at offset 0: ${FDT_LIMIT.bytes + 1} bytes is more than the ${FDT_LIMIT.bytes}`));
  });

  it('refuses a structure block that points outside the blob', () => {
    const bad = blob.slice();
    new DataView(bad.buffer).setUint32(36, 0x7fffffff);
    expect(errorOf(bad).reason).toMatch(/at offset 8: structure block/);
  });

  it('refuses node names that would climb out of the device-tree directory', () => {
    const tree = flatten(node({}, { x: node({ compatible: str('a') }) }));
    const b = encodeFdt({ ...tree, nodes: tree.nodes.map((n) => n.replace('/x', '/..')), properties: tree.properties.map((p) => ({ ...p, node: p.node.replace('/x', '/..') })) });
    expect(errorOf(b).reason).toMatch(/node name "\.\." cannot be a file name/);
  });

  it(`refuses nodes nested deeper than ${FDT_MAX_DEPTH} levels without recursing`, () => {
    const words: number[] = [];
    for (let i = 0; i < 10_000; i++) words.push(FDT_BEGIN_NODE, i === 0 ? 0 : 0x61000000);
    const struct = be(words);
    const header = be([0xd00dfeed, 56 + struct.length + 4, 56, 56 + struct.length, 40, 17, 16, 0, 0, struct.length, 0, 0, 0, 0]);
    const b = new Uint8Array(header.length + struct.length + 4);
    b.set(header);
    b.set(struct, header.length);
    expect(errorOf(b).reason).toMatch(/deeper than 64/);
  });

  it('refuses a structure block without FDT_END and one with two roots', () => {
    const header = (structLen: number) => be([0xd00dfeed, 56 + structLen, 56, 56 + structLen, 40, 17, 16, 0, 0, structLen, 0, 0, 0, 0]);
    const make = (words: number[]) => {
      const s = be(words);
      const b = new Uint8Array(56 + s.length);
      b.set(header(s.length));
      b.set(s, 56);
      return b;
    };
    expect(errorOf(make([FDT_BEGIN_NODE, 0, FDT_END_NODE])).reason).toMatch(/without an FDT_END/);
    expect(errorOf(make([FDT_BEGIN_NODE, 0, FDT_END_NODE, FDT_BEGIN_NODE, 0, FDT_END_NODE, FDT_END])).reason).toMatch(/second root/);
    expect(parseFdt(make([FDT_BEGIN_NODE, 0, FDT_END_NODE, FDT_END])).nodes.size).toBe(1);
  });

  it('throws nothing but DtParseError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (raw) => {
        try {
          parseFdt(raw);
        } catch (e) {
          if (!(e instanceof DtParseError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('throws nothing but DtParseError on a valid blob with bytes changed, cut or added', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(blob.length - 1), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 8 }),
        fc.integer({ min: -64, max: 64 }),
        (edits, resize) => {
          let b = blob.slice();
          for (const e of edits) b[e.at] = e.value;
          if (resize < 0) b = b.subarray(0, b.length + resize);
          else if (resize > 0) b = Uint8Array.from([...b, ...new Uint8Array(resize)]);
          try {
            const index = parseFdt(b);
            for (const paths of index.phandles.values()) for (const p of paths) expect(index.nodes.has(p)).toBe(true);
          } catch (e) {
            if (!(e instanceof DtParseError)) throw e;
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('accepts a v16 blob, whose header has no structure size', () => {
    const b = blob.slice();
    new DataView(b.buffer).setUint32(20, 16);
    expect(parseFdt(b).nodes.size).toBe(imx95.nodes.length);
  });

  it('places the end token right after the last node', () => {
    const v = new DataView(blob.buffer, blob.byteOffset);
    const end = v.getUint32(8) + v.getUint32(36);
    expect(v.getUint32(end - 4)).toBe(FDT_END);
    expect(v.getUint32(end - 8)).toBe(FDT_END_NODE);
  });
});
