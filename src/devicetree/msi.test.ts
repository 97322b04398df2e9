import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { dtPort } from '../../test/helpers/dt-port.js';
import { bytes, cells, flag, node, ref, str, type DtNodeSpec, type DtValue } from './spec.js';
import { DtParseError } from './decode.js';
import { DeviceTree } from './tree.js';
import {
  DEFAULT_MSI_MAP_MASK,
  deviceChain,
  itsDeviceId,
  matchMsiMap,
  MsiMapError,
  parseMsiMapMask,
  readMsiParent,
  resolveMsiMap,
  type MsiMapResolution,
} from './msi.js';

const ITS = '/interrupt-controller@48000000/msi-controller@48040000';
const EP = '/soc/pcie-ep@4c300000';

/** GIC + ITS (phandle from `&its`), a GICv2m-like frame, and /soc (simple-bus) with one EP node. */
function board(ep: Record<string, DtValue>, soc: Record<string, DtValue> = {}): DtNodeSpec {
  return node({ '#address-cells': cells(2), '#size-cells': cells(2) }, {
    'interrupt-controller@48000000': node({ compatible: str('arm,gic-v3'), 'interrupt-controller': flag() }, {
      'msi-controller@48040000': node({ compatible: str('arm,gic-v3-its'), 'msi-controller': flag(), '#msi-cells': cells(1) }, {}, 'its'),
      'v2m@48090000': node({ compatible: str('arm,gic-v2m-frame'), 'msi-controller': flag() }, {}, 'v2m'),
    }),
    soc: node({ compatible: str('simple-bus'), ...soc }, {
      'pcie-ep@4c300000': node({ compatible: str('fsl,imx95-pcie-ep'), ...ep }, {}, 'pcie0_ep'),
    }),
  });
}

const treeOf = (spec: DtNodeSpec) => new DeviceTree(dtPort(spec));
const resolve = async (spec: DtNodeSpec, rid = 0) => {
  const tree = treeOf(spec);
  return resolveMsiMap(tree, await deviceChain(tree, EP), rid);
};

