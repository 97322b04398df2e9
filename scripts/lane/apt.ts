// Private apt configurations in the lane cache: their own sources file, lists and archive
// cache, passed to every apt command with -o options, so the machine's /etc/apt and its lists
// are never touched. One for kernel sources (sid, trixie-backports, trixie), one for arm64
// guest .debs (the machine's own suite only, so libc6:arm64 matches what Node was tested with).
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { parseDeb822, parseOneLine, type MachineSource } from './apt-sources.js';
import { hashOf, isDone, markDone, safeKey } from './cache.js';
import { LaneError } from './errors.js';

export interface AptConfig {
  readonly name: string;
  readonly dir: string;
  readonly options: readonly string[];
}

/** The machine's mirror and suite, from its own apt sources. */
export async function machineSource(): Promise<MachineSource> {
  const deb822 = '/etc/apt/sources.list.d/debian.sources';
  const oneLine = '/etc/apt/sources.list';
  const read = (p: string) => fs.readFile(p, 'utf8').catch(() => '');
  const found = parseDeb822(await read(deb822)) ?? parseOneLine(await read(oneLine));
  if (!found) throw new LaneError('apt', `no Debian mirror found in ${deb822} (URIs:) or ${oneLine} (deb line)`, 'this lane needs a Debian host with apt sources configured');
  return found;
}

/** Creates (or reuses) a private apt configuration `name` under `root`/apt with the given suites. */
export async function privateApt(root: string, name: string, uri: string, suites: readonly string[], types: string, extra: readonly string[] = []): Promise<AptConfig> {
  const dir = path.join(root, 'apt', name);
  await fs.mkdir(path.join(dir, 'lists', 'partial'), { recursive: true });
  await fs.mkdir(path.join(dir, 'cache', 'archives', 'partial'), { recursive: true });
  const sources = path.join(dir, `${name}.sources`);
  const text = `Types: ${types}\nURIs: ${uri}\nSuites: ${suites.join(' ')}\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`;
  await fs.writeFile(sources, text);
  return {
    name,
    dir,
    options: [
      '-o', `Dir::Etc::sourcelist=${sources}`,
      '-o', 'Dir::Etc::sourceparts=-',
      '-o', `Dir::State::Lists=${path.join(dir, 'lists')}`,
      '-o', `Dir::Cache=${path.join(dir, 'cache')}`,
      ...extra,
    ],
  };
}

/** `apt-get update` for a private configuration, skipped when its lists are younger than maxAgeMs. Returns whether it ran. */
export async function aptUpdate(apt: AptConfig, maxAgeMs: number): Promise<boolean> {
  const stamp = path.join(apt.dir, 'updated');
  const key = apt.options.join(' ');
  try {
    const st = await fs.stat(stamp);
    if (Date.now() - st.mtimeMs < maxAgeMs && (await fs.readFile(stamp, 'utf8')) === key) return false;
  } catch {
    // never updated
  }
  const r = await execa('apt-get', [...apt.options, 'update'], { reject: false, all: true });
  if (r.exitCode !== 0 || /^(E|Err):/m.test(r.all ?? ''))
    throw new LaneError('apt', `private apt-get update (${apt.name}) failed:\n${(r.all ?? '').split('\n').filter((l) => /^(E|Err|W):/.test(l)).join('\n')}`, 'check the network and the mirror; a signature error means the host keyring (debian-archive-keyring) is older than the archive keys');
  await fs.writeFile(stamp, key);
  return true;
}

/**
 * Runs apt-cache with the private configuration and returns stdout. Each call loads the whole
 * package cache (seconds), so answers are kept until the next apt-get update of this configuration.
 */
export async function aptCache(apt: AptConfig, args: readonly string[]): Promise<string> {
  const updated = await fs.stat(path.join(apt.dir, 'updated')).then((st) => String(st.mtimeMs), () => 'never');
  const memo = path.join(apt.dir, 'answers', `${hashOf(updated, ...apt.options, ...args)}.txt`);
  const known = await fs.readFile(memo, 'utf8').catch(() => undefined);
  if (known !== undefined) return known;
  const r = await execa('apt-cache', [...apt.options, ...args]);
  await fs.mkdir(path.dirname(memo), { recursive: true });
  await fs.writeFile(memo, r.stdout);
  return r.stdout;
}

/** Candidate versions of several packages (`libc6:arm64`, …) in one apt-cache call (each call loads the whole cache: seconds). */
export async function candidateVersions(apt: AptConfig, pkgs: readonly string[]): Promise<Record<string, string>> {
  const out = await aptCache(apt, ['show', '--no-all-versions', ...pkgs]).catch(() => '');
  const found: Record<string, string> = {};
  for (const stanza of out.split(/\n\s*\n/)) {
    const name = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
    const arch = /^Architecture:\s*(\S+)/m.exec(stanza)?.[1];
    const version = /^Version:\s*(\S+)/m.exec(stanza)?.[1];
    if (name && arch && version) found[`${name}:${arch}`] = version;
  }
  for (const p of pkgs)
    if (!found[p]) throw new LaneError('apt', `no version of ${p} in the private apt configuration ${apt.name}`, `check that ${apt.dir}/${apt.name}.sources lists a suite carrying ${p}`);
  return found;
}

/**
 * Downloads `pkg=version` (never installs) into `<root>/debs/<pkg>_<version>/`, once: the cache
 * key is the exact version. Returns the .deb's path.
 */
export async function aptDownload(apt: AptConfig, root: string, pkg: string, version: string): Promise<{ deb: string; cached: boolean }> {
  const dir = path.join(root, 'debs', `${safeKey(pkg)}_${safeKey(version)}`);
  const key = `${pkg}=${version}`;
  const find = async () => (await fs.readdir(dir)).filter((f) => f.endsWith('.deb'));
  if (await isDone(dir, key)) {
    const [deb] = await find();
    if (deb) return { deb: path.join(dir, deb), cached: true };
  }
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  const r = await execa('apt-get', [...apt.options, 'download', key], { cwd: dir, reject: false, all: true });
  const debs = await find();
  if (r.exitCode !== 0 || debs.length !== 1)
    throw new LaneError('apt', `apt-get download ${key} failed:\n${(r.all ?? '').split('\n').slice(-5).join('\n')}`, 'the version may have left the archive: rerun the lane (it picks the newest again) or check the mirror');
  await markDone(dir, key);
  return { deb: path.join(dir, debs[0]!), cached: false };
}
