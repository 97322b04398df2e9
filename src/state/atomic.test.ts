// Atomic writes: the file is the old bytes or the new ones; backups rotate; a killed writer's
// temp file is removed by the next write, a live writer's is left alone.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import { tempDirs } from '../../test/helpers/tmp.js';
import { writeFileAtomic } from './atomic.js';

const tmp = tempDirs('epctl-atomic', { each: true });

describe('writeFileAtomic', () => {
  it('replaces the file and keeps the replaced versions newest first, up to the count', async () => {
    const dir = await tmp();
    const f = path.join(dir, 'epctl.yaml');
    for (const v of ['1', '2', '3', '4', '5']) await writeFileAtomic(f, v, { backups: 3 });
    expect(await fs.readFile(f, 'utf8')).toBe('5');
    expect(await Promise.all(['.1', '.2', '.3'].map((s) => fs.readFile(f + s, 'utf8')))).toEqual(['4', '3', '2']);
    await expect(fs.access(f + '.4')).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await fs.readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it("removes the temp file of a writer that died, and leaves a live one's", async () => {
    const dir = await tmp();
    const f = path.join(dir, 'state.json');
    const dead = path.join(dir, `.state.json.${2 ** 22 + 3}.0123456789ab.tmp`);
    const live = path.join(dir, `.state.json.${process.ppid}.0123456789ab.tmp`);
    await fs.writeFile(dead, 'half');
    await fs.writeFile(live, 'in progress');
    await writeFileAtomic(f, '{}');
    await expect(fs.access(dead)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.access(live)).resolves.toBeUndefined();
  });
});
