// The board lock across real processes: however many runs race for a dead holder's lock, at
// most one holds it at any moment; a live holder is named; release removes only our own lock.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { execa } from 'execa';
import { tempDirs } from '../../test/helpers/tmp.js';
import { acquireLock } from './lock.js';

const tmp = tempDirs('epctl-lock');
let bundle: string;
let dir: string;

beforeAll(async () => {
  dir = await tmp();
  bundle = path.join(dir, 'lock.mjs');
  await build({ entryPoints: ['src/state/lock.ts'], outfile: bundle, bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' });
});
afterAll(async () => fs.rm(dir, { recursive: true, force: true }));

/** A run that takes the lock, marks itself inside, checks it is alone, and lets go. */
const WORKER = `
import fs from 'node:fs';
const [bundle, lockFile, marks, id, at] = process.argv.slice(2);
const { acquireLock } = await import(bundle);
// All runs of a round start at the same moment, so they really race.
while (Date.now() < Number(at)) {}
const lock = await acquireLock(lockFile, 'apply', 20000);
const mine = marks + '/' + id;
fs.writeFileSync(mine, '');
await new Promise((r) => setTimeout(r, 30));
const others = fs.readdirSync(marks).filter((m) => m !== id);
fs.rmSync(mine);
await lock.release();
if (others.length) { console.log('overlap with ' + others.join(',')); process.exit(1); }
`;

describe('the board lock', () => {
  it('lets only one of several racing processes hold it, also when they race over a dead holder', async () => {
    const worker = path.join(dir, 'worker.mjs');
    await fs.writeFile(worker, WORKER);
    for (let round = 0; round < 6; round++) {
      const lockFile = path.join(dir, `r${round}.lock`);
      const marks = path.join(dir, `marks${round}`);
      await fs.mkdir(marks);
      // A holder that died: same host, a pid no process has.
      await fs.writeFile(lockFile, JSON.stringify({ pid: 2 ** 22 + 7, host: os.hostname(), command: 'apply', since: 'then' }));
      const at = Date.now() + 1500;
      const runs = await Promise.all([0, 1, 2, 3].map((i) => execa(process.execPath, [worker, bundle, lockFile, marks, String(i), String(at)], { reject: false })));
      for (const r of runs) expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      await expect(fs.access(lockFile)).rejects.toMatchObject({ code: 'ENOENT' });
    }
  });

  it('names a live holder, and release leaves a lock that is not ours', async () => {
    const lockFile = path.join(dir, 'live.lock');
    const held = await acquireLock(lockFile, 'apply');
    await expect(acquireLock(lockFile, 'clear')).rejects.toThrow(new RegExp(`another epctl \\(pid ${process.pid} on .*, \`epctl apply\``));
    // Someone replaced it (a takeover after we were stopped for long): our release leaves theirs.
    await fs.writeFile(lockFile, JSON.stringify({ pid: 1, host: 'elsewhere', command: 'apply', since: 'now' }));
    await held.release();
    expect(JSON.parse(await fs.readFile(lockFile, 'utf8')).host).toBe('elsewhere');
    await fs.rm(lockFile);
  });
});