describe('resolveMsiMap', () => {
  // of_msi_map_get_device_domain (drivers/of/irq.c): an msi-map entry covering ID 0 on the EP node
  it('maps ID 0 through the EP node\'s own msi-map to the ITS and its DeviceID', async () => {
    expect(await resolve(board({ 'msi-map': cells(0, ref('its'), 0x10, 1) }))).toEqual({
      kind: 'mapped',
      mapNode: EP,
      entry: { idBase: 0, phandle: 1, msiBase: 0x10, length: 1 },
      mask: DEFAULT_MSI_MAP_MASK,
      target: ITS,
      deviceId: 0x10,
    });
  });

  // nxp-imx/linux-imx imx95.dtsi: i.MX95 RC msi-map = <0x0 &its 0x10 0x1>, <0x100 &its 0x11 0x7>, msi-map-mask = <0x1ff>
  it('applies msi-map-mask before matching and offsets the ID from id-base', async () => {
    const spec = board({ 'msi-map': cells(0, ref('its'), 0x10, 1, 0x100, ref('its'), 0x11, 7), 'msi-map-mask': cells(0x1ff) });
    const id = async (rid: number) => {
      const r = await resolve(spec, rid);
      return r.kind === 'mapped' ? r.deviceId : r.kind;
    };
    expect(await id(0)).toBe(0x10);
    expect(await id(0x100)).toBe(0x11);
    expect(await id(0x103)).toBe(0x14);
    expect(await id(0x300)).toBe(0x11); // 0x300 & 0x1ff = 0x100
    expect(await id(0x107)).toBe('no-entry');
    expect(await id(1)).toBe('no-entry');
  });

  it('takes the first entry covering the ID when several do', async () => {
    const r = await resolve(board({ 'msi-map': cells(0x10, ref('v2m'), 0, 4, 0, ref('its'), 0x20, 8, 0, ref('v2m'), 0x30, 1) }));
    expect(r).toMatchObject({ kind: 'mapped', target: ITS, deviceId: 0x20, entry: { msiBase: 0x20 } });
  });

  // drivers/of/irq.c of_msi_xlate: a node whose msi-map has no entry for ID 0 ends the search there
  it('stops at a node whose msi-map does not cover ID 0, even when a parent device\'s would', async () => {
    const r = await resolve(board({ 'msi-map': cells(1, ref('its'), 0x10, 1) }, { 'msi-map': cells(0, ref('its'), 0x20, 1) }));
    expect(r).toEqual({ kind: 'no-entry', mapNode: EP, mask: DEFAULT_MSI_MAP_MASK });
  });

  // drivers/of/irq.c: looked up on that device's node and then up the device parent chain (the /soc bus device)
  it('finds an msi-map on a parent device when the EP node has none', async () => {
    const r = await resolve(board({}, { 'msi-map': cells(0, ref('its'), 0x20, 1) }));
    expect(r).toMatchObject({ kind: 'mapped', mapNode: '/soc', deviceId: 0x20 });
  });

  // observed 7.3.4: msi-parent does not work for the doorbell
  it('ignores msi-parent: an EP node with only msi-parent = <&its 0> has no msi-map', async () => {
    expect(await resolve(board({ 'msi-parent': cells(ref('its'), 0) }))).toEqual({ kind: 'no-msi-map' });
  });

  it('reports a covering entry whose phandle names no node as dangling', async () => {
    expect(await resolve(board({ 'msi-map': cells(0, 0x77, 0x10, 1) }))).toEqual({ kind: 'dangling', mapNode: EP, phandle: 0x77 });
  });

  // drivers/of/base.c of_map_id: "Bad msi-map length"
  it('rejects an msi-map that is not whole 4-cell entries with the kernel\'s own error line', async () => {
    const odd = await resolve(board({ 'msi-map': bytes(...new Array<number>(14).fill(0)) })).catch((e: unknown) => e);
    expect(odd).toBeInstanceOf(MsiMapError);
    expect((odd as MsiMapError).path).toBe(`/sys/firmware/devicetree/base${EP}/msi-map`);
    expect((odd as MsiMapError).kernelLog).toBe(`${EP}: Error: Bad msi-map length: 14`);
    expect((odd as Error).message).toMatch(/14 bytes is not a whole number of 4-cell .*; the kernel logs ".*Bad msi-map length: 14" and skips this msi-map — write msi-map as/);
    await expect(resolve(board({ 'msi-map': cells(0, ref('its'), 0x10) }))).rejects.toThrow(/12 bytes is not a whole number/);
    await expect(resolve(board({ 'msi-map': flag() }))).rejects.toThrow(/Bad msi-map length: 0/);
  });

  // drivers/of/base.c of_map_id: "Invalid msi-map translation - msi-map-mask (0x%x) ignores id-base (0x%x)"
  it('rejects an id-base with bits outside the mask, but only when met before a covering entry', async () => {
    const bad = board({ 'msi-map': cells(0x200, ref('its'), 0, 1, 0, ref('its'), 0x10, 1), 'msi-map-mask': cells(0xff) });
    await expect(resolve(bad)).rejects.toThrow(/ignores id-base \(0x200\)/);
    const late = board({ 'msi-map': cells(0, ref('its'), 0x10, 1, 0x200, ref('its'), 0, 1), 'msi-map-mask': cells(0xff) });
    expect(await resolve(late)).toMatchObject({ kind: 'mapped', deviceId: 0x10 });
  });

  it('computes id-base + length in 32 bits, so a wrapping range covers nothing', async () => {
    const r = await resolve(board({ 'msi-map': cells(0xfffffff0, ref('its'), 0, 0x20) }), 0xfffffff8);
    expect(r.kind).toBe('no-entry');
    const edge = await resolve(board({ 'msi-map': cells(0xfffffff0, ref('its'), 0x10, 0xf) }), 0xfffffffe);
    expect(edge).toMatchObject({ kind: 'mapped', deviceId: 0x1e });
  });

  it('reads msi-map-mask as one cell, all bits when absent, and reports any other length with its file', () => {
    const f = '/x/msi-map-mask';
    expect(parseMsiMapMask(undefined, f)).toBe(0xffffffff);
    expect(parseMsiMapMask(Uint8Array.of(0, 0, 1, 0xff), f)).toBe(0x1ff);
    expect(() => parseMsiMapMask(Uint8Array.of(0, 0, 1), f)).toThrow(`${f}: 3 bytes where one 32-bit cell (4 bytes) was expected; the kernel would use all bits (0xffffffff)`);
    expect(() => parseMsiMapMask(Uint8Array.of(0, 0, 1, 0xff, 9, 9, 9, 9), f)).toThrow(/8 bytes .* the kernel would use 0x1ff as the mask/);
  });
});

