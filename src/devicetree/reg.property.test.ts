// Hostile device trees through memoryMap: random #address-cells / #size-cells (0, huge, absent),
// reg and ranges of any byte length, status values, nesting. memoryMap never throws for a bad
// node (it lands in `problems` as a DtParseError naming a file), every range it returns is a CPU
// range below 2^64 with a positive size, and an identity-mapped, well-formed node is always found.
// A fixed seed keeps runs stable; EPCTL_SEED explores others.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { dtPort } from '../../test/helpers/dt-port.js';
import { DtParseError } from './decode.js';
import { bytes, cells, flag, node, str, type DtNodeSpec, type DtValue } from './spec.js';
import { DeviceTree } from './tree.js';
import { memoryMap } from './reg.js';

const SEED = Number(process.env['EPCTL_SEED'] ?? 20261130);

const cellCount = fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 4 }), fc.constantFrom(0xffffffff, 0x80000000, 64));
const u32 = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 1, 0xffffffff, 0x1000));
const propBytes: fc.Arbitrary<DtValue> = fc.oneof(
  fc.array(u32, { maxLength: 12 }).map((c) => cells(...c)),
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 30 }).map((b) => bytes(...b)),
  fc.constant(flag()),
);
const status = fc.oneof(fc.constant(undefined), fc.constantFrom('okay', 'ok', 'disabled', 'fail-x', 'okey', ''));

/** A node with children down to `depth` more levels. */
function nodeArb(depth: number): fc.Arbitrary<DtNodeSpec> {
  const kids: fc.Arbitrary<Record<string, DtNodeSpec>> =
    depth === 0 ? fc.constant({}) : fc.dictionary(fc.constantFrom('a@0', 'b@1', 'memory@0', 'reserved-memory', 'c@10'), nodeArb(depth - 1), { maxKeys: 3 });
  return fc.record({ ac: cellCount, sc: cellCount, reg: fc.option(propBytes, { nil: undefined }), ranges: fc.option(propBytes, { nil: undefined }), status, kids }).map(({ ac, sc, reg, ranges, status: st, kids: k }) => {
    const props: Record<string, DtValue> = {};
    if (ac !== undefined) props['#address-cells'] = cells(ac);
    if (sc !== undefined) props['#size-cells'] = cells(sc);
    if (reg !== undefined) props['reg'] = reg;
    if (ranges !== undefined) props['ranges'] = ranges;
    if (st !== undefined) props['status'] = str(st);
    return node(props, k);
  });
}

describe('memoryMap under hostile device trees', () => {
  it('reports bad nodes as problems, never throws, and returns only sound CPU ranges', async () => {
    await fc.assert(
      fc.asyncProperty(nodeArb(3), async (tree) => {
        // A known-good node beside whatever was generated: always found, whatever else is broken.
        const root = node({ '#address-cells': cells(2), '#size-cells': cells(2) }, { ...tree.children, 'good@1000': node({ reg: cells(0, 0x1000, 0, 0x100) }) });
        const map = await memoryMap(new DeviceTree(dtPort(root)));
        for (const p of map.problems) {
          expect(p).toBeInstanceOf(DtParseError);
          expect(p.path.startsWith('/sys/firmware/devicetree/base/')).toBe(true);
        }
        for (const r of map.ranges) {
          expect(r.size > 0n && r.base >= 0n && r.base + r.size <= 1n << 64n).toBe(true);
          expect(['memory', 'reserved', 'device']).toContain(r.kind);
        }
        expect(map.ranges.some((r) => r.node === '/good@1000' && r.base === 0x1000n && r.size === 0x100n)).toBe(true);
      }),
      { numRuns: 300, seed: SEED },
    );
  });
});
