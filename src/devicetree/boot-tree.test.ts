import { describe, expect, it } from 'vitest';
import { dtPort, DT_BASE, FDT } from '../../test/helpers/dt-port.js';
import { cells, node, ref, str, bytes, type DtNodeSpec } from './spec.js';
import { DtParseError } from './decode.js';
import { DeviceTree, DuplicatePhandleError } from './tree.js';

// Boot tree: a GIC with one ITS, /soc with one EP node whose msi-map names the ITS.
const its = (extra: Record<string, ReturnType<typeof str>> = {}) =>
  node({ compatible: str('arm,gic-v3-its'), 'msi-controller': { kind: 'empty' }, '#msi-cells': cells(1), ...extra }, {}, 'its');
const soc = (children: Record<string, DtNodeSpec>) => node({ compatible: str('simple-bus') }, children);
const ep = (extra: Record<string, ReturnType<typeof str>> = {}) =>
  node({ compatible: str('fsl,imx95-pcie-ep'), 'msi-map': cells(0, ref('its'), 0x10, 1), ...extra }, {}, 'pcie0_ep');
const boot = node({}, {
  'interrupt-controller@48000000': node({ compatible: str('arm,gic-v3') }, { 'msi-controller@48040000': its() }),
  soc: soc({ 'pcie-ep@4c300000': ep(), 'serial@1000': node({ compatible: str('uart') }) }),
});
const ITS = '/interrupt-controller@48000000/msi-controller@48040000';
const EP = '/soc/pcie-ep@4c300000';

const open = (live: DtNodeSpec, fdt: true | DtNodeSpec | Uint8Array | null = true, faults: Record<string, 'EACCES'> = {}) => {
  const port = dtPort(live, { symbols: true, ...(fdt === null ? {} : { fdt }), faults });
  return { port, tree: new DeviceTree(port) };
};
/** Directory listings and reads below the device tree, i.e. the cost of a lookup. */
const dtOps = (calls: string[]) => calls.filter((c) => c.includes(DT_BASE));

describe('DeviceTree with /sys/firmware/fdt', () => {
  it('finds a phandle from the blob and confirms it with one read of the live phandle file', async () => {
    const { port, tree } = open(boot);
    expect(await tree.nodeByPhandle(1)).toBe(ITS);
    expect(tree.fdtUse).toBe('used');
    expect(port.calls).toContain(`open ${FDT}`);
    expect(dtOps(port.calls).filter((c) => !c.startsWith('stat '))).toEqual([`open ${DT_BASE}${ITS}/phandle`]);
  });

  it('finds compatible nodes from the blob without listing unrelated nodes', async () => {
    const { port, tree } = open(boot);
    expect(await tree.findCompatibleSuffix('-pcie-ep')).toEqual([EP]);
    expect(await tree.findCompatible('arm,gic-v3-its', { bootOnly: true })).toEqual([ITS]);
    expect(dtOps(port.calls).some((c) => c.includes('serial@1000'))).toBe(false);
    expect(dtOps(port.calls).some((c) => c.startsWith('scandir') && c.endsWith('/interrupt-controller@48000000'))).toBe(false);
  });

  it('walks the live tree for a phandle the blob lacks, as an overlay node has', async () => {
    // The overlay node's phandle is above the boot tree's largest (drivers/of/resolver.c).
    const live = node({}, { ...boot.children, 'added@0': node({ phandle: cells(9) }) });
    const { tree } = open(live, boot);
    expect(await tree.nodeByPhandle(9)).toBe('/added@0');
    expect(tree.fdtUse).toBe('not-used');
  });

  it('does not trust a blob node whose live phandle changed', async () => {
    const live = node({}, {
      'interrupt-controller@48000000': node({ compatible: str('arm,gic-v3') }, { 'msi-controller@48040000': its({ phandle: cells(7) }) }),
      soc: soc({ 'pcie-ep@4c300000': ep(), 'other@0': node({ phandle: cells(1) }) }),
    });
    const { tree } = open(live, boot);
    expect(await tree.nodeByPhandle(1)).toBe('/soc/other@0');
  });

  it('lists an EP node an overlay added beside the boot EP node', async () => {
    const live = node({}, { ...boot.children, soc: soc({ 'pcie-ep@4c300000': ep(), 'pcie-ep@4c380000': node({ compatible: str('fsl,imx95-pcie-ep'), status: str('disabled') }) }) });
    const { tree } = open(live, boot);
    expect(await tree.findCompatibleSuffix('-pcie-ep')).toEqual([EP, '/soc/pcie-ep@4c380000']);
    expect(tree.fdtUse).toBe('used');
  });

  it('walks the live tree when the blob has no EP node, so one an overlay added anywhere is found', async () => {
    const bootNoEp = node({}, { soc: soc({}) });
    const live = node({}, { soc: soc({}), 'bus@9': node({}, { 'pcie-ep@1': node({ compatible: str('x,y-pcie-ep') }) }) });
    const { tree } = open(live, bootNoEp);
    expect(await tree.findCompatibleSuffix('-pcie-ep')).toEqual(['/bus@9/pcie-ep@1']);
    expect(tree.fdtUse).toBe('not-used');
  });

  it('walks the live tree when a candidate\'s compatible changed since boot', async () => {
    const live = node({}, { ...boot.children, soc: soc({ 'pcie-ep@4c300000': node({ compatible: str('fsl,imx95-pcie') }) }) });
    const { tree } = open(live, boot);
    expect(await tree.findCompatibleSuffix('-pcie-ep')).toEqual([]);
  });

  it('falls back to the walk when the blob is corrupt or unreadable, with the same answers', async () => {
    const junk = open(boot, Uint8Array.of(0xd0, 0x0d, 0xfe, 0xed, 1, 2, 3));
    expect(await junk.tree.nodeByPhandle(1)).toBe(ITS);
    expect(junk.tree.fdtUse).toBe('corrupt');
    const locked = open(boot, true, { [FDT]: 'EACCES' });
    expect(await locked.tree.findCompatibleSuffix('-pcie-ep')).toEqual([EP]);
    expect(locked.tree.fdtUse).toBe('unreadable');
    const none = open(boot, null);
    expect(await none.tree.nodeByPhandle(1)).toBe(ITS);
    expect(none.tree.fdtUse).toBe('absent');
  });

  it('never turns a symbol that climbs out of the tree into a node path', async () => {
    const spec = node({}, { __symbols__: node({ evil: str('/../../../etc'), rel: str('soc') }) });
    const { tree } = open(spec, true);
    expect(await tree.labelPath('evil')).toBeUndefined();
    expect(await tree.labelPath('rel')).toBeUndefined();
  });

  it('takes labels from the blob, confirmed by the live __symbols__ file', async () => {
    const { port, tree } = open(boot);
    expect(await tree.pathLabel(ITS)).toBe('its');
    expect(await tree.labelPath('pcie0_ep')).toBe(EP);
    expect(dtOps(port.calls).filter((c) => c.startsWith('scandir'))).toEqual([]);
  });
});

