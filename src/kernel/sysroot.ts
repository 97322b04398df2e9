// Backend "sysroot": a recorded board (`--root DIR` or `--root FILE.tar.gz`), as written by
// `epctl snapshot`: sys/, proc/, sys/firmware/devicetree/base, relative symlinks kept. The one
// home of the rules for reading a recording: every path resolves inside it (jail.ts), special
// files are refused unopened, every read is bounded (limits.ts). Read-only: every change fails
// with EROFS, as on a read-only mount.
import type { KernelPort, KernelStat, KmsgRecord, StreamOptions } from './port.js';
import { EXIT } from '../exit-codes.js';
import { KernelError, fromNodeError, type KernelOp } from './errors.js';
import { isErrnoCode, type ErrnoCode } from './errno.js';
import { Jail } from './jail.js';
import { HostTree } from './host-tree.js';
import { describeKind, isSpecial, type RawKind, type RawStat, type RawTree } from './raw-tree.js';
import { readLimit } from './limits.js';

const RERECORD = 're-record the board with `epctl snapshot`';

function kernelStat(s: RawStat): KernelStat {
  const kind = s.kind === 'file' || s.kind === 'dir' || s.kind === 'symlink' ? s.kind : 'other';
  // A recording keeps no owners; the kernel's own files are root's.
  return { kind, mode: s.mode, size: s.size, nlink: s.nlink, uid: 0, gid: 0 };
}

/** The manifest `epctl snapshot` writes at the top of a recording. */
export const MANIFEST = 'epctl-snapshot.json';

export class SysrootKernel implements KernelPort {
  readonly backend = 'sysroot';
  /** What the person gave: the directory or the .tar.gz. */
  readonly origin: string;
  private readonly jail: Jail;

  /** `root` is a directory, or a raw tree (an archive read into memory) with its origin. */
  constructor(root: string | RawTree, origin?: string) {
    const tree = typeof root === 'string' ? new HostTree(root) : root;
    this.origin = origin ?? (tree instanceof HostTree ? tree.dir : 'recording');
    this.jail = new Jail(tree, this.origin);
  }

  #unrecorded: Promise<Map<string, { code: string; reason: string }>> | undefined;

