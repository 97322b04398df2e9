// The memory behind a bound function's BARs (drivers/pci/endpoint/pci-epf-core.c
// pci_epf_alloc_space: dma_alloc_coherent, so zeroed) and the little-endian accessors the
// modelled drivers and the simulated host use on it. Kept in the model (EpfHostState) so a
// --mock-state file carries what the host wrote; physical addresses are assigned by
// kernel.ts from the model, never stored.
import type { AccessWidth } from '../kernel/port.js';
import type { EpfDevice, EpfHostState } from './model.js';

/** drivers/pci/endpoint/pci-epc-core.c: NO_BAR is -1, so DB_BAR reads 0xffffffff after cleanup. */
export const NO_BAR_U32 = 0xffffffff;

export function newHostState(bars: Readonly<Record<number, number>>): EpfHostState {
  const out: EpfHostState = { bars: {}, mem: {}, inbound: {} };
  for (const [bar, size] of Object.entries(bars)) {
    out.bars[bar] = size;
    out.mem[bar] = {};
  }
  return out;
}

/** Little-endian read of `width` bits at `offset` of BAR `bar`'s memory. */
export function memRead(h: EpfHostState, bar: number, offset: number, width: AccessWidth): bigint {
  const m = h.mem[String(bar)] ?? {};
  let v = 0n;
  for (let i = width / 8 - 1; i >= 0; i--) v = (v << 8n) | BigInt(m[String(offset + i)] ?? 0);
  return v;
}

/** Little-endian write; zero bytes are dropped from the sparse map (they read 0 anyway). */
export function memWrite(h: EpfHostState, bar: number, offset: number, width: AccessWidth, value: bigint): void {
  const key = String(bar);
  const m = (h.mem[key] ??= {});
  for (let i = 0; i < width / 8; i++) {
    const byte = Number((value >> BigInt(8 * i)) & 0xffn);
    if (byte === 0) delete m[String(offset + i)];
    else m[String(offset + i)] = byte;
  }
}

export const read32 = (h: EpfHostState, bar: number, offset: number): number => Number(memRead(h, bar, offset, 32));
export const write32 = (h: EpfHostState, bar: number, offset: number, value: number): void => memWrite(h, bar, offset, 32, BigInt(value >>> 0));

/** The smallest power of two ≥ n (roundup_pow_of_two). */
export function pow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** A bound function's BARs in ascending order, with sizes. */
export function hostBars(dev: EpfDevice): { bar: number; size: number }[] {
  return Object.entries(dev.host?.bars ?? {})
    .map(([bar, size]) => ({ bar: Number(bar), size }))
    .sort((a, b) => a.bar - b.bar);
}