describe('DeviceTree: no confident wrong answers', () => {
  const dup = node({}, { 'a@1': node({ phandle: cells(5) }), 'b@2': node({ phandle: cells(5) }) });

  it.each([
    ['with the blob', true as const],
    ['without it', null],
  ])('blames both phandle files when two nodes hold the same phandle (%s)', async (_, fdt) => {
    const { tree } = open(dup, fdt);
    const e = await tree.nodeByPhandle(5).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(DuplicatePhandleError);
    expect((e as DuplicatePhandleError).files).toEqual([`${DT_BASE}/a@1/phandle`, `${DT_BASE}/b@2/phandle`]);
    expect((e as Error).message).toMatch(/^\/sys\/firmware\/devicetree\/base\/a@1\/phandle: phandle 0x5 is also held by .*\/b@2\/phandle/);
  });

  it('blames a phandle file that is not 4 bytes when a phandle is found nowhere', async () => {
    const { tree } = open(node({}, { 'its@1': node({ phandle: bytes(0, 0, 3) }) }));
    await expect(tree.nodeByPhandle(3)).rejects.toThrow(`${DT_BASE}/its@1/phandle: 3 bytes where a 4-byte phandle was expected`);
  });

  it('reports a status outside the specification with its path instead of calling it disabled', async () => {
    const { tree } = open(node({}, { 'a@1': node({ status: str('okya') }), 'b@2': node({ status: str('fail-overheat') }) }));
    await expect(tree.status('/a@1')).rejects.toBeInstanceOf(DtParseError);
    await expect(tree.available('/a@1')).rejects.toThrow(`${DT_BASE}/a@1/status: "okya" is not a status`);
    expect(await tree.status('/b@2')).toBe('fail-overheat');
  });

  it.each([
    ['with the blob', true as const],
    ['without it', null],
  ])('reports a compatible without its final NUL when it names what is searched for (%s)', async (_, fdt) => {
    const { tree } = open(node({}, { 'pcie-ep@1': node({ compatible: bytes(...Buffer.from('x,y-pcie-ep')) }), 'z@2': node({ compatible: bytes(0x61) }) }), fdt);
    await expect(tree.findCompatibleSuffix('-pcie-ep')).rejects.toThrow(`${DT_BASE}/pcie-ep@1/compatible: 11 bytes of strings without a final NUL`);
    expect(await tree.findCompatible('uart')).toEqual([]);
  });
});

describe('DeviceTree with a damaged /sys/firmware/fdt', () => {
  it('answers every phandle lookup as the walk does, whatever bytes of the blob are changed', async () => {
    const fc = (await import('fast-check')).default;
    const { encodeFdt } = await import('./fdt-encode.js');
    const { flatten } = await import('./spec.js');
    const blob = encodeFdt(flatten(boot, { symbols: true }));
    const walked = new DeviceTree(dtPort(boot, { symbols: true }));
    const expected = await Promise.all([1, 2, 3, 0x42].map((p) => walked.nodeByPhandle(p)));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ at: fc.nat(blob.length - 1), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 6 }), async (edits) => {
        const b = blob.slice();
        for (const e of edits) b[e.at] = e.value;
        const tree = new DeviceTree(dtPort(boot, { symbols: true, fdt: b }));
        expect(await Promise.all([1, 2, 3, 0x42].map((p) => tree.nodeByPhandle(p)))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
