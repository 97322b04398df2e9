// How the host side reaches an endpoint function: little-endian reads and writes of its BARs,
// as the host's driver does them with readl/writel on the mapped BARs. Implemented by the
// simulated host (the fake kernel's `host`) and, on a lab, by whatever maps the BARs.
import type { AccessWidth } from '../kernel/port.js';

export interface HostBarAccess {
  read(bar: number, offset: number, width: AccessWidth): Promise<bigint>;
  write(bar: number, offset: number, width: AccessWidth, value: bigint): Promise<void>;
}

/** How long the host waits for the endpoint and how often it looks. */
export interface WaitOptions {
  /** The host driver waits 1 s for each completion (pci_endpoint_test.c). */
  timeoutMs?: number;
  pollMs?: number;
}

export const read32 = async (a: HostBarAccess, bar: number, offset: number): Promise<number> => Number(await a.read(bar, offset, 32));
export const write32 = (a: HostBarAccess, bar: number, offset: number, value: number): Promise<void> => a.write(bar, offset, 32, BigInt(value >>> 0));

/** Polls `probe` until it returns true or the timeout passes; resolves to whether it did. */
export async function waitFor(probe: () => Promise<boolean>, opts: WaitOptions = {}): Promise<boolean> {
  const timeout = opts.timeoutMs ?? 1000;
  const poll = opts.pollMs ?? 1;
  const end = Date.now() + timeout;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, poll));
  }
}
