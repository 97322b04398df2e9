// The guest's initramfs in three concatenated parts (init/initramfs.c unpacks one archive after
// another and skips zero padding between them): a gzip'ed busybox base with /init, an
// uncompressed Node part (100 MB; both cached by their inputs), and a small per-boot harness
// part (harness bundle, guest epctl bundle, scenario input), so a new scenario never repacks Node.
import fs from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { hashOf } from './cache.js';
import { laneFile } from './paths.js';
import { newcArchive, padTo, type CpioEntry } from './cpio.js';
import { LaneError } from './errors.js';
import type { GuestPackages } from './guest-packages.js';

export const INIT_SCRIPT = laneFile('guest/init');

/** The guest's fixed dirs: mount points for /init and Node's install prefix. */
const DIRS = ['bin', 'sbin', 'dev', 'etc', 'lib', 'lib/aarch64-linux-gnu', 'usr', 'usr/lib', 'usr/lib/aarch64-linux-gnu', 'usr/local', 'usr/local/bin', 'proc', 'root', 'sys', 'tmp', 'lane'];

/** Applet names from the host busybox of the same Debian suite (the arm64 binary cannot run here). */
async function appletNames(): Promise<string[]> {
  const r = await execa('busybox', ['--list']);
  return r.stdout.split('\n').map((s) => s.trim()).filter((s) => /^[a-z0-9_.[-]+$/.test(s) && s !== 'busybox');
}

/** Writes `buffers` then zero padding to 512 bytes. */
async function writePadded(file: string, buffers: Buffer[]): Promise<void> {
  const size = buffers.reduce((n, b) => n + b.length, 0);
  const tmp = `${file}.tmp`;
  await fs.writeFile(tmp, Buffer.concat([...buffers, padTo(size)]));
  await fs.rename(tmp, file);
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(() => true, () => false);
}

/** The gzip'ed busybox part with /init, padded to 512 bytes; cached by busybox version, applets and /init. */
export async function basePart(root: string, pkgs: GuestPackages): Promise<{ file: string; cached: boolean }> {
  const init = await fs.readFile(INIT_SCRIPT);
  const applets = await appletNames();
  const file = path.join(root, 'initramfs', `base-${hashOf(pkgs.versions['busybox-static'], applets.join(','), init)}.cpio.gz`);
  if (await exists(file)) return { file, cached: true };
  const busybox = await fs.readFile(path.join(pkgs.roots['busybox-static'], 'bin/busybox'));
  const entries: CpioEntry[] = [
    ...DIRS.map((name) => ({ kind: 'dir' as const, name })),
    { kind: 'file', name: 'bin/busybox', data: busybox, mode: 0o755 },
    ...applets.map((a) => ({ kind: 'symlink' as const, name: `bin/${a}`, target: 'busybox' })),
    { kind: 'file', name: 'init', data: init, mode: 0o755 },
  ];
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writePadded(file, [gzipSync(Buffer.concat(newcArchive(entries)), { level: 9 })]);
  return { file, cached: false };
}

/** Node's shared libraries in the arm64 .debs: [deb, path inside it, path in the guest]. */
const NODE_LIBS = [
  ['libc6', 'lib/aarch64-linux-gnu/ld-linux-aarch64.so.1'],
  ['libc6', 'lib/aarch64-linux-gnu/libc.so.6'],
  ['libc6', 'lib/aarch64-linux-gnu/libm.so.6'],
  ['libc6', 'lib/aarch64-linux-gnu/libdl.so.2'],
  ['libc6', 'lib/aarch64-linux-gnu/libpthread.so.0'],
  ['libgcc-s1', 'lib/aarch64-linux-gnu/libgcc_s.so.1'],
  ['libstdc++6', 'usr/lib/aarch64-linux-gnu/libstdc++.so.6'],
] as const;

/** The uncompressed Node part (binary and libraries, symlinks dereferenced), padded; cached by versions. */
export async function nodePart(root: string, pkgs: GuestPackages): Promise<{ file: string; cached: boolean }> {
  const key = hashOf(pkgs.nodeVersion, pkgs.versions.libc6, pkgs.versions['libstdc++6'], pkgs.versions['libgcc-s1']);
  const file = path.join(root, 'initramfs', `node-${key}.cpio`);
  if (await exists(file)) return { file, cached: true };
  const entries: CpioEntry[] = [{ kind: 'file', name: 'usr/local/bin/node', data: await fs.readFile(pkgs.nodeBinary), mode: 0o755 }];
  for (const [deb, rel] of NODE_LIBS) {
    const src = path.join(pkgs.roots[deb], rel);
    const data = await fs.readFile(src).catch(() => {
      throw new LaneError('initramfs', `${src} is missing from ${deb}:arm64`, 'the Debian package layout changed; update NODE_LIBS in scripts/lane/initramfs.ts');
    });
    entries.push({ kind: 'file', name: rel, data, mode: 0o755 });
  }
  // The binary's interpreter path (PT_INTERP) is /lib/ld-linux-aarch64.so.1.
  entries.push({ kind: 'symlink', name: 'lib/ld-linux-aarch64.so.1', target: 'aarch64-linux-gnu/ld-linux-aarch64.so.1' });
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writePadded(file, newcArchive(entries));
  return { file, cached: false };
}

/** The per-boot part: the harness bundle, the guest epctl bundle and the scenario input. */
export function harnessPart(harness: string, epctl: string, input: unknown): Buffer {
  const entries: CpioEntry[] = [
    { kind: 'file', name: 'lane/harness.mjs', data: Buffer.from(harness) },
    { kind: 'file', name: 'lane/epctl.cjs', data: Buffer.from(epctl), mode: 0o755 },
    { kind: 'file', name: 'lane/input.json', data: Buffer.from(JSON.stringify(input)) },
  ];
  return Buffer.concat(newcArchive(entries));
}
