// The two kernels the lane boots: the newest linux-source-X.Y ≥ 6.19 the archive offers, and
// the 6.12 LTS Debian stable ships. Each is downloaded (never installed), unpacked, configured
// from tinyconfig plus the lane's fragment, checked, and built into an arm64 Image, every step
// cached by the exact package version and the fragment's hash.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { aptCache, aptDownload, type AptConfig } from './apt.js';
import { hashOf, isDone, markDone, requireFreeDisk, safeKey } from './cache.js';
import { LaneError } from './errors.js';
import { laneFile } from './paths.js';
import { checkFragment, describeDropped, fragmentHash, kconfigSymbols, type FragmentCheck } from './kernel-config.js';
import { findSeries, newestVersion, pickNewestSeries } from './pick-source.js';
import type { Steps } from './steps.js';

/** Which kernel: the newest series at or above the doorbell floor, or the stable LTS. */
export type KernelChoice = 'newest' | 'lts';

/** The newest series must carry the vNTB MSI doorbell (v6.19, dc693d606644). */
export const NEWEST_FLOOR = '6.19';
/** The LTS series Debian stable (trixie) ships. */
export const LTS_SERIES = 'linux-source-6.12';

/** The lane's committed config fragment. */
export const FRAGMENT = laneFile('kernel.config');

export interface BuiltKernel {
  readonly choice: KernelChoice;
  readonly pkg: string;
  readonly version: string;
  /** `make kernelrelease`, e.g. 7.3.4. */
  readonly release: string;
  readonly image: string;
  readonly config: FragmentCheck;
}

/**
 * The build's environment. KBUILD_BUILD_VERSION fixes the "#N" of the version banner (init/Makefile:
 * otherwise it counts the builds in this tree), which the kernel prints in every WARN and oops
 * ("… 7.3.4 #1 PREEMPTLAZY"): a rebuild must not change what the fake is compared with.
 */
const MAKE_ENV = { ARCH: 'arm64', CROSS_COMPILE: 'aarch64-linux-gnu-', KBUILD_BUILD_VERSION: '1' };
/** Part of the build key: a change here rebuilds (incrementally, in the same tree). */
const BUILD_ENV_KEY = `KBUILD_BUILD_VERSION=${MAKE_ENV.KBUILD_BUILD_VERSION}`;
const KERNEL_DISK = 3e9;

/** Picks the package and its newest version from the private apt configuration. */
export async function pickKernel(apt: AptConfig, choice: KernelChoice): Promise<{ pkg: string; version: string }> {
  const names = await aptCache(apt, ['pkgnames', 'linux-source-']);
  const series = choice === 'newest' ? pickNewestSeries(names, NEWEST_FLOOR) : findSeries(names, LTS_SERIES);
  if (!series)
    throw new LaneError('kernel source', choice === 'newest' ? `no linux-source-X.Y ≥ ${NEWEST_FLOOR} in sid, trixie-backports or trixie` : `no ${LTS_SERIES} in the private apt configuration`, 'check the mirror carries those suites; the lane never falls back to an older kernel');
  const version = newestVersion(await aptCache(apt, ['madison', series.name]), series.name);
  if (!version) throw new LaneError('kernel source', `apt-cache madison ${series.name} lists no binary version`, 'rerun after apt-get update of the private configuration');
  return { pkg: series.name, version };
}

async function run(step: string, file: string, args: string[], opts: { cwd: string; log: string }): Promise<void> {
  await fs.appendFile(opts.log, `\n$ ${file} ${args.join(' ')}\n`);
  const to = { file: opts.log, append: true };
  const r = await execa(file, args, { cwd: opts.cwd, env: MAKE_ENV, stdout: to, stderr: to, reject: false });
  if (r.exitCode !== 0) {
    const tail = (await fs.readFile(opts.log, 'utf8')).split('\n').slice(-25).join('\n');
    throw new LaneError(step, `${file} ${args.join(' ')} exited ${r.exitCode}; last lines of ${opts.log}:\n${tail}`, `read ${opts.log}`);
  }
}

/** Every symbol the release's Kconfig files define; cached beside the unpacked tree (walking it takes seconds). */
async function kconfigSymbolSet(srcDir: string, tree: string): Promise<Set<string>> {
  const cache = path.join(srcDir, 'kconfig-symbols.txt');
  const cached = await fs.readFile(cache, 'utf8').catch(() => undefined);
  if (cached !== undefined) return new Set(cached.split('\n').filter(Boolean));
  const out = new Set<string>();
  for (const f of await fs.readdir(tree, { recursive: true })) {
    if (!/(^|\/)Kconfig[^/]*$/.test(f)) continue;
    for (const s of kconfigSymbols(await fs.readFile(path.join(tree, f), 'utf8'))) out.add(s);
  }
  await fs.writeFile(cache, [...out].sort().join('\n'));
  return out;
}

