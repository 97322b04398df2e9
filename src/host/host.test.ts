// The host protocol (pci-endpoint-test.ts, vntb.ts) against the simulated board: the same
// sequence the real host driver runs gives the observed 7.3.4 registers, and the client never
// sends the DISABLE that oopses the endpoint.
import { describe, it, expect } from 'vitest';
import type { AccessWidth } from '../kernel/port.js';
import type { HostBarAccess } from './access.js';
import * as test from './pci-endpoint-test.js';
import * as vntb from './vntb.js';
import { boot, mkLinkable, mkVntb, linkToEpc, linkPrimary, startEpc, QEMU_EPC, type FakeKernel } from '../../test/fake/helpers.js';

/** The fake's host as a HostBarAccess on function 0 of the qemu EPC, counting COMMAND writes. */
function access(fake: FakeKernel, log: { bar: number; offset: number; value: bigint }[] = []): HostBarAccess {
  return {
    read: (bar: number, offset: number, width: AccessWidth) => fake.host.barRead(QEMU_EPC, 0, bar, offset, width),
    write: (bar: number, offset: number, width: AccessWidth, value: bigint) => {
      log.push({ bar, offset, value });
      return fake.host.barWrite(QEMU_EPC, 0, bar, offset, width, value);
    },
  };
}

async function testFn(board = 'qemu-virt'): Promise<FakeKernel> {
  const fake = await boot('7.3', board);
  await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'func1'));
  await startEpc(fake);
  return fake;
}

describe('pci_endpoint_test doorbell steps', () => {
  it('enable → ring → disable: 0x440, 0x640, 0x1040', async () => {
    const fake = await testFn();
    const a = access(fake);
    expect(await test.enable(a)).toEqual({ ok: true, status: 0x440, dbBar: 1, dbOffset: 0x10040, dbData: 0 });
    expect(await test.ring(a)).toEqual({ ok: true, status: 0x640 });
    expect(await test.disable(a)).toEqual({ ok: true, status: 0x1040 });
    const regs = await test.readRegisters(a);
    expect(regs).toMatchObject({ dbBar: 0xffffffff, statusBits: ['IRQ_RAISED', 'DOORBELL_DISABLE_SUCCESS'] });
  });

  it('zeroStatus as pci_endpoint_test.c: STATUS reads 0x240 after the ring', async () => {
    const fake = await testFn();
    const a = access(fake);
    await test.enable(a);
    expect(await test.ring(a, { zeroStatus: true })).toEqual({ ok: true, status: 0x240 });
  });

  it('a failed ENABLE reports "Failed to enable doorbell" and DISABLE is refused without a write', async () => {
    const fake = await testFn('qemu-virt-msi-parent');
    const log: { bar: number; offset: number; value: bigint }[] = [];
    const a = access(fake, log);
    expect(await test.enable(a)).toEqual({ ok: false, status: 0x840, reason: 'Failed to enable doorbell' });
    const writes = log.length;
    await expect(test.disable(a)).rejects.toThrow(/DB_BAR is 0 after a failed ENABLE.*oops/);
    expect(log.length).toBe(writes);
    expect(fake.tainted).toBe(false);
    expect((await test.ring(a)).ok).toBe(false);
  });

  it('DISABLE with nothing enabled is refused too (fresh function: DB_BAR 0)', async () => {
    const fake = await testFn();
    await expect(test.disable(access(fake))).rejects.toBeInstanceOf(test.UnsafeDisableError);
  });

  it('a wrong data value rings nothing: "Failed to trigger doorbell in endpoint"', async () => {
    const fake = await testFn();
    const a = access(fake);
    await test.enable(a);
    expect(await test.ring(a, { data: 5, timeoutMs: 20 })).toEqual({ ok: false, status: 0x440, reason: 'Failed to trigger doorbell in endpoint' });
  });
});

describe('vNTB host side', () => {
  it('reads the ctrl region and rings doorbell i at db_offset[i]', async () => {
    const fake = await boot('7.3');
    const fn = await mkVntb(fake, 'v', 4);
    await linkPrimary(fake, fn);
    await startEpc(fake);
    const a = access(fake);
    const ctrl = await vntb.readCtrl(a, { ctrl: 0, db: 1 }, 4);
    expect(ctrl).toMatchObject({ spadOffset: 0x134, dbEntrySize: 0, doorbells: [0, 1, 2, 3].map((i) => ({ index: i, data: i, offset: 0x40 })) });
    expect(await vntb.ring(a, { ctrl: 0, db: 1 }, ctrl, 3)).toEqual({ offset: 0x40, data: 3 });
    const text = new TextDecoder().decode(await fake.read('/proc/interrupts'));
    const counts = text.split('\n').filter((l) => l.includes('pci_epf_vntb_db')).map((l) => l.trim().split(/\s+/)[1]);
    expect(counts).toEqual(['0', '0', '0', '1']);
  });

  it('polled doorbells: entry size 4, offset 0, data 1 + i', () => {
    const ctrl: vntb.VntbCtrl = { numMws: 0, spadOffset: 0x134, spadCount: 0, dbEntrySize: 4, doorbells: [0, 1, 2].map((i) => ({ index: i, data: 1 + i, offset: 0 })) };
    expect(vntb.doorbellTarget(ctrl, 2)).toEqual({ offset: 8, data: 3 });
    expect(() => vntb.doorbellTarget(ctrl, 3)).toThrow(RangeError);
  });
});
