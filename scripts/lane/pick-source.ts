// Which linux-source package and version the lane builds, from apt-cache output: the highest
// X.Y series at or above a floor (never the `linux-source` meta-package, whose priority picks
// sid over a newer backport), and its newest version (never a pinned one that may disappear).
import { compareDebianVersions } from './debian-version.js';

export interface Series {
  readonly name: string;
  readonly major: number;
  readonly minor: number;
}

/** Parses `apt-cache pkgnames linux-source-` output into linux-source-X.Y series (meta-package and others dropped). */
export function parseSeries(pkgnames: string): Series[] {
  const out: Series[] = [];
  for (const line of pkgnames.split('\n')) {
    const m = /^linux-source-(\d+)\.(\d+)$/.exec(line.trim());
    if (m) out.push({ name: m[0], major: Number(m[1]), minor: Number(m[2]) });
  }
  return out;
}

function cmpSeries(a: Series, b: Series): number {
  return a.major - b.major || a.minor - b.minor;
}

/** The highest series at or above `floor` ("6.19"), or undefined when the archive has none. */
export function pickNewestSeries(pkgnames: string, floor: string): Series | undefined {
  const [fM, fm] = floor.split('.').map(Number) as [number, number];
  const min: Series = { name: '', major: fM, minor: fm };
  return parseSeries(pkgnames)
    .filter((s) => cmpSeries(s, min) >= 0)
    .sort(cmpSeries)
    .at(-1);
}

/** The series named exactly `name` ("linux-source-6.12"), or undefined. */
export function findSeries(pkgnames: string, name: string): Series | undefined {
  return parseSeries(pkgnames).find((s) => s.name === name);
}

/**
 * The newest binary version of `pkg` in `apt-cache madison` output. Only `pkg | ver | … Packages`
 * rows count: madison also lists the `linux` source package's versions (`… Sources`), which are
 * not downloadable as linux-source-X.Y.
 */
export function newestVersion(madison: string, pkg: string): string | undefined {
  const versions: string[] = [];
  for (const line of madison.split('\n')) {
    const cols = line.split('|').map((c) => c.trim());
    if (cols.length < 3 || cols[0] !== pkg || !/\bPackages$/.test(cols[2]!)) continue;
    versions.push(cols[1]!);
  }
  return versions.sort(compareDebianVersions).at(-1);
}
