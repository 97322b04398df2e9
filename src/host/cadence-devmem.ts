// A HostBarAccess for a Cadence endpoint controller whose BARs the host is emulated for by CPU
// loads and stores at physical addresses (busybox devmem through the port's peek/poke), as the
// lane does under QEMU: a host's access to BAR b of function f lands where the controller's
// inbound translation for (f, b) points. cdns_pcie_ep_set_bar() writes that address into
// CDNS_PCIE_AT_IB_EP_FUNC_BAR_ADDR0/1(fn, bar) (low/high 32 bits) and cdns_pcie_ep_clear_bar()
// writes 0 to both (drivers/pci/controller/cadence/pcie-cadence-ep.c); the offsets are
// CDNS_PCIE_AT_BASE 0x400000 + 0x0840 + fn*0x40 + bar*8 (+4 for ADDR1) from the "reg" region
// (drivers/pci/controller/cadence/pcie-cadence.h).
//
// The targets are read from those registers at run time, never assumed: a read uses the BAR's
// target as last read, a write re-reads it first, and every write forgets all targets read so
// far (a host command such as pci-epf-test's ENABLE_DOORBELL points another BAR's window at the
// ITS: pci_epf_test_enable_doorbell() calls pci_epc_set_bar() again).
import type { AccessWidth } from '../kernel/port.js';
import type { HostBarAccess } from './access.js';

/** What this access needs of a port: one load or store of exactly `width` bits (KernelPort has both). */
export interface PhysAccess {
  peek(addr: bigint, width: AccessWidth): Promise<bigint>;
  poke(addr: bigint, width: AccessWidth, value: bigint): Promise<void>;
}

/** CDNS_PCIE_AT_IB_EP_FUNC_BAR_ADDR0(fn, bar) as an offset from the "reg" region (pcie-cadence.h). */
export function cadenceInboundAddr0(fn: number, bar: number): bigint {
  return 0x400000n + 0x0840n + BigInt(fn) * 0x40n + BigInt(bar) * 0x8n;
}

/** A BAR whose inbound window is cleared (both words 0): nothing of the endpoint answers there. */
export class ClearedBarError extends Error {}

export interface CadenceBarAccess extends HostBarAccess {
  /** BAR b's inbound target as the registers show it now (0n = cleared). */
  target(bar: number): Promise<bigint>;
  /** Every target read so far, by BAR (for reports). */
  readonly seen: ReadonlyMap<number, bigint>;
}

/**
 * The host side of function `fn` of the Cadence EPC whose "reg" region starts at `regBase`
 * (the platform device name's unit address: 7e000000.pcie-ep → 0x7e000000).
 */
export function cadenceBarAccess(phys: PhysAccess, opts: { regBase: bigint; fn?: number }): CadenceBarAccess {
  const fn = opts.fn ?? 0;
  if (!Number.isInteger(fn) || fn < 0 || fn > 7) throw new RangeError(`function ${fn} is outside 0..7`);
  const cache = new Map<number, bigint>();
  const seen = new Map<number, bigint>();
  const target = async (bar: number): Promise<bigint> => {
    if (!Number.isInteger(bar) || bar < 0 || bar > 5) throw new RangeError(`BAR ${bar} is outside 0..5`);
    const at = opts.regBase + cadenceInboundAddr0(fn, bar);
    const lo = await phys.peek(at, 32);
    const hi = await phys.peek(at + 4n, 32);
    const t = (hi << 32n) | lo;
    cache.set(bar, t);
    seen.set(bar, t);
    return t;
  };
  const where = async (bar: number, offset: number, width: AccessWidth, fresh: boolean): Promise<bigint> => {
    if (!Number.isInteger(offset) || offset < 0 || offset % (width / 8) !== 0) throw new RangeError(`offset ${offset} is not a ${width}-bit aligned BAR offset`);
    const t = (!fresh && cache.get(bar)) || (await target(bar));
    if (t === 0n) throw new ClearedBarError(`BAR${bar} of function ${fn} has no inbound window (CDNS_PCIE_AT_IB_EP_FUNC_BAR_ADDR0/1 read 0): the endpoint cleared it or never set it`);
    return t + BigInt(offset);
  };
  return {
    seen,
    target,
    read: async (bar, offset, width) => phys.peek(await where(bar, offset, width, false), width),
    write: async (bar, offset, width, value) => {
      const addr = await where(bar, offset, width, true);
      cache.clear();
      await phys.poke(addr, width, value);
    },
  };
}
