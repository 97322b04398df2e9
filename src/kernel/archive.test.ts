// `--root FILE.tar.gz`: the archive is read in memory (archive-read.ts, ustar.ts) with limits on
// its compressed and inflated size and its entry count; what cannot be a recorded board is
// refused as one line naming the file, exit 3; nothing is unpacked to disk.
import { beforeEach, describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/helpers/tmp.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { createWriteStream } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import * as tar from 'tar';
import { ArchiveError, readArchive } from './archive-read.js';
import { readTar, TarFormatError } from './ustar.js';
import { SysrootKernel } from './sysroot.js';
import { openPort } from './open.js';
import { EpctlError } from './errors.js';
import { ARCHIVE_LIMITS } from './limits.js';
import type { KernelPort } from './port.js';
import { EXIT } from '../exit-codes.js';
import { TAR_END, type Board, boardTar, tarEntry, ustarHeader, within, writeBoardDir } from '../../test/helpers/hostile-sysroot.js';
import { fixtureArchive } from '../../test/helpers/fixtures.js';
import { epctl, noStackTrace } from '../../test/helpers/cli.js';

const tmp = tempDirs('epctl-archive', { each: true });
let dir: string;
beforeEach(async () => {
  dir = await tmp();
});

/** Every entry under `at`: path → kind and content (file text, link text). */
async function walk(k: KernelPort, at = '/', out: Record<string, string> = {}): Promise<Record<string, string>> {
  for (const name of await k.readdir(at)) {
    const p = at === '/' ? `/${name}` : `${at}/${name}`;
    const s = await k.lstat(p);
    if (s.kind === 'dir') {
      out[p] = 'dir';
      await walk(k, p, out);
    } else if (s.kind === 'symlink') out[p] = `-> ${await k.readlink(p)}`;
    else if (s.kind === 'file') out[p] = `file ${Buffer.from(await k.read(p)).toString('base64')}`;
    else out[p] = 'other';
  }
  return out;
}

async function refusal(file: string): Promise<ArchiveError> {
  const e = await within(10_000, readArchive(file)).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(ArchiveError);
  expect((e as ArchiveError).exitCode).toBe(EXIT.NO_BOARD);
  expect((e as ArchiveError).message).toContain(file);
  expect((e as ArchiveError).message).not.toContain('\n');
  return e as ArchiveError;
}

const gz = (tarData: Buffer): Buffer => gzipSync(tarData);

async function archiveOf(name: string, data: Buffer): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, data);
  return file;
}

/** A gzip bomb: 1 MiB over the inflate cap of zeros, streamed so the test never holds it. */
async function bomb(): Promise<string> {
  const file = path.join(dir, 'bomb.tar.gz');
  const chunk = Buffer.alloc(2 ** 20);
  const mib = ARCHIVE_LIMITS.inflated.bytes / 2 ** 20 + 1;
  const zeros = function* (): Generator<Buffer> {
    for (let i = 0; i < mib; i++) yield chunk;
  };
  await pipeline(Readable.from(zeros()), createGzip(), createWriteStream(file));
  return file;
}

describe('readArchive reads what tar writers write', () => {
  it('reads a fixture written by `epctl snapshot` (node-tar, pax) exactly as its unpacked directory', async () => {
    const unpacked = path.join(dir, 'imx95');
    await fs.mkdir(unpacked);
    await tar.extract({ file: fixtureArchive('imx95'), cwd: unpacked, preserveOwner: false });
    const fromDir = await walk(new SysrootKernel(unpacked));
    expect(Object.keys(fromDir).length).toBeGreaterThan(100);
    expect(await walk(new SysrootKernel(await readArchive(fixtureArchive('imx95')), 'imx95.tar.gz'))).toEqual(fromDir);
  });

  it('reads GNU tar archives (long names, FIFOs, hard links) as the directory they came from', async () => {
    const long = `sys/firmware/devicetree/base/${'soc@0/'.repeat(20)}compatible`;
    const board: Board = {
      [long]: { kind: 'file', bytes: 'fsl,imx95-pcie-ep\0' },
      'sys/class/pci_epc/x': { kind: 'symlink', target: `../../firmware/devicetree/base/${'soc@0/'.repeat(20)}` },
      'proc/interrupts': { kind: 'fifo' },
      'proc/version': { kind: 'file', bytes: 'Linux version 7.3.4\n' },
    };
    const src = path.join(dir, 'src');
    await fs.mkdir(src);
    await writeBoardDir(board, src);
    await fs.link(path.join(src, 'proc/version'), path.join(src, 'proc/version-again'));
    for (const format of ['gnu', 'pax', 'ustar']) {
      const file = path.join(dir, `${format}.tar.gz`);
      if (format === 'ustar') {
        // ustar cannot hold the long name: leave it out.
        execFileSync('tar', ['-czf', file, '--format=ustar', '-C', src, 'proc']);
        expect(await walk(new SysrootKernel(await readArchive(file), file), '/proc')).toEqual(await walk(new SysrootKernel(src), '/proc'));
        continue;
      }
      execFileSync('tar', ['-czf', file, `--format=${format}`, '-C', src, '.']);
      const k = new SysrootKernel(await readArchive(file), file);
      expect(await walk(k)).toEqual(await walk(new SysrootKernel(src)));
      expect(new TextDecoder().decode(await k.read('/proc/version-again'))).toBe('Linux version 7.3.4\n');
      await expect(within(2000, k.read('/proc/interrupts'))).rejects.toMatchObject({ code: 'ENXIO' });
    }
  });
});

