// A tiny read-only KernelPort serving one flattened DtNodeSpec under
// /sys/firmware/devicetree/base, with node:fs-shaped errors (ENOENT, ENOTDIR, EISDIR), for the
// device-tree tests. `faults` makes a read of one exact path fail with an errno; `reads` counts
// every read, readdir and lstat so tests can check caching. `fdt` also serves /sys/firmware/fdt:
// the same tree encoded (true), another tree (the boot tree, when the live one was changed at
// runtime), or raw bytes.
import { KernelError, type KernelOp } from '../../src/kernel/errors.js';
import type { ErrnoCode } from '../../src/kernel/errno.js';
import type { KernelPort, KernelStat } from '../../src/kernel/port.js';
import { flatten, type DtNodeSpec, type FlatTree } from '../../src/devicetree/spec.js';
import { encodeFdt } from '../../src/devicetree/fdt-encode.js';

export const FDT = '/sys/firmware/fdt';

export const DT_BASE = '/sys/firmware/devicetree/base';

export interface DtPort extends KernelPort {
  /** Kernel calls made so far, as "op path". */
  readonly calls: string[];
}

export interface DtPortOptions {
  symbols?: boolean;
  /** Exact path → errno its read/readdir/lstat fails with. */
  faults?: Record<string, ErrnoCode>;
  /** Serve nothing at all: no /sys/firmware/devicetree (an ACPI system). */
  noDeviceTree?: boolean;
  /** Serve /sys/firmware/fdt: this tree encoded (true), another tree's blob, or these bytes. */
  fdt?: true | DtNodeSpec | FlatTree | Uint8Array;
}

export function dtPort(root: DtNodeSpec | FlatTree, opts: DtPortOptions = {}): DtPort {
  const flat = 'nodes' in root ? root : flatten(root, { symbols: opts.symbols ?? false });
  const dirs = new Map<string, string[]>();
  const files = new Map<string, Uint8Array>();
  const addDir = (path: string): void => {
    if (dirs.has(path)) return;
    dirs.set(path, []);
    const i = path.lastIndexOf('/');
    if (i > 0) {
      addDir(path.slice(0, i));
      dirs.get(path.slice(0, i))!.push(path.slice(i + 1));
    }
  };
  if (!opts.noDeviceTree) {
    addDir(DT_BASE);
    for (const n of flat.nodes) addDir(DT_BASE + n);
    for (const p of flat.properties) {
      const dir = DT_BASE + p.node;
      addDir(dir);
      files.set(`${dir}/${p.name}`, p.bytes);
      dirs.get(dir)!.push(p.name);
    }
  }
  if (opts.fdt !== undefined) {
    const f = opts.fdt;
    const bootFlat = (t: DtNodeSpec | FlatTree): FlatTree => ('nodes' in t ? t : flatten(t, { symbols: opts.symbols ?? false }));
    files.set(FDT, f === true ? encodeFdt(flat) : f instanceof Uint8Array ? f : encodeFdt(bootFlat(f)));
    addDir('/sys/firmware');
    dirs.get('/sys/firmware')!.push('fdt');
  }
  const calls: string[] = [];
  const fail = (code: ErrnoCode, syscall: KernelOp, path: string): never => {
    throw new KernelError({ code, syscall, path });
  };
  const check = (syscall: KernelOp, path: string): void => {
    calls.push(`${syscall} ${path}`);
    const fault = opts.faults?.[path];
    if (fault) fail(fault, syscall, path);
    // A path through a file fails with ENOTDIR, as path walking does.
    for (let i = path.indexOf('/', 1); i > 0; i = path.indexOf('/', i + 1))
      if (files.has(path.slice(0, i))) fail('ENOTDIR', syscall, path);
  };
  const statOf = (syscall: KernelOp, path: string): KernelStat => {
    check(syscall, path);
    const f = files.get(path);
    if (f) return { kind: 'file', mode: 0o444, size: f.length, nlink: 1, uid: 0, gid: 0 };
    if (dirs.has(path)) return { kind: 'dir', mode: 0o755, size: 0, nlink: 2, uid: 0, gid: 0 };
    return fail('ENOENT', syscall, path);
  };
  const readOnly = (syscall: KernelOp) => async (path: string): Promise<never> => fail('EROFS', syscall, path);

  return {
    backend: 'fake',
    origin: 'mock:dt',
    calls,
    async read(path) {
      check('open', path);
      const f = files.get(path);
      if (f) return f.slice();
      return fail(dirs.has(path) ? 'EISDIR' : 'ENOENT', dirs.has(path) ? 'read' : 'open', path);
    },
    write: readOnly('open'),
    create: readOnly('open'),
    rename: readOnly('rename'),
    mkdir: readOnly('mkdir'),
    rmdir: readOnly('rmdir'),
    symlink: async (_target, path) => fail('EROFS', 'symlink', path),
    unlink: readOnly('unlink'),
    kmsg: () => fail('EROFS', 'open', '/dev/kmsg'),
    loadModule: readOnly('modprobe'),
    mountConfigfs: () => fail('EROFS', 'mount', '/sys/kernel/config'),
    peek: () => fail('EROFS', 'devmem', '/dev/mem'),
    poke: () => fail('EROFS', 'devmem', '/dev/mem'),
    async readdir(path) {
      check('scandir', path);
      const d = dirs.get(path);
      if (d) return [...d];
      return fail(files.has(path) ? 'ENOTDIR' : 'ENOENT', 'scandir', path);
    },
    async readlink(path) {
      statOf('readlink', path);
      return fail('EINVAL', 'readlink', path);
    },
    stat: async (path) => statOf('stat', path),
    lstat: async (path) => statOf('lstat', path),
    async exists(path) {
      try {
        statOf('stat', path);
        return true;
      } catch {
        return false;
      }
    },
    async *lines(path) {
      fail('EINVAL', 'read', path);
    },
  };
}
