import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/helpers/tmp.js';
import { newcArchive, padTo, type CpioEntry } from './cpio.js';

const tmp = tempDirs('epctl-cpio');

const ENTRIES: CpioEntry[] = [
  { kind: 'dir', name: 'bin' },
  { kind: 'file', name: 'bin/busybox', data: Buffer.from('\x7fELF fake'), mode: 0o755 },
  { kind: 'symlink', name: 'bin/sh', target: 'busybox' },
  { kind: 'file', name: 'init', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
  { kind: 'file', name: 'odd', data: Buffer.from('abc') },
];

/** Reads a newc archive back: the test's independent parser of the layout. */
function parse(buf: Buffer): { name: string; mode: number; data: string }[] {
  const out = [];
  let off = 0;
  for (;;) {
    expect(buf.toString('ascii', off, off + 6)).toBe('070701');
    const field = (i: number) => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const name = buf.toString('utf8', off + 110, off + 110 + nameSize - 1);
    off += 110 + nameSize;
    off += (4 - (off % 4)) % 4;
    const data = buf.toString('utf8', off, off + size);
    off += size;
    off += (4 - (off % 4)) % 4;
    if (name === 'TRAILER!!!') break;
    out.push({ name, mode, data });
  }
  expect(off).toBe(buf.length);
  return out;
}

describe('the newc cpio writer', () => {
  it('writes headers, names and data on 4-byte boundaries, ending in a trailer', () => {
    const entries = parse(Buffer.concat(newcArchive(ENTRIES)));
    expect(entries.map((e) => [e.name, e.mode.toString(8), e.data])).toEqual([
      ['bin', '40755', ''],
      ['bin/busybox', '100755', '\x7fELF fake'],
      ['bin/sh', '120777', 'busybox'],
      ['init', '100755', '#!/bin/sh\n'],
      ['odd', '100644', 'abc'],
    ]);
  });

  it('refuses absolute names and ..', () => {
    expect(() => newcArchive([{ kind: 'dir', name: '/etc' }])).toThrow(/relative/);
    expect(() => newcArchive([{ kind: 'dir', name: 'a/../b' }])).toThrow(/relative/);
  });

  it('pads to 512-byte blocks', () => {
    expect(padTo(0).length).toBe(0);
    expect(padTo(1).length).toBe(511);
    expect(padTo(1024).length).toBe(0);
  });

  const haveCpio = (() => {
    try {
      execFileSync('cpio', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  it.runIf(haveCpio)('GNU cpio extracts what it writes', async () => {
    const dir = await tmp();
    const archive = path.join(dir, 'a.cpio');
    fs.writeFileSync(archive, Buffer.concat(newcArchive(ENTRIES)));
    const root = path.join(dir, 'root');
    fs.mkdirSync(root);
    execFileSync('cpio', ['-i', '-d', '--quiet', '-F', archive], { cwd: root });
    expect(fs.readFileSync(path.join(root, 'bin/busybox'), 'utf8')).toBe('\x7fELF fake');
    expect(fs.readlinkSync(path.join(root, 'bin/sh'))).toBe('busybox');
    expect(fs.statSync(path.join(root, 'init')).mode & 0o777).toBe(0o755);
  });
});
