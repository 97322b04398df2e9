import { describe, expect, it } from 'vitest';
import { HOST_NEEDS, missingPackages } from './prereqs.js';

describe('host prerequisites', () => {
  it('names each package whose program or file is missing, once', () => {
    expect(
      missingPackages([
        { pkg: 'nodejs', bin: 'node' },
        { pkg: 'epctl-missing-a', bin: 'epctl-no-such-program' },
        { pkg: 'epctl-missing-a', bin: 'epctl-no-such-program-2' },
        { pkg: 'epctl-missing-b', file: '/nonexistent/epctl/header.h' },
      ]),
    ).toEqual(['epctl-missing-a', 'epctl-missing-b']);
  });

  it('covers every package of the documented install line', () => {
    const pkgs = new Set(HOST_NEEDS.map((n) => n.pkg));
    for (const p of ['qemu-system-arm', 'device-tree-compiler', 'gcc-aarch64-linux-gnu', 'binutils-aarch64-linux-gnu', 'build-essential', 'flex', 'bison', 'bc', 'libelf-dev', 'libssl-dev', 'cpio', 'xz-utils', 'kmod', 'rsync', 'busybox-static'])
      expect(pkgs).toContain(p);
  });
});
