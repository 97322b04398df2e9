import { describe, expect, it } from 'vitest';
import { dtPort, DT_BASE } from '../../test/helpers/dt-port.js';
import { EXIT } from '../exit-codes.js';
import { bytes, cells, flag, node, ref, str, u8 } from './spec.js';
import { DtParseError } from './decode.js';
import { DeviceTree, DtMissingError, DtReadError, nodeName, parentPath, unitAddress } from './tree.js';

// A cut-down i.MX95 (imx95.dtsi): GIC with its ITS child, /soc simple-bus with the EP node.
const board = node({ '#address-cells': cells(2), '#size-cells': cells(2), compatible: str('fsl,imx95-19x19-evk', 'fsl,imx95') }, {
  'interrupt-controller@48000000': node(
    { compatible: str('arm,gic-v3'), '#address-cells': cells(2), '#size-cells': cells(2), 'interrupt-controller': flag() },
    {
      'msi-controller@48040000': node(
        { compatible: str('arm,gic-v3-its'), 'msi-controller': flag(), '#msi-cells': cells(1), reg: cells(0, 0x48040000, 0, 0x20000) },
        {},
        'its',
      ),
    },
    'gic',
  ),
  soc: node({ compatible: str('simple-bus'), '#address-cells': cells(2), '#size-cells': cells(2) }, {
    'pcie-ep@4c300000': node(
      {
        compatible: str('fsl,imx95-pcie-ep'),
        reg: cells(0, 0x4c300000, 0, 0x10000, 0x9, 0, 1, 0),
        'reg-names': str('dbi', 'addr_space'),
        'msi-map': cells(0, ref('its'), 0x10, 1),
        'max-functions': u8(2),
        status: str('okay'),
      },
      {},
      'pcie0_ep',
    ),
    'pcie-ep@4c380000': node({ compatible: str('fsl,imx95-pcie-ep'), status: str('disabled') }, {}, 'pcie1_ep'),
    'bus@5f000000': node({ compatible: str('simple-bus') }, { 'thing@0': node({ reg: cells(0x5f000000, 0x100) }) }),
  }),
});

const open = (opts: Parameters<typeof dtPort>[1] = { symbols: true }) => {
  const port = dtPort(board, opts);
  return { port, tree: new DeviceTree(port) };
};