  /**
   * Entries the board held but the recording could not (snapshot's manifest, `unrecorded`):
   * reading one is refused, so a replay never answers as if the board had no such file.
   */
  private unrecorded(): Promise<Map<string, { code: string; reason: string }>> {
    this.#unrecorded ??= (async () => {
      const out = new Map<string, { code: string; reason: string }>();
      try {
        const { rel } = await this.jail.resolve(`/${MANIFEST}`, true, 'open');
        const got = await this.jail.tree.readBounded(rel, readLimit(`/${MANIFEST}`).bytes);
        const list = 'bytes' in got ? (JSON.parse(new TextDecoder().decode(got.bytes)) as { unrecorded?: unknown }).unrecorded : undefined;
        if (Array.isArray(list))
          for (const u of list as { path?: unknown; code?: unknown; reason?: unknown }[])
            if (typeof u?.path === 'string') out.set(u.path, { code: String(u.code ?? ''), reason: String(u.reason ?? '') });
      } catch {
        // No manifest (a recording made by hand) or an unreadable one: nothing is marked.
      }
      return out;
    })();
    return this.#unrecorded;
  }

  private async refuseUnrecorded(op: KernelOp, path: string): Promise<void> {
    const u = (await this.unrecorded()).get(path);
    if (!u) return;
    const code: ErrnoCode = isErrnoCode(u.code) && u.code !== 'ENOENT' ? u.code : 'ENXIO';
    this.refuse(code, op, path, `${path} was not recorded (${u.code}: ${u.reason}), so ${this.origin} cannot say what the board held there; read it on the board`);
  }

  private fail(code: ErrnoCode, op: KernelOp, path: string, hint?: string): never {
    throw new KernelError({ code, syscall: op, path, ...(hint === undefined ? {} : { hint }) });
  }

  /** A file of the recording refused for what it holds: the data's fault (exit 7), not the call's. */
  private refuse(code: ErrnoCode, op: KernelOp, path: string, hint: string): never {
    throw new KernelError({ code, syscall: op, path, hint, exitCode: EXIT.BAD_DATA });
  }

  private refuseSpecial(kind: RawKind, op: KernelOp, path: string): never {
    this.refuse('ENXIO', op, path, `${path} in ${this.origin} is ${describeKind(kind)}, not a file the kernel writes; epctl does not open it: ${RERECORD}`);
  }

  async read(path: string): Promise<Uint8Array> {
    await this.refuseUnrecorded('open', path);
    const { rel, stat } = await this.jail.resolve(path, true, 'open');
    if (stat.kind === 'dir') this.fail('EISDIR', 'read', path);
    if (isSpecial(stat.kind)) this.refuseSpecial(stat.kind, 'open', path);
    const limit = readLimit(path);
    let got;
    try {
      got = await this.jail.tree.readBounded(rel, limit.bytes);
    } catch (e) {
      throw fromNodeError(e, 'open', path);
    }
    if ('special' in got) return this.refuseSpecial(got.special, 'open', path);
    if (got.bytes.length > limit.bytes)
      this.refuse('EFBIG', 'read', path, `${path} in ${this.origin} is larger than ${limit.what}; the kernel never writes that much there: ${RERECORD}`);
    return got.bytes;
  }

  private readOnly(op: KernelOp, path: string, dest?: string): Promise<never> {
    return Promise.reject(new KernelError({ code: 'EROFS', syscall: op, path, ...(dest === undefined ? {} : { dest }), hint: `${this.origin} is a recorded board (--root): it cannot be changed` }));
  }
  write(path: string, _data?: string | Uint8Array): Promise<number> {
    return this.readOnly('open', path);
  }
  create(path: string): Promise<void> {
    return this.readOnly('open', path);
  }
  rename(from: string, to: string): Promise<void> {
    return this.readOnly('rename', from, to);
  }
  mkdir(path: string): Promise<void> {
    return this.readOnly('mkdir', path);
  }
  rmdir(path: string): Promise<void> {
    return this.readOnly('rmdir', path);
  }
  symlink(target: string, path: string): Promise<void> {
    return this.readOnly('symlink', path, target);
  }
  unlink(path: string): Promise<void> {
    return this.readOnly('unlink', path);
  }
  kmsg(): Promise<KmsgRecord[]> {
    // A recording has no live kernel log: /dev/kmsg is a device node, never recorded.
    return Promise.reject(new KernelError({ code: 'ENXIO', syscall: 'open', path: '/dev/kmsg', hint: `${this.origin} is a recorded board (--root): it has no live kernel log` }));
  }
  loadModule(module: string): Promise<void> {
    return this.readOnly('modprobe', `/lib/modules/${module}`);
  }
  mountConfigfs(): Promise<void> {
    return this.readOnly('mount', '/sys/kernel/config');
  }
  peek(addr: bigint): Promise<bigint> {
    return this.noMemory(addr);
  }
  poke(addr: bigint): Promise<void> {
    return this.noMemory(addr);
  }
  private noMemory(addr: bigint): Promise<never> {
    // A recording holds files, never the board's physical memory (/dev/mem is a device node).
    return Promise.reject(new KernelError({ code: 'ENXIO', syscall: 'devmem', path: `/dev/mem@0x${addr.toString(16)}`, hint: `${this.origin} is a recorded board (--root): it has no physical memory to read or write` }));
  }

  async readdir(path: string): Promise<string[]> {
    await this.refuseUnrecorded('scandir', path);
    const { rel, stat } = await this.jail.resolve(path, true, 'scandir');
    if (stat.kind !== 'dir') this.fail('ENOTDIR', 'scandir', path);
    try {
      return (await this.jail.tree.readdir(rel)).sort();
    } catch (e) {
      throw fromNodeError(e, 'scandir', path);
    }
  }
  async readlink(path: string): Promise<string> {
    await this.refuseUnrecorded('readlink', path);
    const { rel, stat } = await this.jail.resolve(path, false, 'readlink');
    // readlink(2) of something that is not a link: EINVAL.
    if (stat.kind !== 'symlink') this.fail('EINVAL', 'readlink', path);
    try {
      return await this.jail.readlinkRaw(rel);
    } catch (e) {
      throw fromNodeError(e, 'readlink', path);
    }
  }
  async stat(path: string): Promise<KernelStat> {
    await this.refuseUnrecorded('stat', path);
    return kernelStat((await this.jail.resolve(path, true, 'stat')).stat);
  }
  async lstat(path: string): Promise<KernelStat> {
    await this.refuseUnrecorded('lstat', path);
    return kernelStat((await this.jail.resolve(path, false, 'lstat')).stat);
  }
  async exists(path: string): Promise<boolean> {
    // The board had it; what it held is what the recording cannot say (read refuses it).
    if ((await this.unrecorded()).has(path)) return true;
    try {
      await this.jail.resolve(path, true, 'stat');
      return true;
    } catch {
      return false;
    }
  }
  /** The lines of a recorded file: a recording holds no live device, so one bounded read. */
  async *lines(path: string, opts: StreamOptions = {}): AsyncIterable<string> {
    if (opts.signal?.aborted) return;
    const text = new TextDecoder().decode(await this.read(path));
    const lines = text.split(/\r\n|\r|\n/);
    if (lines.at(-1) === '') lines.pop();
    for (const line of lines) {
      if (opts.signal?.aborted) return;
      yield line;
    }
  }
}
