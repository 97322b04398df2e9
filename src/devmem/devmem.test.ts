import { describe, expect, it } from 'vitest';
import { dtPort } from '../../test/helpers/dt-port.js';
import { getBoard } from '../boards/index.js';
import { EXIT } from '../exit-codes.js';
import { KernelError } from '../kernel/errors.js';
import type { AccessWidth, KernelPort } from '../kernel/port.js';
import { PhysicalBus } from '../fake/phys.js';
import {
  checkAccess,
  devmem,
  DevmemAccessError,
  DevmemArgumentError,
  DevmemRefusedError,
  formatValue,
  parseAddress,
  parseRequest,
  parseValue,
  parseWidth,
} from './devmem.js';
import type { MemoryMap } from '../devicetree/reg.js';

/** A board's device tree with a physical bus behind peek/poke: RAM-like cells in each region. */
function board(name: string, regions: { name: string; base: bigint; size: bigint }[] = []): KernelPort & { log: string[] } {
  const b = getBoard(name);
  const bus = new PhysicalBus();
  const log: string[] = [];
  for (const r of regions) {
    const mem = new Map<bigint, bigint>();
    bus.map({
      ...r,
      read: (off, w) => {
        let v = 0n;
        for (let i = BigInt(w / 8) - 1n; i >= 0n; i--) v = (v << 8n) | (mem.get(off + i) ?? 0n);
        return v;
      },
      write: (off, w, value) => {
        for (let i = 0n; i < BigInt(w / 8); i++) mem.set(off + i, (value >> (8n * i)) & 0xffn);
      },
    });
  }
  const access = (addr: bigint, width: AccessWidth) => {
    const hit = bus.find(addr, width);
    if (!hit) throw new KernelError({ code: 'EIO', syscall: 'devmem', path: '/dev/mem', hint: `Bus error: nothing answers at 0x${addr.toString(16)}` });
    return hit;
  };
  return {
    ...dtPort(b.dt, { symbols: b.dtSymbols }),
    log,
    peek: async (addr, width) => {
      log.push(`peek ${addr.toString(16)} ${width}`);
      const h = access(addr, width);
      return h.region.read(h.offset, width);
    },
    poke: async (addr, width, value) => {
      log.push(`poke ${addr.toString(16)} ${width} ${value.toString(16)}`);
      const h = access(addr, width);
      h.region.write(h.offset, width, value);
    },
  };
}

const ITS = { name: 'ITS', base: 0x08080000n, size: 0x20000n };
const RAM = { name: 'RAM', base: 0x40000000n, size: 0x40000000n };

