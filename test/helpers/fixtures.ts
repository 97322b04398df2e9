// The recorded boards of test/fixtures/sysroot/*.tar.gz: read in memory as `--root FILE.tar.gz`
// does, or unpacked once per test file into a temporary directory that is removed when the
// file's tests end.
import fs from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';
import { afterAll } from 'vitest';
import { tempDirs } from './tmp.js';

export const FIXTURES = path.resolve('test/fixtures/sysroot');
export const fixtureArchive = (name: string): string => path.join(FIXTURES, `${name}.tar.gz`);

const unpacked = new Map<string, Promise<string>>();
const tempDir = tempDirs('epctl-fixture');
afterAll(() => unpacked.clear());

/** A directory holding the fixture (shared: do not change it). */
export function fixtureDir(name: string): Promise<string> {
  let dir = unpacked.get(name);
  if (!dir) {
    dir = tempDir().then(async (d) => {
      await tar.extract({ file: fixtureArchive(name), cwd: d, preserveOwner: false });
      return d;
    });
    unpacked.set(name, dir);
  }
  return dir;
}

/** A private, writable copy of the fixture, to break. */
export async function fixtureCopy(name: string): Promise<string> {
  const dir = await tempDir();
  await fs.cp(await fixtureDir(name), dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}