describe('readMsiParent', () => {
  // observed 6.12 (drivers/of/kobj.c): msi-parent = <&its 0x42> reads 00008003 00000042
  it('splits msi-parent by the target\'s #msi-cells and resolves the phandle', async () => {
    const p = await readMsiParent(treeOf(board({ 'msi-parent': cells(ref('its'), 0x42) })), EP);
    expect(p).toMatchObject({ node: EP, phandle: 1, args: [0x42], target: ITS });
  });

  it('takes no argument cells for a target without #msi-cells', async () => {
    const p = await readMsiParent(treeOf(board({ 'msi-parent': cells(ref('v2m')) })), EP);
    expect(p).toMatchObject({ args: [], target: '/interrupt-controller@48000000/v2m@48090000' });
  });

  it('reports a phandle naming no node as dangling and a missing property as undefined', async () => {
    expect(await readMsiParent(treeOf(board({ 'msi-parent': cells(0x99, 0) })), EP)).toMatchObject({ phandle: 0x99, target: undefined });
    expect(await readMsiParent(treeOf(board({})), EP)).toBeUndefined();
  });

  it('rejects a specifier with fewer cells than #msi-cells', async () => {
    await expect(readMsiParent(treeOf(board({ 'msi-parent': cells(ref('its')) })), EP)).rejects.toThrow(/needs 1 argument cell/);
  });
});

describe('itsDeviceId', () => {
  // drivers/irqchip/irq-gic-its-msi-parent.c: of_pmsi_get_dev_id tries msi-parent first
  it('takes the DeviceID from an msi-parent naming the ITS before the node\'s msi-map', async () => {
    const tree = treeOf(board({ 'msi-map': cells(0, ref('its'), 0x10, 1), 'msi-parent': cells(ref('its'), 0) }));
    expect(await itsDeviceId(tree, EP, ITS)).toEqual({ source: 'msi-parent', deviceId: 0 });
  });

  // drivers/of/irq.c of_msi_xlate: the ITS takes the DeviceID from the EP node's own map
  it('reads only the controller node: a parent device\'s msi-map gives no DeviceID', async () => {
    expect(await itsDeviceId(treeOf(board({}, { 'msi-map': cells(0, ref('its'), 0x20, 1) })), EP, ITS)).toEqual({ source: 'none' });
    expect(await itsDeviceId(treeOf(board({ 'msi-map': cells(0, ref('its'), 0x98, 1) })), EP, ITS)).toEqual({ source: 'msi-map', deviceId: 0x98 });
  });
});

describe('deviceChain', () => {
  // drivers/of/platform.c: children of a simple-bus get the bus device as parent; root-level nodes the platform bus
  it('lists the node and its device parents below the root', async () => {
    const tree = treeOf(board({}));
    expect(await deviceChain(tree, EP)).toEqual([EP, '/soc']);
    const rk = treeOf(node({}, { 'pcie-ep@fe150000': node({ compatible: str('rockchip,rk3588-pcie-ep') }) }));
    expect(await deviceChain(rk, '/pcie-ep@fe150000')).toEqual(['/pcie-ep@fe150000']);
  });
});

// ---- properties ----

interface GenEntry {
  idBase: number;
  phandle: number;
  msiBase: number;
  length: number;
}
interface GenMap {
  entries: GenEntry[];
  mask: number | undefined;
}

/** A deliberately plain reading of of_map_id()/__of_msi_map_id(), in BigInt. */
function model(maps: (GenMap | undefined)[], rid: number, phandles: ReadonlySet<number>): MsiMapResolution | 'error' {
  const U32 = 1n << 32n;
  for (const [i, m] of maps.entries()) {
    if (!m) continue;
    if (m.entries.length === 0) return 'error';
    const mask = BigInt(m.mask ?? 0xffffffff);
    const id = BigInt(rid) & mask;
    for (const e of m.entries) {
      if ((BigInt(e.idBase) & (U32 - 1n - mask)) !== 0n) return 'error';
      const lo = BigInt(e.idBase);
      const hi = (lo + BigInt(e.length)) % U32;
      if (!(id >= lo && id < hi)) continue;
      const mapNode = i === 0 ? EP : '/soc';
      if (!phandles.has(e.phandle)) return { kind: 'dangling', mapNode, phandle: e.phandle };
      return {
        kind: 'mapped',
        mapNode,
        entry: e,
        mask: Number(mask),
        target: e.phandle === 1 ? ITS : '/interrupt-controller@48000000/v2m@48090000',
        deviceId: Number((id - lo + BigInt(e.msiBase)) % U32),
      };
    }
    return { kind: 'no-entry', mapNode: i === 0 ? EP : '/soc', mask: Number(mask) };
  }
  return { kind: 'no-msi-map' };
}

