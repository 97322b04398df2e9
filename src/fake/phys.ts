// The simulated board's physical address space, as busybox devmem reaches it through /dev/mem:
// regions registered by what sits behind them (RAM the functions allocate for their BARs, the
// ITS's GITS_TRANSLATER, controller registers). Nothing answers outside a region: on arm64 the
// access takes an external abort and devmem dies with SIGBUS ("Bus error").
import type { AccessWidth } from '../kernel/port.js';

/**
 * Who makes an access: a CPU load/store (devmem), or a PCIe write from the host arriving through
 * an inbound window, tagged with the ITS DeviceID the EP's msi-map gives its requests.
 */
export type AccessSource = { kind: 'cpu' } | { kind: 'pcie'; deviceId: number | undefined };

export const CPU: AccessSource = { kind: 'cpu' };

export interface PhysRegion {
  /** What answers there, for messages ("ITS GITS_TRANSLATER", "pci_epf_test.0 BAR0"). */
  name: string;
  base: bigint;
  size: bigint;
  read(offset: bigint, width: AccessWidth): bigint;
  write(offset: bigint, width: AccessWidth, value: bigint, source?: AccessSource): void;
}

export class PhysicalBus {
  private readonly regions: PhysRegion[] = [];

  /** Adds a region; a later one shadows an earlier one where they overlap (an inbound window over RAM). */
  map(region: PhysRegion): void {
    this.regions.unshift(region);
  }

  /** Drops every region whose name starts with `prefix` (regions rebuilt from the model). */
  unmapAll(prefix: string): void {
    for (let i = this.regions.length - 1; i >= 0; i--) if (this.regions[i]!.name.startsWith(prefix)) this.regions.splice(i, 1);
  }

  unmap(name: string): void {
    const i = this.regions.findIndex((r) => r.name === name);
    if (i >= 0) this.regions.splice(i, 1);
  }

  /** The region answering a `width`-bit access at `addr`, with the offset inside it. */
  find(addr: bigint, width: AccessWidth): { region: PhysRegion; offset: bigint } | undefined {
    const bytes = BigInt(width / 8);
    for (const region of this.regions)
      if (addr >= region.base && addr + bytes <= region.base + region.size) return { region, offset: addr - region.base };
    return undefined;
  }
}
