// A recorded board is a jail: the sysroot backend over a directory and over the same board as a
// .tar.gz read in memory gives the same answers, never reads outside the root, never hangs on a
// special file, and refuses files larger than the kernel writes.
import { beforeEach, describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/helpers/tmp.js';

const tmp = tempDirs('epctl-jail', { each: true });
import fs from 'node:fs/promises';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { SysrootKernel } from './sysroot.js';
import { readArchive } from './archive-read.js';
import { KernelError } from './errors.js';
import { MAXSYMLINKS } from './jail.js';
import { ATTRIBUTE_LIMIT, DT_PROPERTY_LIMIT } from './limits.js';
import { type Board, within, writeBoardArchive, writeBoardDir } from '../../test/helpers/hostile-sysroot.js';

let base: string;
let runs = 0;
const SENTINEL = `sentinel-outside-the-root-${process.pid}-${Date.now()}`;

beforeEach(async () => {
  // base/sentinel and base/trap (a FIFO: opening it for reading would block) sit beside the
  // recorded roots, where an escaping link would land.
  base = await tmp();
  await fs.writeFile(path.join(base, 'sentinel'), SENTINEL);
  execFileSync('mkfifo', [path.join(base, 'trap')]);
});


interface Form {
  form: 'directory' | 'archive';
  k: SysrootKernel;
  root: string;
}

/** The board as a directory and as a .tar.gz under `base`, each opened as `--root` opens it. */
async function both(board: Board): Promise<Form[]> {
  const n = runs++;
  const root = path.join(base, `root-${n}`);
  await fs.mkdir(root);
  await writeBoardDir(board, root);
  const file = path.join(base, `board-${n}.tar.gz`);
  await writeBoardArchive(board, file);
  return [
    { form: 'directory', k: new SysrootKernel(root), root },
    { form: 'archive', k: new SysrootKernel(await readArchive(file), file), root: file },
  ];
}

async function failure(p: Promise<unknown>): Promise<KernelError> {
  const e = await within(2000, p).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(KernelError);
  return e as KernelError;
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

const EP = 'sys/devices/platform/x.pcie-ep/pci_epc/x.pcie-ep';
const BASIC: Board = {
  [EP]: { kind: 'dir' },
  'sys/class/pci_epc/x.pcie-ep': { kind: 'symlink', target: '../../devices/platform/x.pcie-ep/pci_epc/x.pcie-ep' },
  'proc/version': { kind: 'file', bytes: 'Linux version 7.3.4 (a@b) #1\n' },
};

describe('SysrootKernel reads a recorded board', () => {
  it('reads kernel paths under the root, relative symlinks resolving inside it, as a directory and as a .tar.gz', async () => {
    for (const { k } of await both(BASIC)) {
      expect(text(await k.read('/proc/version'))).toContain('7.3.4');
      expect(await k.readlink('/sys/class/pci_epc/x.pcie-ep')).toBe('../../devices/platform/x.pcie-ep/pci_epc/x.pcie-ep');
      expect((await k.stat('/sys/class/pci_epc/x.pcie-ep')).kind).toBe('dir');
      expect((await k.lstat('/sys/class/pci_epc/x.pcie-ep')).kind).toBe('symlink');
      expect(await k.readdir('/sys/class/pci_epc/x.pcie-ep/..')).toEqual(['x.pcie-ep']);
      expect(await k.readdir('/')).toEqual(['proc', 'sys']);
      expect(await k.exists('/sys/class/pci_epc/x.pcie-ep')).toBe(true);
      expect(await k.exists('/sys/class/pci_epc/y')).toBe(false);
      const lines: string[] = [];
      for await (const l of k.lines('/proc/version')) lines.push(l);
      expect(lines).toEqual(['Linux version 7.3.4 (a@b) #1']);
    }
  });

  it('follows a link given as the root itself, as `cd DIR` would, and only there', async () => {
    const { root } = (await both(BASIC))[0]!;
    const link = path.join(base, 'board-link');
    await fs.symlink(root, link);
    const k = new SysrootKernel(link);
    expect((await k.stat('/')).kind).toBe('dir');
    expect(text(await k.read('/proc/version'))).toContain('7.3.4');
  });

  it('refuses every change with EROFS, naming the recording', async () => {
    for (const { k, root } of await both(BASIC))
      for (const p of [k.write('/proc/version', '1'), k.mkdir('/sys/x'), k.rmdir('/sys/class'), k.symlink('/a', '/sys/b'), k.unlink('/proc/version'), k.create('/sys/x'), k.rename('/proc/version', '/proc/v')])
        await expect(p).rejects.toMatchObject({ code: 'EROFS', hint: expect.stringContaining(root) });
  });
});

describe('SysrootKernel is a jail', () => {
  it('resolves an absolute link inside the root: proc/version → /etc/passwd is <root>/etc/passwd, never the host file', async () => {
    for (const { k } of await both({ 'proc/version': { kind: 'symlink', target: '/etc/passwd' }, 'proc/mounts': { kind: 'symlink', target: '/etc/mtab' }, 'etc/mtab': { kind: 'file', bytes: 'inside\n' } })) {
      expect(await failure(k.read('/proc/version'))).toMatchObject({ code: 'ENOENT', path: '/proc/version' });
      expect(await k.exists('/proc/version')).toBe(false);
      expect(text(await k.read('/proc/mounts'))).toBe('inside\n');
    }
  });

  it('never climbs above the root with "..", in a path or in a link, whatever the depth', async () => {
    const sentinel = path.join(base, 'sentinel');
    const board: Board = {
      'proc/up': { kind: 'symlink', target: '../../../../../../../..' },
      'proc/version': { kind: 'symlink', target: `../../../../../../../../..${sentinel}` },
      'proc/cmdline': { kind: 'symlink', target: sentinel },
      'proc/trap': { kind: 'symlink', target: path.join(base, 'trap') },
      'sys/x': { kind: 'symlink', target: '../sentinel' },
      'sys/y': { kind: 'symlink', target: '../../trap' },
    };
    for (const { k } of await both(board)) {
      for (const p of ['/proc/version', '/proc/cmdline', '/proc/trap', '/sys/x', '/sys/y', '/../sentinel', '/../../trap', `/proc/up/..${sentinel}`, sentinel])
        expect(await failure(k.read(p))).toMatchObject({ code: 'ENOENT', path: p });
      // proc/up climbs to the root and stops there.
      expect(await k.readdir('/proc/up')).toEqual(['proc', 'sys']);
      expect(await k.readdir('/proc/up/../..')).toEqual(['proc', 'sys']);
    }
  });

  it(`follows at most ${MAXSYMLINKS} links in one lookup, then ELOOP, as fs/namei.c`, async () => {
    const chain = (n: number, dir: string): Board =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`${dir}/l${i}`, { kind: 'symlink', target: i === n - 1 ? '/proc/real' : `l${i + 1}` }]));
    const board: Board = { 'proc/real': { kind: 'file', bytes: 'ok' }, ...chain(MAXSYMLINKS, 'ok'), ...chain(MAXSYMLINKS + 1, 'long'), 'loop/a': { kind: 'symlink', target: 'b' }, 'loop/b': { kind: 'symlink', target: 'a' }, 'loop/self': { kind: 'symlink', target: 'self/x' } };
    for (const { k } of await both(board)) {
      expect(text(await k.read('/ok/l0'))).toBe('ok');
      expect(await failure(k.read('/long/l0'))).toMatchObject({ code: 'ELOOP', path: '/long/l0', exitCode: 7, hint: expect.stringContaining('link loop') });
      for (const p of ['/loop/a', '/loop/self', '/loop/a/x']) expect(await failure(k.stat(p))).toMatchObject({ code: 'ELOOP', path: p });
      expect(await k.readlink('/loop/a')).toBe('b');
      expect((await k.lstat('/loop/a')).kind).toBe('symlink');
    }
  });

  it('refuses a FIFO without opening it: read and lines fail at once with ENXIO, naming the path', async () => {
    for (const { k, root } of await both({ 'proc/interrupts': { kind: 'fifo' }, 'proc/kmsg': { kind: 'symlink', target: 'interrupts' } })) {
      for (const p of ['/proc/interrupts', '/proc/kmsg']) {
        const e = await failure(k.read(p));
        expect(e).toMatchObject({ code: 'ENXIO', path: p, exitCode: 7 });
        expect(e.hint).toContain('FIFO');
        expect(e.hint).toContain(root);
        expect(e.hint).toContain('epctl snapshot');
        const lines = (async () => {
          for await (const _ of k.lines(p));
        })();
        expect(await failure(lines)).toMatchObject({ code: 'ENXIO', path: p });
      }
      expect((await k.stat('/proc/kmsg')).kind).toBe('other');
    }
  });

  it('refuses a file larger than the kernel writes there, saying the limit; the limit itself is read', async () => {
    const board: Board = {
      'sys/kernel/config/pci_ep/functions/pci_epf_test/f/vendorid': { kind: 'file', bytes: Buffer.alloc(ATTRIBUTE_LIMIT.bytes + 1, 0x30) },
      'sys/kernel/config/pci_ep/functions/pci_epf_test/f/deviceid': { kind: 'file', bytes: Buffer.alloc(ATTRIBUTE_LIMIT.bytes, 0x30) },
      'sys/firmware/devicetree/base/big': { kind: 'file', bytes: Buffer.alloc(DT_PROPERTY_LIMIT.bytes + 1) },
    };
    for (const { k } of await both(board)) {
      const p = '/sys/kernel/config/pci_ep/functions/pci_epf_test/f/vendorid';
      const e = await failure(k.read(p));
      expect(e).toMatchObject({ code: 'EFBIG', path: p, exitCode: 7 });
      expect(e.message).toBe(`EFBIG: file too large, read '${p}'`);
      expect(e.hint).toContain('64 KiB');
      expect((await k.read('/sys/kernel/config/pci_ep/functions/pci_epf_test/f/deviceid')).length).toBe(ATTRIBUTE_LIMIT.bytes);
      expect((await failure(k.read('/sys/firmware/devicetree/base/big'))).hint).toContain('2 MiB');
    }
  });

  it('answers a directory where a file belongs, and a file where a directory belongs, as the kernel would', async () => {
    for (const { k } of await both({ 'proc/version': { kind: 'dir' }, 'sys/class/pci_epc': { kind: 'file', bytes: 'x' } })) {
      expect(await failure(k.read('/proc/version'))).toMatchObject({ code: 'EISDIR', path: '/proc/version' });
      expect(await failure(k.readdir('/sys/class/pci_epc'))).toMatchObject({ code: 'ENOTDIR', path: '/sys/class/pci_epc' });
      expect(await failure(k.read('/sys/class/pci_epc/x/uevent'))).toMatchObject({ code: 'ENOTDIR' });
      expect(await failure(k.readlink('/proc/version'))).toMatchObject({ code: 'EINVAL' });
      expect(await failure(k.read('/proc/version\0/x'))).toMatchObject({ code: 'EINVAL' });
    }
  });
});

