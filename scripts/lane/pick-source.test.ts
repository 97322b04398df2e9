import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareDebianVersions } from './debian-version.js';
import { newestVersion, pickNewestSeries } from './pick-source.js';

// Observed with the lane's private apt configuration (sid, trixie-backports, trixie), trimmed.
const MADISON = `linux-source-7.2 |   7.2.13-1 | http://deb.debian.org/debian sid/main amd64 Packages
linux-source-7.2 | 7.2.12-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages
linux-source-7.2 | 7.2.9-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages
     linux |   7.2.14-1 | http://deb.debian.org/debian sid/main Sources
linux-source-6.12 | 6.12.117-1 | http://deb.debian.org/debian trixie/main amd64 Packages
linux-source-6.12 | 6.12.107-1 | http://deb.debian.org/debian trixie/main amd64 Packages
`;

describe('picking the kernel source package', () => {
  it('takes the highest X.Y at or above the floor, never the meta-package', () => {
    const names = 'linux-source\nlinux-source-7.2\nlinux-source-7.3\nlinux-source-6.12\nlinux-source-7.10-rc\n';
    expect(pickNewestSeries(names, '6.19')?.name).toBe('linux-source-7.3');
    expect(pickNewestSeries('linux-source-6.12\nlinux-source-6.19\nlinux-source-6.9\n', '6.19')?.name).toBe('linux-source-6.19');
    expect(pickNewestSeries('linux-source-6.12\nlinux-source\n', '6.19')).toBeUndefined();
  });

  it('orders series numerically: 7.10 is newer than 7.9', () => {
    expect(pickNewestSeries('linux-source-7.9\nlinux-source-7.10\n', '6.19')?.name).toBe('linux-source-7.10');
  });

  it('takes the newest binary version from madison, ignoring the linux source rows', () => {
    expect(newestVersion(MADISON, 'linux-source-7.2')).toBe('7.2.13-1');
    expect(newestVersion(MADISON, 'linux-source-6.12')).toBe('6.12.117-1');
    expect(newestVersion(MADISON, 'linux-source-7.3')).toBeUndefined();
  });

  it('a backport (~bpo) sorts below the same version without it', () => {
    expect(compareDebianVersions('7.3.4-1~bpo13+1', '7.3.4-1')).toBeLessThan(0);
    expect(compareDebianVersions('7.3.4-1~bpo13+1', '7.2.13-1')).toBeGreaterThan(0);
    expect(compareDebianVersions('1:1.35.0-4', '1.36.0-1')).toBeGreaterThan(0);
  });

  const dpkg = (() => {
    try {
      execFileSync('dpkg', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  it.runIf(dpkg)('orders versions as dpkg --compare-versions does', () => {
    const part = fc.stringMatching(/^[0-9][0-9a-z.+~]{0,6}$/);
    const version = fc.tuple(fc.option(fc.nat(3), { nil: undefined }), part, fc.option(fc.stringMatching(/^[0-9a-z.+~]{1,5}$/), { nil: undefined }))
      .map(([e, u, r]) => `${e === undefined ? '' : `${e}:`}${u}${r === undefined ? '' : `-${r}`}`);
    fc.assert(
      fc.property(version, version, (a, b) => {
        const lt = (() => {
          try {
            execFileSync('dpkg', ['--compare-versions', a, 'lt', b]);
            return true;
          } catch {
            return false;
          }
        })();
        expect(compareDebianVersions(a, b) < 0).toBe(lt);
      }),
      { numRuns: 60 },
    );
  });
});