// Biased towards small IDs so that matches, misses, dangling phandles and mask errors all occur
// often (about one run in six maps); large values keep the u32 wrap-around in play.
const small = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 8 }), weight: 6 },
  { arbitrary: fc.constantFrom(0x100, 0x1ff, 0xfffffff0, 0xffffffff), weight: 1 },
  { arbitrary: fc.nat({ max: 0xffffffff }), weight: 1 },
);
const genEntry: fc.Arbitrary<GenEntry> = fc.record({ idBase: small, phandle: fc.constantFrom(1, 1, 2, 0x77), msiBase: small, length: small });
const genMask = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 4 },
  { arbitrary: fc.constantFrom(0xffffffff, 0xff, 0x1ff, 0x7, 0), weight: 1 },
);
const genMap: fc.Arbitrary<GenMap | undefined> = fc.option(
  fc.record({
    entries: fc.oneof({ arbitrary: fc.array(genEntry, { minLength: 1, maxLength: 4 }), weight: 12 }, { arbitrary: fc.constant<GenEntry[]>([]), weight: 1 }),
    mask: genMask,
  }),
  { nil: undefined, freq: 4 },
);
const props = (m: GenMap | undefined): Record<string, DtValue> =>
  m === undefined ? {} : { 'msi-map': cells(...m.entries.flatMap((e) => [e.idBase, e.phandle, e.msiBase, e.length])), ...(m.mask === undefined ? {} : { 'msi-map-mask': cells(m.mask) }) };

/** The board of board() with explicit phandles 1 (ITS) and 2 (v2m), so maps can use numbers. */
function numbered(ep: Record<string, DtValue>, soc: Record<string, DtValue>): DtNodeSpec {
  return node({}, {
    'interrupt-controller@48000000': node({ compatible: str('arm,gic-v3') }, {
      'msi-controller@48040000': node({ compatible: str('arm,gic-v3-its'), phandle: cells(1), '#msi-cells': cells(1) }),
      'v2m@48090000': node({ compatible: str('arm,gic-v2m-frame'), phandle: cells(2) }),
    }),
    soc: node({ compatible: str('simple-bus'), ...soc }, { 'pcie-ep@4c300000': node({ ...ep }) }),
  });
}

describe('msi-map properties', () => {
  it('agrees with a plain model of of_map_id on generated maps and never throws anything but DtParseError', async () => {
    await fc.assert(
      fc.asyncProperty(genMap, genMap, fc.oneof({ arbitrary: fc.constant(0), weight: 2 }, { arbitrary: small, weight: 1 }), async (epMap, socMap, rid) => {
        const tree = treeOf(numbered(props(epMap), props(socMap)));
        const expected = model([epMap, socMap], rid, new Set([1, 2]));
        let got: MsiMapResolution | 'error';
        try {
          got = await resolveMsiMap(tree, [EP, '/soc'], rid);
        } catch (e) {
          if (!(e instanceof DtParseError)) throw e;
          got = 'error';
        }
        expect(got).toEqual(expected);
      }),
      { numRuns: 10_000 },
    );
  });

  it('never throws anything but DtParseError on arbitrary msi-map, msi-map-mask and msi-parent bytes', async () => {
    const raw = fc.option(fc.uint8Array({ maxLength: 40 }).map((a) => bytes(...a)), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(raw, raw, raw, raw, async (map, mask, parent, socMap) => {
        const ep: Record<string, DtValue> = {};
        if (map) ep['msi-map'] = map;
        if (mask) ep['msi-map-mask'] = mask;
        if (parent) ep['msi-parent'] = parent;
        const tree = treeOf(numbered(ep, socMap ? { 'msi-map': socMap } : {}));
        for (const run of [() => resolveMsiMap(tree, [EP, '/soc'], 0), () => readMsiParent(tree, EP), () => itsDeviceId(tree, EP, ITS)]) {
          try {
            await run();
          } catch (e) {
            if (!(e instanceof DtParseError)) throw e;
          }
        }
      }),
      { numRuns: 10_000 },
    );
  });

  it('matches msi-map entries the same way without a tree (matchMsiMap)', () => {
    fc.assert(
      fc.property(fc.array(genEntry, { minLength: 1, maxLength: 4 }), genMask, small, (entries, mask, rid) => {
        const m = model([{ entries, mask }], rid, new Set([1, 2, 0x77]));
        let got: unknown;
        try {
          got = matchMsiMap(entries, mask ?? 0xffffffff, rid, 'p');
        } catch (e) {
          if (!(e instanceof DtParseError)) throw e;
          got = 'error';
        }
        if (m === 'error') expect(got).toBe('error');
        else if (m.kind === 'mapped') expect(got).toEqual({ entry: m.entry, deviceId: m.deviceId });
        else expect(got).toBeUndefined();
      }),
      { numRuns: 10_000 },
    );
  });
});
