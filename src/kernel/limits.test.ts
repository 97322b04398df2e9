// The one table of read and archive limits (limits.ts).
import { describe, expect, it } from 'vitest';
import { ARCHIVE_LIMITS, ATTRIBUTE_LIMIT, DEFAULT_LIMIT, DT_PROPERTY_LIMIT, FDT_LIMIT, INTERRUPTS_LIMIT, KCONFIG_LIMITS, formatBytes, readLimit } from './limits.js';

describe('readLimit', () => {
  it('gives each class of kernel file its own limit', () => {
    expect(readLimit('/sys/kernel/config/pci_ep/functions/pci_epf_test/f/vendorid')).toBe(ATTRIBUTE_LIMIT);
    expect(readLimit('/sys/class/pci_epc/x/device/uevent')).toBe(ATTRIBUTE_LIMIT);
    expect(readLimit('/sys/firmware/devicetree/base/soc/pcie-ep@4c300000/msi-map')).toBe(DT_PROPERTY_LIMIT);
    expect(readLimit('/proc/device-tree/compatible')).toBe(DT_PROPERTY_LIMIT);
    expect(readLimit('/sys/firmware/fdt')).toBe(FDT_LIMIT);
    expect(readLimit('/proc/interrupts')).toBe(INTERRUPTS_LIMIT);
    expect(readLimit('/proc/config.gz')).toBe(KCONFIG_LIMITS.compressed);
    expect(readLimit('/boot/config-7.3.4')).toBe(KCONFIG_LIMITS.inflated);
    expect(readLimit('/proc/version')).toBe(DEFAULT_LIMIT);
  });

  it('covers a 64K-page attribute and says its limit in words', () => {
    expect(ATTRIBUTE_LIMIT.bytes).toBe(65536);
    for (const l of [ATTRIBUTE_LIMIT, DT_PROPERTY_LIMIT, FDT_LIMIT, INTERRUPTS_LIMIT, DEFAULT_LIMIT, KCONFIG_LIMITS.compressed, KCONFIG_LIMITS.inflated])
      expect(l.what).toContain(formatBytes(l.bytes));
  });

  it('orders the limits: an attribute < a property < the whole fdt, and inflated config > compressed', () => {
    expect(ATTRIBUTE_LIMIT.bytes).toBeLessThan(DT_PROPERTY_LIMIT.bytes);
    expect(DT_PROPERTY_LIMIT.bytes).toBeLessThan(FDT_LIMIT.bytes);
    expect(KCONFIG_LIMITS.compressed.bytes).toBeLessThan(KCONFIG_LIMITS.inflated.bytes);
    expect(ARCHIVE_LIMITS.compressed.bytes).toBeLessThan(ARCHIVE_LIMITS.inflated.bytes);
  });
});

describe('formatBytes', () => {
  it('writes whole KiB and MiB as such, anything else in bytes', () => {
    expect(formatBytes(65536)).toBe('64 KiB');
    expect(formatBytes(16 * 1024 * 1024)).toBe('16 MiB');
    expect(formatBytes(100)).toBe('100 bytes');
  });
});