/** Downloads, unpacks, configures, checks and builds one kernel (or reuses the cached one); configureOnly stops before make Image. */
export async function buildKernel(steps: Steps, apt: AptConfig, root: string, choice: KernelChoice, opts: { configureOnly?: boolean } = {}): Promise<BuiltKernel | undefined> {
  const { pkg, version } = await steps.run(`${choice} kernel: pick linux-source`, async (note) => {
    const p = await pickKernel(apt, choice);
    note(`${p.pkg}=${p.version}`);
    return p;
  });
  const fragmentPath = FRAGMENT;
  const fragment = await fs.readFile(FRAGMENT, 'utf8');
  const fhash = fragmentHash(fragment);
  const srcDir = path.join(root, 'src', `${safeKey(pkg)}_${safeKey(version)}`);
  const buildDir = path.join(root, 'build', `${safeKey(pkg)}_${safeKey(version)}-${fhash}`);
  const buildKey = `${pkg}=${version} fragment ${fhash}`;
  const image = path.join(buildDir, 'arch/arm64/boot/Image');
  const tree = path.join(srcDir, pkg);

  if (!(await isDone(buildDir, buildKey))) await requireFreeDisk(root, KERNEL_DISK, `building ${pkg} ${version}`);
  const { deb } = await steps.run(`${choice} kernel: download ${pkg}=${version}`, async (note) => {
    if (await isDone(srcDir, `${pkg}=${version}`)) {
      note('source cached');
      return { deb: '' };
    }
    const d = await aptDownload(apt, root, pkg, version);
    note(d.cached ? '.deb cached' : 'downloaded');
    return d;
  });
  await steps.run(`${choice} kernel: unpack`, async (note) => {
    if (await isDone(srcDir, `${pkg}=${version}`)) return note('cached');
    await fs.rm(srcDir, { recursive: true, force: true });
    await fs.mkdir(srcDir, { recursive: true });
    await execa('dpkg-deb', ['-x', deb, srcDir]);
    const tarball = path.join(srcDir, 'usr/src', `${pkg}.tar.xz`);
    await fs.access(tarball).catch(() => {
      throw new LaneError('kernel unpack', `${deb} holds no usr/src/${pkg}.tar.xz`, 'the package layout changed; update scripts/lane/kernel.ts');
    });
    await execa('tar', ['-xf', tarball, '-C', srcDir]);
    await fs.rm(path.join(srcDir, 'usr'), { recursive: true, force: true });
    await markDone(srcDir, `${pkg}=${version}`);
  });
  const config = await steps.run(`${choice} kernel: configure (tinyconfig + ${path.basename(fragmentPath)})`, async (note) => {
    await fs.mkdir(buildDir, { recursive: true });
    const log = path.join(buildDir, 'lane-build.log');
    if (!(await isDone(buildDir, buildKey, '-configured'))) {
      await run('kernel configure', 'make', [`O=${buildDir}`, 'tinyconfig'], { cwd: tree, log });
      await run('kernel configure', 'scripts/kconfig/merge_config.sh', ['-m', '-O', buildDir, path.join(buildDir, '.config'), fragmentPath], { cwd: tree, log });
      await run('kernel configure', 'make', [`O=${buildDir}`, 'olddefconfig'], { cwd: tree, log });
      await markDone(buildDir, buildKey, '-configured');
    } else note('cached');
    const check = checkFragment(fragment, await fs.readFile(path.join(buildDir, '.config'), 'utf8'), await kconfigSymbolSet(srcDir, tree));
    if (check.dropped.length) throw new LaneError('kernel configure', `${pkg} ${version} lost fragment options:\n${describeDropped(check, fragmentPath)}`, `fix ${fragmentPath}`);
    if (check.notInRelease.length) note(`not in this release: ${check.notInRelease.join(', ')}`);
    return check;
  });
  if (opts.configureOnly) return undefined;
  await steps.run(`${choice} kernel: make Image`, async (note) => {
    if (await isDone(buildDir, `${buildKey} ${BUILD_ENV_KEY}`)) return note('cached');
    const jobs = String(Number(process.env.EPCTL_LANE_JOBS) || os.availableParallelism());
    await run('kernel build', 'make', [`O=${buildDir}`, `-j${jobs}`, 'Image'], { cwd: tree, log: path.join(buildDir, 'lane-build.log') });
    await markDone(buildDir, `${buildKey} ${BUILD_ENV_KEY}`);
    note(`-j${jobs}`);
  });
  const release = (await fs.readFile(path.join(buildDir, 'include/config/kernel.release'), 'utf8')).trim();
  return { choice, pkg, version, release, image, config };
}

/** A key for everything that depends on the kernel Image. */
export function kernelKey(k: BuiltKernel): string {
  return hashOf(k.pkg, k.version, k.release);
}
