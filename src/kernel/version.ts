// Kernel releases: parse "7.3.4", "6.12.117+deb12-arm64", "6.1.0-56-arm64" and compare them,
// so behaviour that changed between versions can be written as ranges ("since 6.5").

export interface KernelVersion {
  major: number;
  minor: number;
  patch: number;
  /** The release string as the kernel prints it (uname -r). */
  release: string;
}

const RELEASE = /^(\d+)\.(\d+)(?:\.(\d+))?/;

export function parseRelease(release: string): KernelVersion | undefined {
  const m = RELEASE.exec(release.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), release: release.trim() };
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
