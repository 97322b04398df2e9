import { describe, expect, it } from 'vitest';
import { checkFragment, fragmentHash, kconfigSymbols, parseConfig } from './kernel-config.js';

const FRAGMENT = `# comment
CONFIG_PCI_ENDPOINT=y
CONFIG_PCI_ENDPOINT_MSI_DOORBELL=y
CONFIG_NVME_TARGET_PCI_EPF=y
# CONFIG_STRICT_DEVMEM is not set
CONFIG_DEVMEM=y
`;

const KCONFIG = `
config PCI_ENDPOINT
\tbool "PCI Endpoint Support"
menuconfig NVME_TARGET_PCI_EPF
\ttristate "x"
config STRICT_DEVMEM
config DEVMEM
  config INDENTED
`;

describe('the kernel config fragment check', () => {
  it('parses set and unset options, skipping other comments', () => {
    expect(parseConfig(FRAGMENT)).toEqual([
      { name: 'PCI_ENDPOINT', value: 'y' },
      { name: 'PCI_ENDPOINT_MSI_DOORBELL', value: 'y' },
      { name: 'NVME_TARGET_PCI_EPF', value: 'y' },
      { name: 'STRICT_DEVMEM', value: 'n' },
      { name: 'DEVMEM', value: 'y' },
    ]);
  });

  it('reads config and menuconfig symbols from Kconfig text', () => {
    expect(kconfigSymbols(KCONFIG)).toEqual(['PCI_ENDPOINT', 'NVME_TARGET_PCI_EPF', 'STRICT_DEVMEM', 'DEVMEM', 'INDENTED']);
  });

  it('an option the release does not define is reported, not failed', () => {
    const dot = 'CONFIG_PCI_ENDPOINT=y\nCONFIG_NVME_TARGET_PCI_EPF=y\n# CONFIG_STRICT_DEVMEM is not set\nCONFIG_DEVMEM=y\n';
    const r = checkFragment(FRAGMENT, dot, new Set(kconfigSymbols(KCONFIG)));
    expect(r.dropped).toEqual([]);
    expect(r.notInRelease).toEqual(['PCI_ENDPOINT_MSI_DOORBELL']);
  });

  it('an option olddefconfig dropped is a failure naming it, and STRICT_DEVMEM left on is one too', () => {
    const dot = 'CONFIG_PCI_ENDPOINT=y\n# CONFIG_NVME_TARGET_PCI_EPF is not set\nCONFIG_STRICT_DEVMEM=y\n';
    const r = checkFragment(FRAGMENT, dot, new Set(kconfigSymbols(KCONFIG)));
    expect(r.dropped).toEqual([
      { name: 'NVME_TARGET_PCI_EPF', wanted: 'y', got: 'n' },
      { name: 'STRICT_DEVMEM', wanted: 'n', got: 'y' },
      { name: 'DEVMEM', wanted: 'y', got: 'n' },
    ]);
  });

  it('the cache key ignores comments and blank lines but not options', () => {
    const h = fragmentHash(FRAGMENT);
    expect(fragmentHash(`# another comment\n\n${FRAGMENT}`)).toBe(h);
    expect(fragmentHash(FRAGMENT.replace('CONFIG_DEVMEM=y', 'CONFIG_DEVMEM=n'))).not.toBe(h);
    expect(h).toMatch(/^[0-9a-f]{12}$/);
  });
});
