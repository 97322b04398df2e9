// /proc/version → release (fs/proc/version.c's banner), and its typed error.
import { describe, expect, it } from 'vitest';
import { ProcVersionError, parseProcVersion, readKernelRelease } from './version.js';
import { EXIT } from '../exit-codes.js';
import type { KernelPort } from '../kernel/port.js';

describe('parseProcVersion', () => {
  it('takes the release after "Linux version" from the 7.3.4 lane banner', () => {
    const text =
      'Linux version 7.3.4 (builder@host) (aarch64-linux-gnu-gcc (Debian 14.2.0-19) 14.2.0, GNU ld 2.44) ' +
      '#1 PREEMPT Tue Sep 1 10:00:00 UTC 2026\n';
    expect(parseProcVersion(text)).toBe('7.3.4');
  });

  it('keeps a distribution suffix, as uname -r prints it', () => {
    const text =
      'Linux version 6.12.117+deb12-arm64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP Debian\n';
    expect(parseProcVersion(text)).toBe('6.12.117+deb12-arm64');
  });

  it('rejects text without the banner with exit code 7 and the path in the message', () => {
    for (const text of ['', 'Linux', 'Linux version \n', 'Linux version banana (x)', 'foo Linux version 6.1 (x)']) {
      let err: unknown;
      try {
        parseProcVersion(text, 'board/proc/version');
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(text)).toBeInstanceOf(ProcVersionError);
      expect((err as ProcVersionError).exitCode).toBe(EXIT.BAD_DATA);
      expect((err as ProcVersionError).message).toContain('board/proc/version');
    }
  });
});

describe('a release the kernel would not print', () => {
  it('is refused: bytes after the release that are not a local version, control characters, numbers past KERNEL_VERSION', () => {
    for (const text of ['Linux version 7.3.4\0junk (x)', 'Linux version 7.3.4\x1b[2J (x)', 'Linux version 99999999999999999999.1.1 (x)', 'Linux version 256.1 (x)', 'Linux version 7.3.4"; (x)'])
      expect(() => parseProcVersion(text), JSON.stringify(text)).toThrow(ProcVersionError);
    expect(parseProcVersion('Linux version 6.12.117+deb12-arm64 (x)')).toBe('6.12.117+deb12-arm64');
    expect(parseProcVersion('Linux version 7.3.0-rc2~exp1 (x)')).toBe('7.3.0-rc2~exp1');
  });
});

describe('readKernelRelease', () => {
  it('reads /proc/version through the port', async () => {
    const port = {
      read: async (path: string) => {
        if (path !== '/proc/version') throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
        return new TextEncoder().encode('Linux version 6.1.0-56-arm64 (x@y) (gcc) #1 SMP\n');
      },
    } as unknown as KernelPort;
    await expect(readKernelRelease(port)).resolves.toBe('6.1.0-56-arm64');
  });
});