// Hostile boards, generated: names from a small pool so paths collide, link targets that
// escape, loop, point at the sentinel or the trap, and files over the attribute limit.
const NAMES = ['proc', 'sys', 'a', 'b', 'version'];
const relPath = fc.array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 }).map((p) => p.join('/'));
const entry = (sentinel: string, trap: string): fc.Arbitrary<Board[string]> =>
  fc.oneof(
    fc.record({ kind: fc.constant('file' as const), bytes: fc.oneof(fc.uint8Array({ maxLength: 32 }), fc.constant(new Uint8Array(ATTRIBUTE_LIMIT.bytes + 1))) }),
    fc.constant({ kind: 'dir' as const }),
    fc.constant({ kind: 'fifo' as const }),
    fc.record({
      kind: fc.constant('symlink' as const),
      target: fc.oneof(
        fc.constantFrom(sentinel, trap, '/', '..', '.', '../..', '/proc', 'a', '../a/b', '/sys/a/version', 'version', `../../../../..${sentinel}`, '../sentinel', '../../trap'),
        relPath,
        relPath.map((p) => `/${p}`),
      ),
    }),
  );

/** Drops entries under a non-directory entry: a directory cannot hold them. */
function consistent(board: Board): Board {
  const out: Board = {};
  for (const [p, e] of Object.entries(board).sort(([a], [b]) => a.length - b.length)) {
    const parts = p.split('/');
    if (parts.some((_, i) => i > 0 && (out[parts.slice(0, i).join('/')]?.kind ?? 'dir') !== 'dir')) continue;
    out[p] = e;
  }
  return out;
}