describe('parsers', () => {
  it('ADDR: 0x-hex (either case) or decimal, up to 64 bits', () => {
    expect(parseAddress('0x08090040')).toBe(0x08090040n);
    expect(parseAddress('0X8090040')).toBe(0x08090040n);
    expect(parseAddress('134807616')).toBe(0x08090040n);
    expect(parseAddress('0')).toBe(0n);
    expect(parseAddress('0xffffffffffffffff')).toBe((1n << 64n) - 1n);
    expect(parseAddress('0x0000000000000000ffffffffffffffff')).toBe((1n << 64n) - 1n);
  });

  it.each([
    ['', /empty/],
    ['0x', /0x without hex digits/],
    ['0x1_0000', /not a number/],
    [' 0x10', /not a number/],
    ['-4', /negative/],
    ['0755', /leading 0, which busybox devmem would read as octal/],
    ['0x10000000000000000', /does not fit in 64 bits/],
    ['18446744073709551616', /does not fit in 64 bits/],
    ['1e3', /not a number/],
    ['0x' + '0'.repeat(200), /longer than any 64-bit number/],
  ])('ADDR %j is refused with exit 64', (text, why) => {
    let err: unknown;
    try {
      parseAddress(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DevmemArgumentError);
    expect((err as DevmemArgumentError).exitCode).toBe(EXIT.USAGE);
    expect((err as Error).message).toMatch(why);
    expect((err as DevmemArgumentError).hint).toMatch(/0x-hex or decimal/);
  });

  it('WIDTH: 8/16/32/64, busybox letters b/h/w/l in either case, 32 by default', () => {
    expect(parseWidth(undefined)).toBe(32);
    expect(['8', '16', '32', '64', '008', '032'].map(parseWidth)).toEqual([8, 16, 32, 64, 8, 32]);
    expect(['b', 'h', 'w', 'l', 'B', 'H', 'W', 'L'].map(parseWidth)).toEqual([8, 16, 32, 64, 8, 16, 32, 64]);
  });

  it.each([['0'], ['24'], ['x'], ['bb'], ['32b'], [''], ['-8'], ['99999999999']])('WIDTH %j is refused', (text) => {
    expect(() => parseWidth(text)).toThrow(DevmemArgumentError);
    expect(() => parseWidth(text)).toThrow(/WIDTH/);
  });

  it('WIDTH 128 says why epctl does not take what some busybox builds do', () => {
    expect(() => parseWidth('128')).toThrow(/busybox built with 128-bit integers takes it/);
  });

  it('VALUE must fit the width', () => {
    expect(parseValue('0xff', 8)).toBe(0xffn);
    expect(() => parseValue('0x100', 8)).toThrow(/does not fit in 8 bits \(largest 0xFF\)/);
    expect(() => parseValue('65536', 16)).toThrow(/does not fit in 16 bits/);
    expect(parseValue('0xffffffffffffffff', 64)).toBe((1n << 64n) - 1n);
    expect(parseRequest('0x08090040', 'w', '0x0')).toEqual({ address: 0x08090040n, width: 32, value: 0n });
  });

  it('values print as busybox does: zero-padded upper-case hex, width/4 digits', () => {
    expect(formatValue(0x440n, 32)).toBe('0x00000440');
    expect(formatValue(0xabn, 8)).toBe('0xAB');
    expect(formatValue(1n, 64)).toBe('0x0000000000000001');
  });
});

describe('checkAccess', () => {
  const map: MemoryMap = {
    problems: [],
    ranges: [
      { node: '/memory@40000000', index: 0, name: undefined, base: 0x40000000n, size: 0x40000000n, kind: 'memory' },
      { node: '/reserved-memory/fake-epc@7e000000', index: 0, name: undefined, base: 0x7e000000n, size: 0x2000000n, kind: 'reserved' },
      { node: '/pcie-ep@7e000000', index: 1, name: 'mem', base: 0x7f000000n, size: 0x1000000n, kind: 'device' },
      { node: '/its', index: 0, name: undefined, base: 0x08080000n, size: 0x20000n, kind: 'device' },
    ],
  };

  it('names the most specific range: the device over the carve-out over RAM', () => {
    expect(checkAccess(map, { address: 0x7f000010n, width: 32 }).range?.node).toBe('/pcie-ep@7e000000');
    expect(checkAccess(map, { address: 0x7e000010n, width: 32 }).range?.node).toBe('/reserved-memory/fake-epc@7e000000');
    expect(checkAccess(map, { address: 0x40000000n, width: 64 }).range?.node).toBe('/memory@40000000');
  });

  it('refuses unaligned accesses even with --force, naming the aligned address', () => {
    const e = (() => {
      try {
        checkAccess(map, { address: 0x08090042n, width: 32, force: true });
      } catch (err) {
        return err as DevmemRefusedError;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(DevmemRefusedError);
    expect(e!.reason).toBe('unaligned');
    expect(e!.message).toMatch(/32-bit read at 0x08090042 is not aligned to 4 bytes.*--force does not lift this/);
    expect(e!.hint).toMatch(/0x08090040/);
  });

  it('refuses an address outside every range, naming the nearest range below', () => {
    let e: DevmemRefusedError | undefined;
    try {
      checkAccess(map, { address: 0x080a0000n, width: 32 });
    } catch (err) {
      e = err as DevmemRefusedError;
    }
    expect(e?.reason).toBe('outside');
    expect(e?.exitCode).toBe(EXIT.USAGE);
    expect(e?.message).toBe('32-bit read at 0x080a0000 lies in no reg range of an enabled device-tree node; the nearest range below is /its reg[0] [0x08080000, 0x080a0000)');
    expect(e?.hint).toMatch(/--force/);
  });

  it('mentions device-tree nodes it could not read, which may hold the address', () => {
    const problem = Object.assign(new Error('x'), { path: '/sys/firmware/devicetree/base/bad@0/reg', reason: '3 cells is not a whole number' });
    expect(() => checkAccess({ ranges: [], problems: [problem as never] }, { address: 0x1000n, width: 32 })).toThrow(
      /1 device-tree node could not be read and may hold it \(\/sys\/firmware\/devicetree\/base\/bad@0\/reg: 3 cells/,
    );
  });

  it('refuses a straddling access (aligned, half in a range)', () => {
    const m: MemoryMap = { problems: [], ranges: [{ node: '/dev', index: 2, name: 'regs', base: 0x1000n, size: 0x4n, kind: 'device' }] };
    let e: DevmemRefusedError | undefined;
    try {
      checkAccess(m, { address: 0x1000n, width: 64 });
    } catch (err) {
      e = err as DevmemRefusedError;
    }
    expect(e?.reason).toBe('straddles');
    expect(e?.node).toBe('/dev');
    expect(e?.message).toMatch(/64-bit read at 0x00001000 runs across the edge of \/dev reg\[2\] "regs" \[0x00001000, 0x00001004\)/);
  });

  it('refuses a write into plain RAM, saying why, unless --force; a read of RAM is fine', () => {
    expect(checkAccess(map, { address: 0x40001000n, width: 32 }).skipped).toEqual([]);
    expect(() => checkAccess(map, { address: 0x40001000n, width: 32, value: 1n })).toThrow(/stores into plain RAM \(\/memory@40000000 reg\[0\].*can corrupt the running kernel/);
    const v = checkAccess(map, { address: 0x40001000n, width: 32, value: 1n, force: true });
    expect(v.range?.node).toBe('/memory@40000000');
    expect(v.skipped).toEqual([expect.stringMatching(/stores into plain RAM/)]);
    // A carve-out inside RAM is not plain RAM.
    expect(checkAccess(map, { address: 0x7e000000n, width: 32, value: 1n }).skipped).toEqual([]);
  });

  it('refuses a write into a reusable (CMA) pool as it does RAM; a read is fine', () => {
    const m: MemoryMap = { problems: [], ranges: [{ node: '/reserved-memory/linux,cma', index: 0, name: undefined, base: 0x90000000n, size: 0x1000000n, kind: 'reserved', reusable: true }] };
    expect(checkAccess(m, { address: 0x90000000n, width: 32 }).range?.node).toBe('/reserved-memory/linux,cma');
    expect(() => checkAccess(m, { address: 0x90000000n, width: 32, value: 0n })).toThrow(/reusable \/reserved-memory pool .*can corrupt the running kernel/);
    expect(checkAccess(m, { address: 0x90000000n, width: 32, value: 0n, force: true }).skipped).toHaveLength(1);
  });

  it('--force lists exactly what it skipped, and nothing when nothing needed skipping', () => {
    expect(checkAccess(map, { address: 0x08090040n, width: 32, value: 0n, force: true }).skipped).toEqual([]);
    const v = checkAccess(map, { address: 0x10000000n, width: 32, force: true });
    expect(v.range).toBeUndefined();
    expect(v.skipped).toEqual([expect.stringMatching(/0x10000000 lies in no reg range/)]);
  });

  it('an address past 2^64 - width is refused', () => {
    expect(() => checkAccess(map, { address: (1n << 64n) - 4n, width: 64, force: true })).toThrow(DevmemRefusedError);
  });
});

describe('devmem on a board', () => {
  it('qemu-virt: reads GITS_TRANSLATER at 0x08090040 inside the ITS node', async () => {
    const port = board('qemu-virt', [ITS]);
    const r = await devmem(port, { address: 0x08090040n, width: 32 });
    expect(r).toMatchObject({ access: 'read', address: '0x08090040', width: 32, read: '0x00000000', written: null, forced: null });
    expect(r.reg).toEqual({ node: '/intc@8000000/its@8080000', index: 0, name: null, base: '0x08080000', size: '0x20000', kind: 'device' });
    expect(port.log).toEqual(['peek 8090040 32']);
  });

  it('a write is stored with the exact width, then read back', async () => {
    const port = board('qemu-virt', [{ name: 'fake-epc', base: 0x7e000000n, size: 0x2000000n }]);
    const r = await devmem(port, { address: 0x7f000002n, width: 16, value: 0xbeefn });
    expect(r).toMatchObject({ access: 'write', written: '0xBEEF', read: '0xBEEF', readBackDiffers: false });
    expect(r.reg).toMatchObject({ node: '/pcie-ep@7e000000', index: 1, name: 'mem' });
    expect(port.log).toEqual(['poke 7f000002 16 beef', 'peek 7f000002 16']);
  });

  it('--no-read-back stores without loading', async () => {
    const port = board('qemu-virt', [ITS]);
    const r = await devmem(port, { address: 0x08090040n, width: 32, value: 0n, noReadBack: true });
    expect(r).toMatchObject({ written: '0x00000000', read: null, readBackDiffers: null });
    expect(port.log).toEqual(['poke 8090040 32 0']);
  });

  it('a refused access touches nothing', async () => {
    const port = board('qemu-virt', [RAM]);
    await expect(devmem(port, { address: 0x40000000n, width: 32, value: 1n })).rejects.toThrow(DevmemRefusedError);
    await expect(devmem(port, { address: 0x20000000n, width: 32 })).rejects.toThrow(/lies in no reg range/);
    expect(port.log).toEqual([]);
  });

  it('--force reaches an address outside the tree and says what it skipped', async () => {
    const port = board('qemu-virt', [{ name: 'x', base: 0x20000000n, size: 0x1000n }]);
    const r = await devmem(port, { address: 0x20000000n, width: 8, force: true });
    expect(r.reg).toBeNull();
    expect(r.forced).toEqual([expect.stringMatching(/lies in no reg range/)]);
  });

  it('a forced store outside every reg range into /proc/iomem System RAM lists that too', async () => {
    const base = board('qemu-virt-no-msi', [{ name: 'ram', base: 0x80000000n, size: 0x1000n }]);
    const iomem = new TextEncoder().encode('40000000-7fffffff : System RAM\n80000000-bfffffff : System RAM\n');
    const port: KernelPort = { ...base, read: async (p) => (p === '/proc/iomem' ? iomem : base.read(p)) };
    const r = await devmem(port, { address: 0x80000000n, width: 32, value: 5n, force: true });
    expect(r.forced).toEqual([expect.stringMatching(/lies in no reg range/), expect.stringMatching(/stores into System RAM \[0x80000000, 0xc0000000\) of \/proc\/iomem/)]);
    // A read is not affected, and neither is a run without /proc/iomem.
    expect((await devmem(port, { address: 0x80000000n, width: 32, force: true })).forced).toHaveLength(1);
    expect((await devmem(base, { address: 0x80000000n, width: 32, value: 5n, force: true })).forced).toHaveLength(1);
  });

  it('imx95: the EP dbi entry of /soc/pcie-ep@4c300000 by name', async () => {
    const port = board('imx95', [{ name: 'dbi', base: 0x4c300000n, size: 0x10000n }]);
    const r = await devmem(port, { address: 0x4c300000n, width: 32 });
    expect(r.reg).toMatchObject({ node: '/soc/pcie-ep@4c300000', index: 0, name: 'dbi' });
    // The disabled RC node shares the dbi address; it is never the one reported. The gap between
    // the EP's dbi (64 KiB) and dbi2 entries is in no range.
    await expect(devmem(port, { address: 0x4c310000n, width: 32 })).rejects.toThrow(/lies in no reg range.*nearest range below is \/soc\/pcie-ep@4c300000 reg\[0\] "dbi"/);
  });

  it('a bus error becomes DevmemAccessError naming the address, width, node and the port\'s hint', async () => {
    const port = board('qemu-virt');
    let e: DevmemAccessError | undefined;
    try {
      await devmem(port, { address: 0x08090040n, width: 32 });
    } catch (err) {
      e = err as DevmemAccessError;
    }
    expect(e).toBeInstanceOf(DevmemAccessError);
    expect(e!.message).toBe("devmem read of 32 bits at 0x08090040 (/intc@8000000/its@8080000 reg[0]) failed: EIO: i/o error, devmem '/dev/mem'");
    expect(e!.hint).toMatch(/Bus error/);
    expect(e!.code).toBe('EIO');
    expect(e!.exitCode).toBe(EXIT.ERROR);
  });

  it('no device tree: refused (exit 7) unless --force', async () => {
    const b = getBoard('qemu-virt');
    const port: KernelPort = { ...dtPort(b.dt, { noDeviceTree: true }), peek: async () => 0x12n, poke: async () => undefined };
    await expect(devmem(port, { address: 0x1000n, width: 32 })).rejects.toMatchObject({ reason: 'no-device-tree', exitCode: EXIT.BAD_DATA });
    const r = await devmem(port, { address: 0x1000n, width: 32, force: true });
    expect(r).toMatchObject({ read: '0x00000012', reg: null });
    expect(r.forced).toEqual([expect.stringMatching(/lies in no reg range/)]);
  });
});
