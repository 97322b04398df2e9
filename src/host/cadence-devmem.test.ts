// The devmem host of a Cadence EPC on the simulated QEMU board: the BAR targets come from the
// inbound-translation registers the fake now serves, and the same src/host protocol run over
// CPU loads and stores gives what the simulated host's own BAR access gives.
import { describe, it, expect } from 'vitest';
import { cadenceBarAccess, cadenceInboundAddr0, ClearedBarError } from './cadence-devmem.js';
import * as test from './pci-endpoint-test.js';
import * as vntb from './vntb.js';
import { boot, mkLinkable, mkVntb, linkToEpc, linkPrimary, startEpc } from '../../test/fake/helpers.js';

const REG = 0x7e000000n;

describe('cadenceBarAccess', () => {
  it('computes CDNS_PCIE_AT_IB_EP_FUNC_BAR_ADDR0(fn, bar)', () => {
    expect(cadenceInboundAddr0(0, 0)).toBe(0x400840n);
    expect(cadenceInboundAddr0(0, 1)).toBe(0x400848n);
    expect(cadenceInboundAddr0(1, 2)).toBe(0x400890n);
  });

  it('vNTB: ctrl read and doorbells rung through the ITS page the BAR1 window points at', async () => {
    const fake = await boot('7.3', 'qemu-virt');
    await linkPrimary(fake, await mkVntb(fake, 'v', 4));
    await startEpc(fake);
    const a = cadenceBarAccess(fake, { regBase: REG });
    expect(await a.target(1)).toBe(0x08090000n);
    const ctrl = await vntb.readCtrl(a, { ctrl: 0, db: 1 }, 4);
    expect(ctrl.doorbells).toEqual([0, 1, 2, 3].map((i) => ({ index: i, data: i, offset: 0x40 })));
    await vntb.ring(a, { ctrl: 0, db: 1 }, ctrl, 2);
    await vntb.ring(a, { ctrl: 0, db: 1 }, ctrl, 2);
    const text = new TextDecoder().decode(await fake.read('/proc/interrupts'));
    const counts = text.split('\n').filter((l) => l.includes('pci_epf_vntb_db')).map((l) => Number(l.trim().split(/\s+/)[1]));
    expect(counts).toEqual([0, 0, 2, 0]);
  });

  it('pci-epf-test: enable, ring, disable as the host driver does, over CPU loads and stores', async () => {
    const fake = await boot('7.3', 'qemu-virt');
    await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'func1'));
    await startEpc(fake);
    const a = cadenceBarAccess(fake, { regBase: REG });
    expect(await test.enable(a)).toEqual({ ok: true, status: 0x440, dbBar: 1, dbOffset: 0x10040, dbData: 0 });
    expect(await a.target(1)).toBe(0x08080000n);
    expect(await test.ring(a)).toEqual({ ok: true, status: 0x640 });
    expect(await test.disable(a)).toEqual({ ok: true, status: 0x1040 });
  });

  it('a BAR with no window is refused, not read at address 0', async () => {
    const fake = await boot('7.3', 'qemu-virt');
    const a = cadenceBarAccess(fake, { regBase: REG });
    await expect(a.read(0, 0, 32)).rejects.toThrow(ClearedBarError);
  });
});
