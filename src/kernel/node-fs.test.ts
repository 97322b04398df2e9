import { describe, it, expect } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import { readFdBounded } from './node-fs.js';
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
