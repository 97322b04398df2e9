// Kernel .config parsing (scripts/kconfig's output) and the /proc/config.gz → /boot/config-<release>
// loader.
import { gzipSync } from 'node:zlib';
import { KernelError } from '../kernel/errors.js';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KernelConfigError, isEnabled, parseKernelConfig, readKernelConfig } from './kconfig.js';
import { EXIT } from '../exit-codes.js';
import type { KernelPort } from '../kernel/port.js';
import { KCONFIG_LIMITS } from '../kernel/limits.js';
import { SysrootKernel } from '../kernel/sysroot.js';
import { MemoryTree, memoryDir } from '../kernel/memory-tree.js';
import type { KernelConfigSkip } from './kconfig.js';

const SAMPLE = [
  '#',
  '# Automatically generated file; DO NOT EDIT.',
  '# Linux/arm64 7.3.4 Kernel Configuration',
  '#',
  'CONFIG_CC_VERSION_TEXT="aarch64-linux-gnu-gcc (Debian 14.2.0-19) 14.2.0"',
  'CONFIG_PCI_ENDPOINT=y',
  'CONFIG_PCI_ENDPOINT_CONFIGFS=y',
  'CONFIG_PCI_EPF_TEST=m',
  '# CONFIG_PCI_EPF_NTB is not set',
  'CONFIG_NR_CPUS=512',
  'CONFIG_ARM64_PA_BITS=48',
  'CONFIG_PAGE_OFFSET=0xffff000000000000',
  'CONFIG_CMDLINE="console=\\"ttyAMA0\\" path=C:\\\\x"',
  '',
].join('\n');

describe('parseKernelConfig', () => {
  it('maps y, m, is-not-set, strings, ints and hex to values keyed without CONFIG_', () => {
    const values = parseKernelConfig(SAMPLE);
    expect(values.get('PCI_ENDPOINT')).toBe('y');
    expect(values.get('PCI_EPF_TEST')).toBe('m');
    expect(values.get('PCI_EPF_NTB')).toBe('n');
    expect(values.get('NR_CPUS')).toBe('512');
    expect(values.get('PAGE_OFFSET')).toBe('0xffff000000000000');
    expect(values.get('CC_VERSION_TEXT')).toBe('aarch64-linux-gnu-gcc (Debian 14.2.0-19) 14.2.0');
    expect(values.get('CMDLINE')).toBe('console="ttyAMA0" path=C:\\x');
    expect(values.size).toBe(9);
    expect(isEnabled(values, 'PCI_EPF_TEST')).toBe(true);
    expect(isEnabled(values, 'PCI_EPF_NTB')).toBe(false);
    expect(isEnabled(values, 'PCI_ENDPOINT_MSI_DOORBELL')).toBe(false);
  });

  it('skips lines it does not recognise and lets a later line win', () => {
    const values = parseKernelConfig('CONFIG_=y\nCONFIG_A\nCONFIG_B="open\n# CONFIG_C is set\nCONFIG_D=y\r\nCONFIG_D=m\n');
    expect([...values]).toEqual([['D', 'm']]);
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        parseKernelConfig(text);
      }),
    );
  });
});

function portWith(files: Record<string, Uint8Array | string>): KernelPort {
  return {
    read: async (path: string) => {
      const f = files[path];
      // A port throws KernelErrors, as every backend does.
      if (f === undefined) throw new KernelError({ code: 'ENOENT', syscall: 'open', path });
      if (f === 'EACCES') throw new KernelError({ code: 'EACCES', syscall: 'open', path });
      return typeof f === 'string' ? new TextEncoder().encode(f) : f;
    },
  } as unknown as KernelPort;
}

describe('readKernelConfig', () => {
  it('prefers /proc/config.gz, gunzipped', async () => {
    const port = portWith({ '/proc/config.gz': gzipSync(SAMPLE), '/boot/config-7.3.4': 'CONFIG_X=y\n' });
    const got = await readKernelConfig(port, '7.3.4');
    expect(got?.source).toBe('/proc/config.gz');
    expect(got?.values.get('PCI_ENDPOINT_CONFIGFS')).toBe('y');
  });

  it('falls back to /boot/config-<release> when /proc/config.gz is missing or unreadable', async () => {
    for (const gz of [undefined, 'EACCES']) {
      const files: Record<string, string> = { '/boot/config-6.12.117+deb12-arm64': 'CONFIG_PCI_ENDPOINT=y\n' };
      if (gz) files['/proc/config.gz'] = gz;
      const got = await readKernelConfig(portWith(files), '6.12.117+deb12-arm64');
      expect(got?.source).toBe('/boot/config-6.12.117+deb12-arm64');
      expect(got?.values.get('PCI_ENDPOINT')).toBe('y');
    }
  });

  it('returns undefined when neither file can be read, and never builds a path from a release with "/"', async () => {
    await expect(readKernelConfig(portWith({}), '7.3.4')).resolves.toBeUndefined();
    await expect(readKernelConfig(portWith({ '/boot/config-../x': 'CONFIG_A=y' }), '../x')).resolves.toBeUndefined();
  });

  it('reports a /proc/config.gz that is not gzip data with exit code 7', async () => {
    const err = await readKernelConfig(portWith({ '/proc/config.gz': 'CONFIG_A=y\n' }), '7.3.4').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelConfigError);
    expect((err as KernelConfigError).exitCode).toBe(EXIT.BAD_DATA);
    expect((err as KernelConfigError).message).toContain('/proc/config.gz');
  });

  it('skips a /proc/config.gz that inflates past the cap (a gzip bomb) with a note naming the cap, and falls back', async () => {
    const bomb = gzipSync(Buffer.alloc(KCONFIG_LIMITS.inflated.bytes + 1, 0x41));
    expect(bomb.length).toBeLessThan(KCONFIG_LIMITS.compressed.bytes);
    const skipped: KernelConfigSkip[] = [];
    await expect(readKernelConfig(portWith({ '/proc/config.gz': bomb }), '7.3.4', skipped)).resolves.toBeUndefined();
    expect(skipped).toEqual([{ path: '/proc/config.gz', code: 'EFBIG', reason: expect.stringContaining('16 MiB') }]);
    const got = await readKernelConfig(portWith({ '/proc/config.gz': bomb, '/boot/config-7.3.4': 'CONFIG_PCI_ENDPOINT=y\n' }), '7.3.4');
    expect(got?.source).toBe('/boot/config-7.3.4');
  });

  it("skips a /proc/config.gz the port refuses (over its read limit, a FIFO) with the port's reason", async () => {
    const root = memoryDir();
    const proc = memoryDir();
    root.children.set('proc', proc);
    proc.children.set('config.gz', { kind: 'file', mode: 0o444, bytes: new Uint8Array(KCONFIG_LIMITS.compressed.bytes + 1) });
    const skipped: KernelConfigSkip[] = [];
    const port = new SysrootKernel(new MemoryTree(root), 'board.tar.gz');
    await expect(readKernelConfig(port, '7.3.4', skipped)).resolves.toBeUndefined();
    expect(skipped).toEqual([{ path: '/proc/config.gz', code: 'EFBIG', reason: expect.stringContaining('4 MiB') }]);
    proc.children.set('config.gz', { kind: 'fifo', mode: 0o444 });
    skipped.length = 0;
    await expect(readKernelConfig(new SysrootKernel(new MemoryTree(root), 'board.tar.gz'), '7.3.4', skipped)).resolves.toBeUndefined();
    expect(skipped[0]?.reason).toContain('FIFO');
  });
});
