// Host prerequisites: every program the lane runs, and the Debian package that provides it
// (realkernel.md's list for Debian 12+). Missing ones are installed with apt-get when running
// as root; otherwise the lane stops and names the packages. It never skips silently.
import fs from 'node:fs';
import { execa } from 'execa';
import { LaneError } from './errors.js';
import { which } from './which.js';

/** A program (or header file) the lane needs, with its Debian package. */
interface Need {
  readonly pkg: string;
  readonly bin?: string;
  readonly file?: string;
}

/** What the lane needs on the host: QEMU, the DT compiler, the cross toolchain and kernel build tools. */
export const HOST_NEEDS: readonly Need[] = [
  { pkg: 'qemu-system-arm', bin: 'qemu-system-aarch64' },
  { pkg: 'device-tree-compiler', bin: 'dtc' },
  { pkg: 'gcc-aarch64-linux-gnu', bin: 'aarch64-linux-gnu-gcc' },
  { pkg: 'binutils-aarch64-linux-gnu', bin: 'aarch64-linux-gnu-ld' },
  { pkg: 'build-essential', bin: 'make' },
  { pkg: 'build-essential', bin: 'gcc' },
  { pkg: 'flex', bin: 'flex' },
  { pkg: 'bison', bin: 'bison' },
  { pkg: 'bc', bin: 'bc' },
  { pkg: 'libelf-dev', file: '/usr/include/gelf.h' },
  { pkg: 'libssl-dev', file: '/usr/include/openssl/ssl.h' },
  { pkg: 'cpio', bin: 'cpio' },
  { pkg: 'xz-utils', bin: 'xz' },
  { pkg: 'kmod', bin: 'depmod' },
  { pkg: 'rsync', bin: 'rsync' },
  { pkg: 'busybox-static', bin: 'busybox' },
  { pkg: 'apt', bin: 'apt-get' },
  { pkg: 'dpkg', bin: 'dpkg-deb' },
];

/** The packages whose program or file is missing, each once. */
export function missingPackages(needs: readonly Need[] = HOST_NEEDS): string[] {
  const missing = needs.filter((n) => (n.bin ? !which(n.bin) : !fs.existsSync(n.file!)));
  return [...new Set(missing.map((n) => n.pkg))];
}

/** Ensures every prerequisite is present, installing as root; returns the packages installed. */
export async function ensurePrerequisites(): Promise<string[]> {
  const missing = missingPackages();
  if (!missing.length) return [];
  const install = ['apt-get', 'install', '-y', '--no-install-recommends', ...missing].join(' ');
  if (process.getuid?.() !== 0)
    throw new LaneError('prerequisites', `missing host packages: ${missing.join(', ')}`, `run as root: ${install}`);
  try {
    await execa('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdout: 'inherit', stderr: 'inherit', env: { DEBIAN_FRONTEND: 'noninteractive' } });
  } catch (e) {
    throw new LaneError('prerequisites', `apt-get install of ${missing.join(', ')} failed`, `run it by hand to see why (${install}); an 'apt-get update' may be needed first`, { cause: e });
  }
  const still = missingPackages();
  if (still.length) throw new LaneError('prerequisites', `still missing after apt-get install: ${still.join(', ')}`, `install them by hand: apt-get install ${still.join(' ')}`);
  return missing;
}
