// Where `epctl snapshot TARGET` may write, decided before the board is read or anything is
// created. The target is honoured exactly: a new directory or an existing empty one, or a new
// FILE.tar.gz in an existing directory. Never the current directory itself, never over a file,
// never into a FIFO or device (only lstat/stat are used: nothing is opened), never under the
// kernel's own file systems (/proc, /sys, /dev, configfs…, judged on the real path so a
// symlinked parent does not hide it), never through a dangling link. Each refusal is one line
// naming the target, with a fix, and exit code 64 (a bad path on the command line).
import fs from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import nodePath from 'node:path';
import { EpctlError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';
import { hostFix } from '../output-error.js';
import { PROC_MOUNTS, parseMounts } from '../procfs/mounts.js';
import { isArchive } from '../kernel/archive-read.js';

export interface SnapshotTarget {
  /** As the user typed it, for messages. */
  readonly given: string;
  /** Absolute, with the existing part's symlinks resolved. */
  readonly path: string;
  readonly form: 'dir' | 'archive';
  /** An empty directory that already exists (it is kept if the snapshot fails). */
  readonly existing: boolean;
}

/** Kernel-owned trees, whatever /proc/mounts says. */
const KERNEL_PREFIXES = ['/proc', '/sys', '/dev'];
/** File systems the kernel serves from memory: writing a snapshot there is never meant. */
const KERNEL_FS = new Set(['proc', 'sysfs', 'configfs', 'devtmpfs', 'devpts', 'debugfs', 'tracefs', 'securityfs', 'cgroup', 'cgroup2', 'pstore', 'bpf', 'efivarfs', 'mqueue', 'fusectl', 'binfmt_misc', 'hugetlbfs']);

const NEW_TARGET = 'give a new directory or a new FILE.tar.gz, e.g. `epctl snapshot board.tar.gz`';

function refuse(message: string, hint: string, cause?: unknown): EpctlError {
  return new EpctlError(message, { exitCode: EXIT.USAGE, hint, cause });
}

const lstat = (p: string): Promise<Stats | NodeJS.ErrnoException> => fs.lstat(p).catch((e: NodeJS.ErrnoException) => e);
const stat = (p: string): Promise<Stats | NodeJS.ErrnoException> => fs.stat(p).catch((e: NodeJS.ErrnoException) => e);

function special(st: Stats): string | undefined {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return undefined;
}

/** Checks TARGET (relative to cwd); throws a usage error naming it, or says how to write it. */
export async function checkSnapshotTarget(given: string, cwd = process.cwd()): Promise<SnapshotTarget> {
  if (given === '') throw refuse('the snapshot target is empty', NEW_TARGET);
  const form = isArchive(given) ? 'archive' : 'dir';
  const abs = nodePath.resolve(cwd, given);
  if (form === 'dir' && abs === nodePath.resolve(cwd))
    throw refuse(`snapshot target ${given} is the current directory`, 'name a new subdirectory, e.g. `epctl snapshot ./board-dump` (or a FILE.tar.gz): a snapshot never writes into the current directory itself');

  let st = await lstat(abs);
  if (!(st instanceof Error) && st.isSymbolicLink()) {
    const to = await fs.readlink(abs).catch(() => '?');
    const followed = await stat(abs);
    if (followed instanceof Error)
      throw refuse(
        followed.code === 'ENOENT' ? `snapshot target ${given} is a dangling symlink (to ${to})` : `snapshot target ${given} is a symlink epctl cannot follow (${followed.code})`,
        `remove the link, or ${NEW_TARGET}`,
      );
    st = followed;
  }
  if (st instanceof Error) {
    if (st.code === 'ENOTDIR') throw refuse(`snapshot target ${given}: ${(await fileAncestor(abs)) ?? 'a parent'} is a file, not a directory`, NEW_TARGET);
    if (st.code === 'ELOOP') throw refuse(`snapshot target ${given}: a symlink loop in its path`, NEW_TARGET);
    if (st.code !== 'ENOENT') throw refuse(`snapshot target ${given}: ${st.code}`, hostFix(st.code), st);
  }
  const real = await realPath(abs);
  await refuseKernelOwned(given, abs, real);

  if (!(st instanceof Error)) {
    const kind = special(st);
    if (kind) throw refuse(`snapshot target ${given} is ${kind}`, `${NEW_TARGET}: a snapshot never writes into a special file`);
    if (!st.isDirectory()) throw refuse(`snapshot target ${given} exists`, `${NEW_TARGET}: a snapshot never overwrites a file`);
    if (form === 'archive') throw refuse(`snapshot target ${given} is a directory`, 'give a new FILE.tar.gz, or a name without .tar.gz to record into a new directory');
    const entries = await fs.readdir(real).catch((e: NodeJS.ErrnoException) => e);
    if (entries instanceof Error) throw refuse(`snapshot target ${given}: cannot list it (${entries.code})`, hostFix(entries.code), entries);
    if (entries.length > 0) throw refuse(`snapshot target ${given} is not empty`, `${NEW_TARGET}: a snapshot never overwrites files`);
    await writable(given, real);
    return { given, path: real, form, existing: true };
  }

  const parent = nodePath.dirname(real);
  const pst = await stat(parent);
  if (pst instanceof Error || !pst.isDirectory())
    throw refuse(
      `snapshot target ${given}: the directory ${parent} does not exist`,
      `create it first (mkdir -p ${parent}), or give a path in an existing directory`,
    );
  await writable(given, parent);
  return { given, path: real, form, existing: false };
}

/** The real path: realpath of the longest existing ancestor, plus the rest. */
async function realPath(abs: string): Promise<string> {
  const rest: string[] = [];
  let p = abs;
  for (;;) {
    const r = await fs.realpath(p).catch(() => undefined);
    if (r !== undefined) return nodePath.join(r, ...rest.reverse());
    const up = nodePath.dirname(p);
    if (up === p) return abs;
    rest.push(nodePath.basename(p));
    p = up;
  }
}

/** The first ancestor of ABS that exists and is not a directory. */
async function fileAncestor(abs: string): Promise<string | undefined> {
  for (let p = nodePath.dirname(abs); p !== nodePath.dirname(p); p = nodePath.dirname(p)) {
    const st = await stat(p);
    if (!(st instanceof Error)) return st.isDirectory() ? undefined : p;
  }
  return undefined;
}

/** The kernel-owned tree (/proc, /sys, /dev, a configfs or tracefs mount) REAL lies in, if any. */
export async function kernelOwner(real: string): Promise<string | undefined> {
  const under = (root: string): boolean => real === root || real.startsWith(root.endsWith('/') ? root : root + '/');
  const owner = KERNEL_PREFIXES.find(under);
  if (owner) return owner;
  // Also configfs, tracefs… mounted somewhere unusual. Unreadable /proc/mounts: prefixes only.
  const text = await fs.readFile(PROC_MOUNTS, 'utf8').catch(() => '');
  return parseMounts(text)
    .filter((m) => KERNEL_FS.has(m.type) && m.mountPoint !== '/')
    .map((m) => m.mountPoint)
    .find(under);
}

/** The real path of ABS, resolving symlinked parents (exported for --mock-state's checks). */
export { realPath };

async function refuseKernelOwned(given: string, abs: string, real: string): Promise<void> {
  const owner = await kernelOwner(real);
  if (owner)
    throw refuse(`snapshot target ${given} is under ${owner}, which the kernel owns${real !== abs ? ` (it resolves to ${real})` : ''}`, 'give a path outside /proc, /sys, /dev and configfs, e.g. `epctl snapshot ~/board.tar.gz`');
}

async function writable(given: string, dir: string): Promise<void> {
  try {
    await fs.access(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw refuse(`snapshot target ${given}: ${dir} is not writable (${code})`, hostFix(code), e);
  }
}