describe('DeviceTree', () => {
  // observed 6.12 (drivers/of/kobj.c): node dirs hold property files and child dirs
  it('lists a node\'s children and properties apart, in kernel order', async () => {
    const { tree } = open();
    expect(await tree.children('/soc')).toEqual(['pcie-ep@4c300000', 'pcie-ep@4c380000', 'bus@5f000000']);
    expect(await tree.properties('/soc/pcie-ep@4c300000')).toEqual(['compatible', 'reg', 'reg-names', 'msi-map', 'max-functions', 'status', 'name', 'phandle']);
    expect(await tree.exists('/soc/pcie-ep@4c300000')).toBe(true);
    expect(await tree.exists('/soc/nope@0')).toBe(false);
    expect(await tree.children('/soc/nope@0')).toEqual([]);
  });

  it('reads missing properties as undefined', async () => {
    const { tree } = open();
    expect(await tree.raw('/soc/pcie-ep@4c300000', 'msi-parent')).toBeUndefined();
    expect(await tree.raw('/soc/nope@0', 'reg')).toBeUndefined();
  });

  it('refuses, naming the path, a property that is a directory or a node that is a file: that is a broken tree, not a missing property', async () => {
    const { tree } = open();
    await expect(tree.raw('/soc', 'pcie-ep@4c300000')).rejects.toMatchObject({ name: 'DtReadError', path: '/sys/firmware/devicetree/base/soc/pcie-ep@4c300000', code: 'EISDIR' });
    await expect(tree.raw('/soc/pcie-ep@4c300000/reg', 'x')).rejects.toMatchObject({ name: 'DtReadError', code: 'ENOTDIR' });
  });

  // observed 6.12 (drivers/of/kobj.c): a missing status means enabled
  it('reads status as "okay" when absent and knows "ok" and "okay" as available', async () => {
    const { tree } = open();
    expect(await tree.status('/soc')).toBe('okay');
    expect(await tree.status('/soc/pcie-ep@4c380000')).toBe('disabled');
    expect(await tree.available('/soc/pcie-ep@4c300000')).toBe(true);
    expect(await tree.available('/soc/pcie-ep@4c380000')).toBe(false);
  });

  it('reads compatible lists, typed values and reg pairs by the parent\'s cell counts', async () => {
    const { tree } = open();
    const ep = '/soc/pcie-ep@4c300000';
    expect(await tree.compatible(ep)).toEqual(['fsl,imx95-pcie-ep']);
    expect(await tree.compatible('/soc/bus@5f000000/thing@0')).toEqual([]);
    expect(await tree.u8(ep, 'max-functions')).toBe(2);
    expect(await tree.strings(ep, 'reg-names')).toEqual(['dbi', 'addr_space']);
    expect(await tree.flag('/interrupt-controller@48000000/msi-controller@48040000', 'msi-controller')).toBe(true);
    expect(await tree.reg(ep)).toEqual([
      { address: 0x4c300000n, size: 0x10000n },
      { address: 0x9_0000_0000n, size: 0x1_0000_0000n },
    ]);
  });

  // drivers/of/base.c: of_bus_n_addr_cells walks up; DT defaults 2 and 1
  it('takes #address-cells/#size-cells from the nearest ancestor that has them, else 2 and 1', async () => {
    const { tree } = open();
    expect(await tree.addressCells('/soc/bus@5f000000/thing@0')).toBe(2);
    const bare = new DeviceTree(dtPort(node({}, { 'a@0': node({ reg: cells(0, 1, 2) }) })));
    expect(await bare.addressCells('/a@0')).toBe(2);
    expect(await bare.sizeCells('/a@0')).toBe(1);
    expect(await bare.reg('/a@0')).toEqual([{ address: 1n, size: 2n }]);
  });

  it('refuses a reg that is not whole (address, size) entries', async () => {
    const tree = new DeviceTree(dtPort(node({ '#address-cells': cells(1), '#size-cells': cells(1) }, { 'a@0': node({ reg: cells(1, 2, 3) }) })));
    await expect(tree.reg('/a@0')).rejects.toThrow(/3 cells is not a whole number of \(1 address \+ 1 size\)-cell entries/);
  });

  // observed 6.12 (drivers/of/kobj.c): a phandle resolves to the node whose phandle file holds the same 4 bytes
  it('resolves phandles to node paths with one walk of the tree', async () => {
    const { tree, port } = open();
    const its = '/interrupt-controller@48000000/msi-controller@48040000';
    const ph = await tree.phandle(its);
    expect(ph).toBe(1);
    expect(await tree.nodeByPhandle(1)).toBe(its);
    expect(await tree.nodeByPhandle(0x42)).toBeUndefined();
    expect(await tree.nodeByPhandle(0)).toBeUndefined();
    const walked = port.calls.length;
    expect(await tree.findCompatible('arm,gic-v3-its')).toEqual([its]);
    expect(await tree.findCompatible('simple-bus')).toEqual(['/soc', '/soc/bus@5f000000']);
    expect(await tree.nodeByPhandle(1)).toBe(its);
    expect(port.calls.length).toBe(walked);
  });

  it('knows the legacy linux,phandle property', async () => {
    const tree = new DeviceTree(dtPort(node({}, { 'x@1': node({ 'linux,phandle': cells(7) }) })));
    expect(await tree.nodeByPhandle(7)).toBe('/x@1');
  });

  it('leaves a node with a malformed compatible out of compatible lookups instead of failing them', async () => {
    const tree = new DeviceTree(dtPort(node({}, { 'bad@0': node({ compatible: bytes(0x61) }), 'its@1': node({ compatible: str('arm,gic-v3-its') }) })));
    expect(await tree.findCompatible('arm,gic-v3-its')).toEqual(['/its@1']);
    await expect(tree.compatible('/bad@0')).rejects.toBeInstanceOf(DtParseError);
  });

  // observed 6.12 (drivers/of/kobj.c): __symbols__/its = "/intc@8000000/its@8080000\0" (dtc -@)
  it('maps labels to paths and paths to labels through __symbols__', async () => {
    const { tree } = open();
    expect(await tree.labelPath('its')).toBe('/interrupt-controller@48000000/msi-controller@48040000');
    expect(await tree.pathLabel('/soc/pcie-ep@4c300000')).toBe('pcie0_ep');
    expect(await tree.pathLabel('/soc')).toBeUndefined();
    expect(await tree.findCompatible('arm,gic-v3')).toEqual(['/interrupt-controller@48000000']);
  });

  it('has no labels when the DTB was built without symbols', async () => {
    const { tree } = open({ symbols: false });
    expect(await tree.labelPath('its')).toBeUndefined();
    expect(await tree.pathLabel('/soc/pcie-ep@4c300000')).toBeUndefined();
  });

  it('reads each file once per instance', async () => {
    const { tree, port } = open();
    await tree.compatible('/soc/pcie-ep@4c300000');
    await tree.compatible('/soc/pcie-ep@4c300000');
    await Promise.all([tree.children('/soc'), tree.children('/soc')]);
    expect(port.calls.filter((c) => c === `open ${DT_BASE}/soc/pcie-ep@4c300000/compatible`)).toHaveLength(1);
    expect(port.calls.filter((c) => c === `scandir ${DT_BASE}/soc`)).toHaveLength(1);
  });

  it('says the kernel exposes no device tree when the base directory is missing', async () => {
    const tree = new DeviceTree(dtPort(board, { noDeviceTree: true }));
    const e = await tree.compatible('/soc').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DtMissingError);
    expect((e as DtMissingError).path).toBe(DT_BASE);
    expect((e as DtMissingError).exitCode).toBe(EXIT.BAD_DATA);
    expect((e as Error).message).toMatch(/^\/sys\/firmware\/devicetree\/base: no such directory; the kernel exposes no device tree here — an ACPI/);
    await expect(tree.nodeByPhandle(1)).rejects.toBeInstanceOf(DtMissingError);
  });

  it('names the file when a property cannot be read (EACCES, EIO)', async () => {
    const p = `${DT_BASE}/soc/pcie-ep@4c300000/msi-map`;
    const tree = new DeviceTree(dtPort(board, { faults: { [p]: 'EACCES', [`${DT_BASE}/soc/pcie-ep@4c380000`]: 'EIO' } }));
    const e = (await tree.raw('/soc/pcie-ep@4c300000', 'msi-map').catch((x: unknown) => x)) as DtReadError;
    expect(e).toBeInstanceOf(DtReadError);
    expect(e.path).toBe(p);
    expect(e.message).toBe(`${p}: permission denied; run epctl as root or fix the mode of the recorded file`);
    await expect(tree.children('/soc/pcie-ep@4c380000')).rejects.toThrow(/pcie-ep@4c380000: EIO while reading it/);
  });
});

describe('node path helpers', () => {
  it('split DT paths into parent, name and unit address', () => {
    expect(parentPath('/soc/pcie-ep@4c300000')).toBe('/soc');
    expect(parentPath('/soc')).toBe('/');
    expect(parentPath('/')).toBeUndefined();
    expect(nodeName('/soc/pcie-ep@4c300000')).toBe('pcie-ep@4c300000');
    expect(unitAddress('/soc/pcie-ep@4c300000')).toBe('4c300000');
    expect(unitAddress('/soc')).toBeUndefined();
  });
});
