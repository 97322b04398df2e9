// KernelPort: the only way epctl touches kernel files. Three backends implement it:
// real (node:fs on the live system), sysroot (a recorded board, a directory or a .tar.gz read
// in memory: read-only and jailed, see sysroot.ts) and fake (the memfs-backed fake kernel of src/fake/). Paths are absolute kernel paths
// ("/sys/kernel/config/pci_ep/..."), whatever the backend.

import { KernelDataError } from './errors.js';
import type { OpenPipe } from '../tracefs/pipe.js';

export type EntryKind = 'file' | 'dir' | 'symlink' | 'other';

export interface KernelStat {
  kind: EntryKind;
  /** Permission bits only (0o644, 0o755, 0o777 for symlinks). */
  mode: number;
  size: number;
  nlink: number;
  /** Owner and group (configfs, sysfs and procfs entries are root's: 0). */
  uid: number;
  gid: number;
}

export interface CreateOptions {
  /** O_EXCL: an existing name fails with EEXIST. */
  exclusive?: boolean;
}

/** One record of the kernel log ring (/dev/kmsg: "level,seq,usec,flags;text"). */
export interface KmsgRecord {
  /** printk level 0..7 (3 err, 4 warning, 6 info). */
  level: number;
  /** The record's sequence number: later records have higher ones. */
  seq: number;
  /** Microseconds since boot. */
  usec: number;
  text: string;
}

/** A physical-memory access width in bits: busybox devmem's WIDTH. */
export type AccessWidth = 8 | 16 | 32 | 64;

export interface StreamOptions {
  /** Stops the stream; the iterator then ends without an error. */
  signal?: AbortSignal;
  /**
   * Told the open trace_pipe (real backend, src/tracefs/pipe.ts), then undefined before it is
   * closed: a last-resort exit hook stops it (wakes a waiting read, closes the fd) so that the
   * process can exit and the trace instance can be removed.
   */
  onOpen?: (pipe: OpenPipe | undefined) => void;
}

export interface KernelPort {
  readonly backend: 'real' | 'sysroot' | 'fake';
  /** Where the files come from: "/", the sysroot directory, or "mock:<board>". */
  readonly origin: string;

  /**
   * The whole file: one read() for configfs/sysfs attributes, to EOF for the rest. Bounded by
   * readLimit() (limits.ts): a larger file fails with EFBIG; a FIFO, socket or device node
   * fails with ENXIO (use lines()). Both carry a hint naming the path and the limit or kind.
   */
  read(path: string): Promise<Uint8Array>;
  /**
   * What `echo -n DATA > PATH` does: open(O_WRONLY) without O_CREAT or O_TRUNC and one
   * write(2) of all the bytes, even zero of them. Resolves to the count the kernel returned.
   */
  write(path: string, data: string | Uint8Array): Promise<number>;
  /**
   * What `: > PATH` (or `echo > PATH`, `touch PATH`) asks of the kernel before any write:
   * open(O_WRONLY|O_CREAT|O_TRUNC, 0644), then close. configfs has no create operation, so a new
   * name fails with EACCES there; an existing attribute opens and keeps its value.
   */
  create(path: string, opts?: CreateOptions): Promise<void>;
  /** rename(2), as `mv FROM TO` (configfs has no rename: EPERM once both names check out). */
  rename(from: string, to: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  /** symlink(2): creates `path` pointing at `target` (as `ln -s target path`). */
  symlink(target: string, path: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Entry names in the order the kernel lists them, without "." and "..". */
  readdir(path: string): Promise<string[]>;
  readlink(path: string): Promise<string>;
  /** stat(2): follows symlinks. */
  stat(path: string): Promise<KernelStat>;
  /** lstat(2): a symlink is reported as one. */
  lstat(path: string): Promise<KernelStat>;
  /** True when stat(path) would succeed. */
  exists(path: string): Promise<boolean>;
  /**
   * Records of a character device or pipe as they arrive (/dev/kmsg records,
   * tracefs trace_pipe lines), without their trailing newline. Blocks like the kernel file.
   */
  lines(path: string, opts?: StreamOptions): AsyncIterable<string>;
  /**
   * The records the kernel log ring holds now, oldest first, without waiting (a non-blocking
   * read of /dev/kmsg to its end): apply takes the highest seq before a change and reads what
   * came after it, because some failures are only logged (kernel-abi: epc_init since ≈6.11).
   */
  kmsg(): Promise<KmsgRecord[]>;
  /** `modprobe MODULE` (real: the modprobe binary; fake: the module loader; recorded: EROFS). */
  loadModule(module: string): Promise<void>;
  /** `mount -t configfs none /sys/kernel/config` (fs/configfs/mount.c). */
  mountConfigfs(): Promise<void>;
  /**
   * One load of `width` bits at physical address `addr`, as one bus access of exactly that
   * width (busybox `devmem ADDR WIDTH`, which mmaps /dev/mem: read(2) of /dev/mem gives no width
   * guarantee and, on arm64, reaches only mapped RAM). Unsigned. Range checks belong to the
   * caller (src/devmem/); the port only performs the access.
   */
  peek(addr: bigint, width: AccessWidth): Promise<bigint>;
  /** One store of `width` bits of `value` at physical address `addr` (busybox `devmem ADDR WIDTH VALUE`). */
  poke(addr: bigint, width: AccessWidth, value: bigint): Promise<void>;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The file as text (attribute values, /proc files). The kernel writes these as ASCII or UTF-8:
 * other bytes mean the file is not what the kernel wrote, and throw KernelDataError.
 */
export async function readText(port: KernelPort, path: string): Promise<string> {
  const bytes = await port.read(path);
  try {
    return decoder.decode(bytes);
  } catch {
    throw new KernelDataError(path, 'not UTF-8 text, which the kernel never writes here', { hint: `re-read or re-record ${path} from the board` });
  }
}

/** The file as text, or undefined when it does not exist. */
export async function readTextIfExists(port: KernelPort, path: string): Promise<string | undefined> {
  try {
    return await readText(port, path);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Directory entries, or [] when the directory does not exist. */
export async function readdirIfExists(port: KernelPort, path: string): Promise<string[]> {
  try {
    return await port.readdir(path);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return [];
    throw e;
  }
}

export function joinPath(...parts: string[]): string {
  const joined = parts.join('/').replace(/\/+/g, '/');
  return joined.length > 1 && joined.endsWith('/') ? joined.slice(0, -1) : joined;
}

export function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Resolves a symlink target against the directory holding the link ("../../x" → absolute). */
export function resolveLink(linkPath: string, target: string): string {
  const base = target.startsWith('/') ? [] : dirname(linkPath).split('/');
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') base.length > 1 ? base.pop() : undefined;
    else base.push(part);
  }
  return '/' + base.filter(Boolean).join('/');
}