type Op = 'read' | 'stat' | 'lstat' | 'readlink' | 'readdir' | 'exists';
const OPS: Op[] = ['read', 'stat', 'lstat', 'readlink', 'readdir', 'exists'];

async function outcome(k: SysrootKernel, op: Op, p: string): Promise<unknown> {
  try {
    const r = await within(2000, (async () => {
      switch (op) {
        case 'read':
          return text(await k.read(p));
        case 'stat':
        case 'lstat': {
          const s = await k[op](p);
          return { kind: s.kind, size: s.kind === 'dir' ? 0 : s.size };
        }
        case 'readlink':
          return await k.readlink(p);
        case 'readdir':
          return await k.readdir(p);
        case 'exists':
          return await k.exists(p);
      }
    })());
    if (op === 'read') expect(r).not.toContain(SENTINEL);
    if (op === 'readdir') expect((r as string[]).filter((n) => !NAMES.includes(n))).toEqual([]);
    return r;
  } catch (e) {
    expect(e).toBeInstanceOf(KernelError);
    expect((e as KernelError).path).toBe(p);
    return { error: (e as KernelError).code };
  }
}

describe('hostile recorded boards (generated)', () => {
  it('give the same answers as a directory and as a .tar.gz, never read outside the root and never hang', async () => {
    const sentinel = path.join(base, 'sentinel');
    const trap = path.join(base, 'trap');
    await fc.assert(
      fc.asyncProperty(fc.dictionary(relPath, entry(sentinel, trap), { maxKeys: 8 }).map(consistent), async (board) => {
        const [dir, archive] = await both(board);
        const queries = new Set(['/', '/proc/version', '/..', sentinel, trap]);
        for (const p of Object.keys(board)) for (const q of [`/${p}`, `/${p}/version`, `/${p}/..`, `/${p}/../..`]) queries.add(q);
        for (const q of queries)
          for (const op of OPS) {
            const a = await outcome(dir!.k, op, q);
            const b = await outcome(archive!.k, op, q);
            expect({ q, op, r: b }).toEqual({ q, op, r: a });
          }
        await fs.rm(dir!.root, { recursive: true, force: true });
        await fs.rm(archive!.root, { force: true });
      }),
      { numRuns: 40 },
    );
  });
});

describe('a recording with entries it could not record', () => {
  it('refuses every look at them (read, stat, lstat, readdir, readlink) instead of answering "absent", and says they exist', async () => {
    const dir = await tmp();
    {
      await fs.mkdir(path.join(dir, 'sys'), { recursive: true });
      await fs.writeFile(path.join(dir, 'epctl-snapshot.json'), JSON.stringify({ format: 'epctl-snapshot', version: 1, unrecorded: [{ path: '/proc/version', code: 'special', reason: 'a FIFO' }, { path: '/sys/x', code: 'EIO', reason: 'I/O error' }] }));
      const k = new SysrootKernel(dir);
      for (const call of [() => k.read('/proc/version'), () => k.stat('/proc/version'), () => k.lstat('/proc/version'), () => k.readdir('/proc/version'), () => k.readlink('/proc/version')])
        await expect(call()).rejects.toMatchObject({ code: 'ENXIO', exitCode: 7, hint: expect.stringContaining('was not recorded') });
      await expect(k.read('/sys/x')).rejects.toMatchObject({ code: 'EIO' });
      expect(await k.exists('/proc/version')).toBe(true);
      expect(await k.exists('/proc/cmdline')).toBe(false);
    }
  });
});
