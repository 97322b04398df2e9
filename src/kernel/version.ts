// Kernel releases: parse "7.3.4", "6.12.117+deb12-arm64", "6.1.0-56-arm64" and compare them,
// so behaviour that changed between versions can be written as ranges ("since 6.5").

export interface KernelVersion {
  major: number;
  minor: number;
  patch: number;
  /** The release string as the kernel prints it (uname -r). */
  release: string;
}

// The whole release is VERSION.PATCHLEVEL[.SUBLEVEL] and a local version of the characters
// scripts/setlocalversion and the distributions use (6.12.117+deb12-arm64, 7.3.0-rc2~exp1);
// anything else (control bytes, NUL, spaces) is not a release the kernel prints.
const RELEASE = /^(\d{1,3})\.(\d{1,3})(?:\.(\d{1,6}))?[0-9A-Za-z._+~-]*$/;

export function parseRelease(release: string): KernelVersion | undefined {
  const m = RELEASE.exec(release.trim());
  if (!m) return undefined;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  // include/generated/uapi/linux/version.h: KERNEL_VERSION() packs both into 8 bits.
  if (major > 255 || minor > 255) return undefined;
  return { major, minor, patch: Number(m[3] ?? 0), release: release.trim() };
}

/** Negative, zero or positive as `v` is older than, equal to or newer than `than` ("6.17"). */
export function compareVersion(v: KernelVersion, than: string): number {
  const t = parseRelease(than);
  if (!t) throw new Error(`not a kernel version: ${than}`);
  return v.major - t.major || v.minor - t.minor || v.patch - t.patch;
}

/** True when `v` is `since` or newer: atLeast(v, '6.5'). */
export function atLeast(v: KernelVersion, since: string): boolean {
  return compareVersion(v, since) >= 0;
}
