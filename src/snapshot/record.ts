// `epctl snapshot DIR`: records a board as a sysroot that --root replays. It runs probe
// through a port that notes every path probe touches, adds the trees later commands read
// (the whole pci_ep configfs, the device tree, /proc/interrupts), and copies each as it is:
// files with their bytes and mode, symlinks with their own (relative) text, directories.
import fs from 'node:fs/promises';
import syncFs from 'node:fs';
import nodePath from 'node:path';
import { packDir } from '../kernel/archive.js';
import { checkSnapshotTarget, type SnapshotTarget } from './target.js';
import { isSystemError, writeFailure } from '../output-error.js';
import type { AccessWidth, KernelPort, KernelStat, StreamOptions } from '../kernel/port.js';
import { joinPath } from '../kernel/port.js';
import { isKernelError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';
import { PCI_EP } from '../configfs/paths.js';
import { DT_BASE } from '../devicetree/tree.js';
import { probe, type BoardState } from '../probe/probe.js';
import { PROC_VERSION } from '../procfs/version.js';
import { PROC_MOUNTS } from '../procfs/mounts.js';
import { PROC_INTERRUPTS } from '../procfs/interrupts.js';
import { PROC_CONFIG_GZ } from '../procfs/kconfig.js';
import { KALLSYMS, symbolLines } from '../procfs/kallsyms.js';
import { PCI_EPF_BUS } from '../sysfs/paths.js';
import { ltssmPath } from '../debugfs/ltssm.js';

/** Files later commands read that probe may not touch. */
/**
 * Files recorded in part: of /proc/kallsyms (megabytes) only the lines naming the doorbell
 * symbols probe looks for, which is all a reader of the recording needs.
 */
const RECORDED_PART: Readonly<Record<string, (bytes: Uint8Array) => Uint8Array>> = {
  [KALLSYMS]: (bytes) => Buffer.from(symbolLines(Buffer.from(bytes).toString('latin1')).map((l) => `${l}\n`).join(''), 'latin1'),
};

const EXTRA_FILES = [PROC_VERSION, PROC_MOUNTS, PROC_INTERRUPTS, PROC_CONFIG_GZ, '/proc/cmdline', '/proc/sys/kernel/tainted'];
/** Trees copied whole. */
const EXTRA_TREES = [PCI_EP, DT_BASE, PCI_EPF_BUS];

import { MANIFEST } from '../kernel/sysroot.js';

/** An entry of the board that could not be read, so is not in the recording. */
export interface UnrecordedEntry {
  path: string;
  /** The errno, or "special" for a FIFO, socket or device node. */
  code: string;
  reason: string;
}

export interface SnapshotResult {
  dir: string;
  files: number;
  symlinks: number;
  directories: number;
  /** What the board holds but the recording does not (also in the manifest). */
  unrecorded: UnrecordedEntry[];
  board: BoardState;
}

/** A port that remembers which paths were looked at. */
class RecordingPort implements KernelPort {
  readonly touched = new Set<string>();
  constructor(private readonly inner: KernelPort) {}
  get backend() {
    return this.inner.backend;
  }
  get origin() {
    return this.inner.origin;
  }
  private note<T>(path: string, p: Promise<T>): Promise<T> {
    this.touched.add(path);
    return p;
  }
  read = (p: string) => this.note(p, this.inner.read(p));
  readdir = (p: string) => this.note(p, this.inner.readdir(p));
  readlink = (p: string) => this.note(p, this.inner.readlink(p));
  stat = (p: string) => this.note(p, this.inner.stat(p));
  lstat = (p: string) => this.note(p, this.inner.lstat(p));
  exists = (p: string) => this.note(p, this.inner.exists(p));
  write = (p: string, d: string | Uint8Array) => this.inner.write(p, d);
  create = (p: string) => this.inner.create(p);
  rename = (f: string, t: string) => this.inner.rename(f, t);
  mkdir = (p: string) => this.inner.mkdir(p);
  rmdir = (p: string) => this.inner.rmdir(p);
  symlink = (t: string, p: string) => this.inner.symlink(t, p);
  unlink = (p: string) => this.inner.unlink(p);
  lines = (p: string, o?: StreamOptions) => this.inner.lines(p, o);
  kmsg = () => this.inner.kmsg();
  loadModule = (m: string) => this.inner.loadModule(m);
  mountConfigfs = () => this.inner.mountConfigfs();
  peek = (addr: bigint, width: AccessWidth) => this.inner.peek(addr, width);
  poke = (addr: bigint, width: AccessWidth, value: bigint) => this.inner.poke(addr, width, value);
}

export interface SnapshotOptions {
  /**
   * Told of each path this run creates before anything is written into it, so a signal
   * handler can remove it; the returned function forgets it once the run no longer needs that.
   */
  track?: (path: string) => () => void;
}

/**
 * Records into DIR, or into FILE.tar.gz when the name ends in .tar.gz / .tgz. The target is
 * checked first (./target.ts); an archive is staged in a hidden directory beside it, never in
 * the temp directory. When writing fails, what this run created is removed and the error says
 * which file could not be written (exit 73).
 */
export async function snapshot(source: KernelPort, target: SnapshotTarget | string, opts: SnapshotOptions = {}): Promise<SnapshotResult> {
  const t = typeof target === 'string' ? await checkSnapshotTarget(target) : target;
  const track = opts.track ?? (() => () => undefined);
  const created: Array<() => Promise<void>> = [];
  const undo = async (): Promise<void> => {
    for (const rm of created.reverse()) await rm().catch(() => undefined);
  };
  /** Creates directory P (or, with `existing`, takes over the empty directory P) for this run. */
  const own = (p: string, existing: boolean): (() => void) => {
    const forget = track(p);
    created.push(async () => {
      // Forgotten only once gone: a signal during the removal still removes the rest.
      if (existing) for (const e of await fs.readdir(p)) await fs.rm(nodePath.join(p, e), { recursive: true, force: true });
      else await fs.rm(p, { recursive: true, force: true });
      forget();
    });
    return forget;
  };
  try {
    if (t.form === 'dir') {
      const forget = own(t.path, t.existing);
      // Synchronous, like every creation here: a signal handler runs between event-loop turns,
      // so nothing can be created by a thread-pool call after it removed what was tracked.
      if (!t.existing) syncFs.mkdirSync(t.path);
      const r = await snapshotDir(source, t.path);
      forget();
      return r;
    }
    const stage = nodePath.join(nodePath.dirname(t.path), `.epctl-snapshot-${nodePath.basename(t.path)}-${process.pid}`);
    own(stage, false);
    syncFs.mkdirSync(stage);
    // Created empty and exclusively first: an archive never replaces a file that appeared meanwhile.
    const forgetFile = own(t.path, false);
    syncFs.closeSync(syncFs.openSync(t.path, 'wx', 0o644));
    const r = await snapshotDir(source, nodePath.join(stage, 'board'));
    await packDir(r.dir, t.path);
    forgetFile();
    created.pop();
    await undo();
    return { ...r, dir: t.path };
  } catch (e) {
    await undo();
    if (isSystemError(e)) throw writeFailure('the snapshot', t.given, e, EXIT.CANT_WRITE, `; removed what this run wrote`);
    throw e;
  }
}

async function snapshotDir(source: KernelPort, dir: string): Promise<SnapshotResult> {
  syncFs.mkdirSync(dir, { recursive: true });
  const rec = new RecordingPort(source);
  const board = await probe(rec);
  const out = { dir: nodePath.resolve(dir), files: 0, symlinks: 0, directories: 0 };
  const done = new Set<string>();
  // A broken board is when a snapshot is wanted most: an entry that cannot be read is left out
  // and listed (manifest `unrecorded`), never written as a plausible empty file.
  const unrecorded: UnrecordedEntry[] = [];
  const skip = (path: string, e: unknown): undefined => {
    if (!isKernelError(e)) throw e;
    unrecorded.push({ path, code: e.code, reason: e.hint ?? e.message });
    return undefined;
  };
  // The recording is written with synchronous calls: ten thousand small files through the
  // thread pool cost a round trip each, several times the copy itself. Directories made once.
  const made = new Set<string>();
  const hostDir = (dir: string): void => {
    if (made.has(dir)) return;
    syncFs.mkdirSync(dir, { recursive: true });
    made.add(dir);
  };
  const list = (path: string): Promise<string[]> => source.readdir(path).catch((e: unknown) => skip(path, e) ?? []);

  /** Copies one entry (not following a final symlink); returns its kind. */
  const copy = async (path: string): Promise<KernelStat['kind'] | undefined> => {
    if (done.has(path)) return undefined;
    done.add(path);
    let st: KernelStat;
    try {
      st = await source.lstat(path);
    } catch (e) {
      if (isKernelError(e)) return undefined;
      throw e;
    }
    const host = nodePath.join(out.dir, path);
    hostDir(nodePath.dirname(host));
    if (st.kind === 'dir') {
      hostDir(host);
      out.directories++;
    } else if (st.kind === 'symlink') {
      const target = await source.readlink(path).catch((e: unknown) => skip(path, e));
      if (target === undefined) return undefined;
      syncFs.symlinkSync(target, host);
      out.symlinks++;
    } else if (st.kind === 'file') {
      // Write-only attributes (bind, unbind, uevent of a bus: no read bit) are kept empty, with
      // their mode; a readable file that cannot be read now is left out and listed.
      const writeOnly = (st.mode & 0o444) === 0;
      const read = await source.read(path).catch((e: unknown) => (writeOnly && isKernelError(e) ? new Uint8Array(0) : skip(path, e)));
      if (read === undefined) return undefined;
      const bytes = RECORDED_PART[path]?.(read) ?? read;
      syncFs.writeFileSync(host, bytes, { flag: 'wx' });
      syncFs.chmodSync(host, st.mode & 0o777 || 0o444);
      out.files++;
    } else {
      unrecorded.push({ path, code: 'special', reason: `${path} is a special file (FIFO, socket or device node), which is never recorded` });
      return undefined;
    }
    return st.kind;
  };

  /** Copies every ancestor directory and the entry, and for a symlink what it points at. */
  const copyPath = async (path: string): Promise<void> => {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) await copy('/' + parts.slice(0, i).join('/'));
    await copy(path);
  };

  const copyTree = async (path: string): Promise<void> => {
    await copyPath(path);
    let st: KernelStat;
    try {
      st = await source.lstat(path);
    } catch {
      return;
    }
    if (st.kind !== 'dir') return;
    for (const name of await list(path)) await copyTree(joinPath(path, name));
  };

  for (const path of [...rec.touched].sort()) {
    await copyPath(path);
    // A listed directory keeps its entries (as links, empty dirs or files).
    const kind = await source.lstat(path).then((s) => s.kind, () => undefined);
    if (kind === 'dir') for (const name of await list(path)) await copy(joinPath(path, name));
  }
  for (const f of EXTRA_FILES) await copyPath(f);
  for (const t of EXTRA_TREES) await copyTree(t);
  // The link state `doorbell status` and `status` show (DesignWare debugfs, where it exists).
  for (const c of board.controllers) if (await source.exists(ltssmPath(c.name))) await copyPath(ltssmPath(c.name));

  syncFs.writeFileSync(
    nodePath.join(out.dir, MANIFEST),
    JSON.stringify({ format: 'epctl-snapshot', version: 1, origin: source.origin, backend: source.backend, release: board.kernel.release, controllers: board.controllers.map((c) => c.name), unrecorded }, null, 2) + '\n',
  );
  return { ...out, unrecorded, board };
}
