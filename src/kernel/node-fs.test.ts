import { describe, it, expect } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import fsSync from 'node:fs';
import { nonBlockingLines, readFdBounded } from './node-fs.js';
import { tempDirs } from '../../test/helpers/tmp.js';

const tmp = tempDirs('epctl-nodefs');

describe('readFdBounded', () => {
  it('reads the whole file whatever size fstat claimed (0 as procfs says, a page as sysfs says, the exact size, too much)', async () => {
    const file = path.join(await tmp(), 'f');
    const data = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
    await fs.writeFile(file, data);
    for (const hint of [0, 1, 4096, 10_000, 9_999, 1 << 20]) {
      const fh = await fs.open(file, 'r');
      try {
        expect(Buffer.from(await readFdBounded(fh, 64 * 1024, hint)).equals(data), `hint ${hint}`).toBe(true);
      } finally {
        await fh.close();
      }
    }
  });

  it('stops at limit + 1 bytes so the caller can refuse the file, without reading the rest', async () => {
    const file = path.join(await tmp(), 'big');
    await fs.writeFile(file, '');
    await fs.truncate(file, 256 << 20);
    for (const hint of [0, 256 << 20]) {
      const fh = await fs.open(file, 'r');
      try {
        expect((await readFdBounded(fh, 5000, hint)).length).toBe(5001);
      } finally {
        await fh.close();
      }
    }
  });
});

describe('nonBlockingLines', () => {
  it('tells the open fd (for an exit hook to close before rmdir of a trace instance), then undefined before it closes it', async () => {
    const file = path.join(await tmp(), 'pipe');
    await fs.writeFile(file, 'a\nb\n');
    const fds: Array<number | undefined> = [];
    const lines: string[] = [];
    for await (const l of nonBlockingLines(file, undefined, 1, (fd) => fds.push(fd))) {
      lines.push(l);
      expect(fsSync.fstatSync(fds[0]!).isFile()).toBe(true);
    }
    expect(lines).toEqual(['a', 'b']);
    expect(fds).toHaveLength(2);
    expect(typeof fds[0]).toBe('number');
    expect(fds[1]).toBeUndefined();
  });
});
