// The jail of a recorded board: resolves kernel paths over a raw tree (raw-tree.ts) component
// by component, as the kernel's path walk does under chroot(2), so nothing outside the
// recording is ever looked at. A symlink's target is resolved inside the root: an absolute
// target starts again at the root, and ".." at the root stays there (fs/namei.c follow_dotdot:
// the walk never climbs above the process root). At most MAXSYMLINKS link hops per lookup,
// then ELOOP (fs/namei.c). The recording is read-only, so every lstat, readlink and resolved
// directory is cached: a probe walks each directory once.
import type { RawStat, RawTree } from './raw-tree.js';
import { rawError } from './raw-tree.js';
import { KernelError, fromNodeError, type KernelOp } from './errors.js';
import { EXIT } from '../exit-codes.js';

/** include/linux/namei.h MAXSYMLINKS: link hops one lookup may take. */
export const MAXSYMLINKS = 40;

export interface Resolved {
  /** Root-relative path of the entry, every component a real name (no link, no ".."). */
  rel: string;
  stat: RawStat;
}

interface Walked {
  parts: string[];
  stat: RawStat;
  hops: number;
}

export class Jail {
  private readonly stats = new Map<string, Promise<RawStat>>();
  private readonly links = new Map<string, Promise<string>>();
  /** Resolved directories by the kernel path that named them. */
  private readonly dirs = new Map<string, Promise<Walked>>();

  /** `origin` names the recording in refusals. */
  constructor(
    readonly tree: RawTree,
    readonly origin: string,
  ) {}

  /** lstat of a root-relative path, cached. */
  lstatRaw(rel: string): Promise<RawStat> {
    let p = this.stats.get(rel);
    if (!p) this.stats.set(rel, (p = this.tree.lstat(rel)));
    return p;
  }

  /** readlink of a root-relative path, cached. */
  readlinkRaw(rel: string): Promise<string> {
    let p = this.links.get(rel);
    if (!p) this.links.set(rel, (p = this.tree.readlink(rel)));
    return p;
  }

  /**
   * Resolves a kernel path to the entry it names inside the root. `follow` follows a link in
   * the last component (stat), or not (lstat). Errors are KernelErrors for `path` and `op`.
   */
  async resolve(path: string, follow: boolean, op: KernelOp): Promise<Resolved> {
    try {
      // A C path ends at its NUL: no file name holds one, so such a path names nothing real.
      if (path.includes('\0')) throw rawError('EINVAL', path);
      const names = path.split('/').filter((n) => n !== '' && n !== '.');
      const last = names.pop();
      const parent = await this.dir(names);
      const r = last === undefined ? parent : await this.walk(parent.parts, parent.hops, [last], follow);
      return { rel: r.parts.join('/'), stat: r.stat };
    } catch (e) {
      if ((e as { code?: string }).code === 'ELOOP')
        throw new KernelError({
          code: 'ELOOP',
          syscall: op,
          path,
          exitCode: EXIT.BAD_DATA,
          hint: `${path} in ${this.origin} takes more than ${MAXSYMLINKS} symbolic links to resolve: the recording holds a link loop; re-record the board with \`epctl snapshot\``,
          cause: e,
        });
      throw fromNodeError(e, op, path);
    }
  }

  /** The directory named by `names` (links followed), resolved once per distinct path. */
  private dir(names: string[]): Promise<Walked> {
    const key = names.join('/');
    let p = this.dirs.get(key);
    if (!p) {
      p =
        names.length === 0
          ? this.lstatRaw('').then((stat) => ({ parts: [], stat, hops: 0 }))
          : this.dir(names.slice(0, -1)).then((parent) => this.walk(parent.parts, parent.hops, names.slice(-1), true));
      p = p.then((w) => {
        if (w.stat.kind !== 'dir') throw rawError('ENOTDIR', w.parts.join('/'));
        return w;
      });
      this.dirs.set(key, p);
    }
    return p;
  }

  /**
   * Walks `queue` from the real directory `parts`. Only real directories are ever pushed on
   * `parts`, so ".." is a pop and cannot leave the root.
   */
  private async walk(from: string[], hops: number, queue: string[], followLast: boolean): Promise<Walked> {
    const parts = [...from];
    const pending = [...queue];
    let stat: RawStat | undefined;
    while (pending.length > 0) {
      const name = pending.shift()!;
      if (name === '' || name === '.') continue;
      if (name === '..') {
        parts.pop();
        stat = undefined;
        continue;
      }
      const rel = parts.length === 0 ? name : `${parts.join('/')}/${name}`;
      const st = await this.lstatRaw(rel);
      const isLast = pending.every((n) => n === '' || n === '.');
      if (st.kind === 'symlink' && (followLast || !isLast)) {
        if (++hops > MAXSYMLINKS) throw rawError('ELOOP', rel);
        const target = await this.readlinkRaw(rel);
        // An empty link target names nothing (fs/namei.c get_link → ENOENT).
        if (target === '') throw rawError('ENOENT', rel);
        if (target.startsWith('/')) parts.length = 0;
        pending.unshift(...target.split('/'));
        stat = undefined;
        continue;
      }
      if (!isLast && st.kind !== 'dir') throw rawError('ENOTDIR', rel);
      parts.push(name);
      stat = st;
    }
    return { parts, stat: stat ?? (await this.lstatRaw(parts.join('/'))), hops };
  }
}
