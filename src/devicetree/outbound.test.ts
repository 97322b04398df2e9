// The outbound window count an EP node states (outbound.ts): Cadence's property, which the
// driver uses, before DesignWare's deprecated one; none when the node states neither.
import { describe, expect, it } from 'vitest';
import { dtPort } from '../../test/helpers/dt-port.js';
import { cells, node, str, type DtValue } from './spec.js';
import { DeviceTree } from './tree.js';
import { DtParseError } from './decode.js';
import { outboundWindows } from './outbound.js';

const treeWith = (props: Record<string, DtValue>): DeviceTree =>
  new DeviceTree(dtPort(node({ '#address-cells': cells(1), '#size-cells': cells(1) }, { 'pcie-ep@1000': node({ compatible: str('x,pcie-ep'), ...props }) })));

describe('outboundWindows', () => {
  it('reads cdns,max-outbound-regions, else num-ob-windows, else nothing', async () => {
    expect(await outboundWindows(treeWith({ 'cdns,max-outbound-regions': cells(16) }), '/pcie-ep@1000')).toEqual({ count: 16, property: 'cdns,max-outbound-regions' });
    expect(await outboundWindows(treeWith({ 'num-ob-windows': cells(8) }), '/pcie-ep@1000')).toEqual({ count: 8, property: 'num-ob-windows' });
    expect(await outboundWindows(treeWith({ 'num-ob-windows': cells(8), 'cdns,max-outbound-regions': cells(4) }), '/pcie-ep@1000')).toEqual({ count: 4, property: 'cdns,max-outbound-regions' });
    expect(await outboundWindows(treeWith({}), '/pcie-ep@1000')).toBeUndefined();
  });

  it('refuses a value that is not one u32', async () => {
    await expect(outboundWindows(treeWith({ 'num-ob-windows': cells(8, 8) }), '/pcie-ep@1000')).rejects.toBeInstanceOf(DtParseError);
  });
});
