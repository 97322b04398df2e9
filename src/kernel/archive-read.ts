// Reads a recorded board's .tar.gz into memory (`--root FILE.tar.gz`), never onto disk: so
// there is no temporary directory to remove on an error or a signal. Every step is bounded by
// ARCHIVE_LIMITS (limits.ts): the compressed size, the inflated size (node:zlib
// maxOutputLength stops a gzip bomb mid-inflate), the entry count, path length and depth.
// Entry names are refused, not rewritten, when they could not come from a recorded directory:
// absolute, with "..", with a NUL, or under an entry that is not a directory. Hard links must
// name an earlier regular file of the archive. The result is a MemoryTree that the sysroot
// backend reads through the same jail as a directory.
import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { EpctlError } from './errors.js';
import { EXIT } from '../exit-codes.js';
import { ARCHIVE_LIMITS, formatBytes } from './limits.js';
import { readFdBounded } from './node-fs.js';
import { MemoryTree, memoryDir, type MemoryNode } from './memory-tree.js';
import { readTar, TarFormatError, type TarEntry } from './ustar.js';

/** A recorded board given as one file rather than a directory: by its name, as tar does. */
export const isArchive = (path: string): boolean => /\.(tar\.gz|tgz)$/.test(path);

/** The archive cannot be read as a recorded board; the message names the file and why. */
export class ArchiveError extends EpctlError {
  readonly file: string;

  /** `overLimit`: the limit the archive broke, when that is why ("32 MiB compressed"). */
  constructor(file: string, reason: string, overLimit?: string) {
    super(`${file}: not a readable .tar.gz: ${reason}`, {
      exitCode: EXIT.NO_BOARD,
      hint: overLimit
        ? `epctl reads at most ${overLimit} of a recorded board, and a board's recording is a few MB: check that this is the right file, or re-record the board with \`epctl snapshot BOARD.tar.gz\``
        : 'give an archive written by `epctl snapshot BOARD.tar.gz`',
    });
    this.file = file;
  }
}

type Dir = Extract<MemoryNode, { kind: 'dir' }>;

async function readCompressed(file: string): Promise<Uint8Array> {
  const limit = ARCHIVE_LIMITS.compressed;
  // O_NONBLOCK: a FIFO named like an archive cannot block the open; fstat then refuses it.
  const fh = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch((e: unknown) => {
    throw new ArchiveError(file, (e as Error).message);
  });
  try {
    if (!(await fh.stat()).isFile()) throw new ArchiveError(file, 'it is not a regular file');
    const bytes = await readFdBounded(fh, limit.bytes);
    if (bytes.length > limit.bytes) throw new ArchiveError(file, `it is larger than ${formatBytes(limit.bytes)}, the limit for a recorded board`, `${formatBytes(limit.bytes)} compressed`);
    return bytes;
  } finally {
    await fh.close();
  }
}

function inflate(file: string, gz: Uint8Array): Uint8Array {
  const limit = ARCHIVE_LIMITS.inflated;
  if (gz[0] !== 0x1f || gz[1] !== 0x8b) throw new ArchiveError(file, 'it is not gzip data');
  try {
    return gunzipSync(gz, { maxOutputLength: limit.bytes });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new ArchiveError(file, `it inflates to more than ${formatBytes(limit.bytes)}, the limit for a recorded board`, `${formatBytes(limit.bytes)} inflated`);
    throw new ArchiveError(file, `the gzip data is damaged (${(e as Error).message})`);
  }
}

/** The components of an entry name inside the root; refuses names that would leave it. */
function entryParts(file: string, name: string): string[] {
  const show = JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name);
  const bad = (why: string): never => {
    throw new ArchiveError(file, `entry ${show} ${why}`);
  };
  if (name.includes('\0')) bad('holds a NUL byte');
  if (name.startsWith('/')) bad('is an absolute path');
  if (Buffer.byteLength(name) >= ARCHIVE_LIMITS.pathBytes) bad(`is longer than PATH_MAX (${ARCHIVE_LIMITS.pathBytes} bytes)`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) bad('climbs out with ".."');
  if (parts.length > ARCHIVE_LIMITS.depth) bad(`is deeper than ${ARCHIVE_LIMITS.depth} directories`);
  if (parts.some((p) => Buffer.byteLength(p) > ARCHIVE_LIMITS.nameBytes)) bad(`has a name longer than NAME_MAX (${ARCHIVE_LIMITS.nameBytes} bytes)`);
  return parts;
}

/** The directory at `parts`, creating missing ones as tar does; never through a link or file. */
function dirAt(file: string, root: Dir, parts: string[], entry: string): Dir {
  let d = root;
  for (const [i, name] of parts.entries()) {
    let next = d.children.get(name);
    if (next === undefined) d.children.set(name, (next = memoryDir()));
    if (next.kind !== 'dir') throw new ArchiveError(file, `entry ${JSON.stringify(entry)} lies under ${JSON.stringify(parts.slice(0, i + 1).join('/'))}, which is not a directory`);
    d = next;
  }
  return d;
}

function node(file: string, root: Dir, e: TarEntry): MemoryNode {
  switch (e.kind) {
    case 'dir':
      return memoryDir(e.mode);
    case 'file':
      return { kind: 'file', mode: e.mode, bytes: e.bytes };
    case 'symlink':
      if (e.link.includes('\0') || Buffer.byteLength(e.link) >= ARCHIVE_LIMITS.pathBytes)
        throw new ArchiveError(file, `symlink ${JSON.stringify(e.name)} has a target with a NUL byte or longer than PATH_MAX`);
      return { kind: 'symlink', target: e.link };
    case 'hardlink': {
      const parts = entryParts(file, e.link);
      const target = parts.length ? dirAt(file, root, parts.slice(0, -1), e.link).children.get(parts.at(-1)!) : root;
      if (target?.kind !== 'file') throw new ArchiveError(file, `hard link ${JSON.stringify(e.name)} names ${JSON.stringify(e.link)}, which is not an earlier regular file of the archive`);
      return { kind: 'file', mode: target.mode, bytes: target.bytes };
    }
    default:
      return { kind: e.kind, mode: e.mode };
  }
}

/** Builds the in-memory tree; a later entry for a name replaces the earlier, as tar extracts. */
function treeOf(file: string, entries: readonly TarEntry[]): MemoryTree {
  const root = memoryDir();
  for (const e of entries) {
    const parts = entryParts(file, e.name);
    if (parts.length === 0) {
      if (e.kind !== 'dir') throw new ArchiveError(file, `entry ${JSON.stringify(e.name)} names the root but is not a directory`);
      root.mode = e.mode;
      continue;
    }
    const dir = dirAt(file, root, parts.slice(0, -1), e.name);
    const name = parts.at(-1)!;
    const old = dir.children.get(name);
    if (e.kind === 'dir' && old?.kind === 'dir') old.mode = e.mode;
    else dir.children.set(name, node(file, root, e));
  }
  return new MemoryTree(root);
}

/** The recorded board in `file`, read and checked in memory. Throws ArchiveError (exit 3). */
export async function readArchive(file: string): Promise<MemoryTree> {
  const tar = inflate(file, await readCompressed(file));
  let entries: TarEntry[];
  try {
    entries = readTar(tar, ARCHIVE_LIMITS.entries);
  } catch (e) {
    if (!(e instanceof TarFormatError)) throw e;
    throw new ArchiveError(file, e.message, e.overLimit);
  }
  return treeOf(file, entries);
}