describe('readArchive refuses what cannot be a recorded board, naming the file', () => {
  it('refuses data that is not gzip, an empty file, and gzip cut short', async () => {
    expect((await refusal(await archiveOf('junk.tar.gz', Buffer.from('not gzip')))).message).toContain('not gzip data');
    expect((await refusal(await archiveOf('empty.tar.gz', Buffer.alloc(0)))).message).toContain('not gzip data');
    const whole = gz(boardTar({ 'proc/version': { kind: 'file', bytes: 'x'.repeat(5000) } }));
    expect((await refusal(await archiveOf('cut.tar.gz', whole.subarray(0, whole.length >> 1)))).message).toContain('damaged');
  });

  it(`stops inflating a gzip bomb at ${ARCHIVE_LIMITS.inflated.bytes / 2 ** 20} MiB and says the limit`, async () => {
    const file = await bomb();
    expect((await fs.stat(file)).size).toBeLessThan(1 << 20);
    const e = await refusal(file);
    expect(e.message).toContain('more than 128 MiB');
    expect(e.hint).toContain('128 MiB');
  });

  it(`refuses an archive over ${ARCHIVE_LIMITS.compressed.bytes / 2 ** 20} MiB compressed without reading it all`, async () => {
    const file = path.join(dir, 'huge.tar.gz');
    await fs.writeFile(file, gzipSync(Buffer.alloc(10)));
    await fs.truncate(file, ARCHIVE_LIMITS.compressed.bytes + 1); // sparse: costs no disk
    const e = await refusal(file);
    expect(e.message).toContain('larger than 32 MiB');
    expect(e.hint).toContain('32 MiB compressed');
  });

  it('refuses tar data with a bad checksum, an unknown entry type or no end-of-archive block', async () => {
    const file = tarEntry({ name: 'proc/version', type: '0' }, Buffer.from('x'));
    expect((await refusal(await archiveOf('sum.tar.gz', gz(Buffer.concat([tarEntry({ name: 'proc/version', type: '0', badChecksum: true }), TAR_END]))))).message).toContain('checksum');
    expect((await refusal(await archiveOf('sparse.tar.gz', gz(Buffer.concat([tarEntry({ name: 'proc/x', type: 'S' }), TAR_END]))))).message).toContain('type "S"');
    expect((await refusal(await archiveOf('noend.tar.gz', gz(file)))).message).toContain('truncated');
    const big = ustarHeader({ name: 'proc/version', type: '0', size: 4096 });
    expect((await refusal(await archiveOf('past.tar.gz', gz(Buffer.concat([big, Buffer.alloc(512)]))))).message).toContain('truncated');
  });

  it('refuses entry names that would leave the root: absolute, "..", NUL, or under a file or link', async () => {
    const cases: [string, Buffer[], string][] = [
      ['abs', [tarEntry({ name: '/etc/passwd', type: '0' })], 'absolute'],
      ['dotdot', [tarEntry({ name: 'proc/../../etc/passwd', type: '0' })], '".."'],
      ['nul', [tarEntry({ name: 'proc/version\0/x', type: '0' })], 'NUL'],
      ['under-file', [tarEntry({ name: 'proc', type: '0' }), tarEntry({ name: 'proc/version', type: '0' })], 'not a directory'],
      ['under-link', [tarEntry({ name: 'proc', type: '2', linkname: '/etc' }), tarEntry({ name: 'proc/passwd', type: '0' })], 'not a directory'],
      ['hardlink-missing', [tarEntry({ name: 'proc/version', type: '1', linkname: 'proc/none' })], 'not an earlier regular file'],
      ['hardlink-out', [tarEntry({ name: 'proc/version', type: '1', linkname: '../etc/passwd' })], '".."'],
      ['too-deep', [tarEntry({ name: 'd/'.repeat(ARCHIVE_LIMITS.depth + 1) + 'f', type: '0' })], 'deeper'],
      ['too-long', [tarEntry({ name: 'a'.repeat(ARCHIVE_LIMITS.nameBytes + 1), type: '0' })], 'NAME_MAX'],
    ];
    for (const [name, entries, why] of cases) {
      const e = await refusal(await archiveOf(`${name}.tar.gz`, gz(Buffer.concat([...entries, TAR_END]))));
      expect(e.message, name).toContain(why);
    }
  });

  it('caps the entry count, and says the cap', () => {
    const data = Buffer.concat([...Array.from({ length: 4 }, (_, i) => tarEntry({ name: `f${i}`, type: '0' })), TAR_END]);
    expect(readTar(data, 4)).toHaveLength(4);
    const e = (() => {
      try {
        readTar(data, 3);
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(TarFormatError);
    expect(e).toMatchObject({ overLimit: '3 entries' });
  });

  it('reads a hard link to an earlier file as that file, and a later entry replaces an earlier one', async () => {
    const data = Buffer.concat([
      tarEntry({ name: 'proc/version', type: '0' }, Buffer.from('one')),
      tarEntry({ name: 'proc/again', type: '1', linkname: './proc/version' }),
      tarEntry({ name: 'proc/cmdline', type: '0' }, Buffer.from('old')),
      tarEntry({ name: 'proc/cmdline', type: '0' }, Buffer.from('new')),
      TAR_END,
    ]);
    const k = new SysrootKernel(await readArchive(await archiveOf('links.tar.gz', gz(data))), 'links.tar.gz');
    expect(new TextDecoder().decode(await k.read('/proc/again'))).toBe('one');
    expect(new TextDecoder().decode(await k.read('/proc/cmdline'))).toBe('new');
  });
});

describe('--root FILE.tar.gz', () => {
  it('opens through openPort without a temporary directory, and a refusal is one line with --root and the fix, exit 3', async () => {
    // A private TMPDIR (os.tmpdir() reads it on each call): anything made there is ours.
    const privateTmp = path.join(dir, 'tmp');
    await fs.mkdir(privateTmp);
    const saved = process.env['TMPDIR'];
    process.env['TMPDIR'] = privateTmp;
    try {
      expect(os.tmpdir()).toBe(privateTmp);
      const good = await openPort({ root: fixtureArchive('imx95') });
      expect(good.port.backend).toBe('sysroot');
      expect(good.port.origin).toBe(fixtureArchive('imx95'));
      expect((await good.port.readdir('/')).length).toBeGreaterThan(0);
      expect(await fs.readdir(privateTmp)).toEqual([]); // while open: nothing unpacked
      await good.close();
      const bad = await openPort({ root: await archiveOf('junk.tar.gz', Buffer.from('junk')) }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(EpctlError);
      expect(bad).toMatchObject({ exitCode: EXIT.NO_BOARD, hint: expect.stringContaining('epctl snapshot') });
      expect((bad as Error).message).toBe(`--root ${path.join(dir, 'junk.tar.gz')}: not a readable .tar.gz: it is not gzip data`);
    } finally {
      if (saved === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = saved;
    }
    expect(await fs.readdir(privateTmp)).toEqual([]);
  });

  it('the CLI says a bomb is over the limit in one line plus the fix, never a stack trace', async () => {
    const file = await bomb();
    const r = await epctl(['probe', '--root', file]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toBe(
      `epctl: --root ${file}: not a readable .tar.gz: it inflates to more than 128 MiB, the limit for a recorded board\n` +
        "  fix: epctl reads at most 128 MiB inflated of a recorded board, and a board's recording is a few MB: check that this is the right file, or re-record the board with `epctl snapshot BOARD.tar.gz`",
    );
    expect(noStackTrace(r)).toBe(true);
  });
});
