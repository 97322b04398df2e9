// The recorded boards of test/fixtures/sysroot/*.tar.gz: read in memory as `--root FILE.tar.gz`
// does, or unpacked once per test file into a temporary directory that is removed when the
// file's tests end.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { afterAll } from 'vitest';

export const FIXTURES = path.resolve('test/fixtures/sysroot');
export const fixtureArchive = (name: string): string => path.join(FIXTURES, `${name}.tar.gz`);

const unpacked = new Map<string, Promise<string>>();
const made: string[] = [];

afterAll(async () => {
  await Promise.all(made.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
  unpacked.clear();
});

async function tempDir(name: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `epctl-${name}-`));
  made.push(dir);
  return dir;
}

/** A directory holding the fixture (shared: do not change it). */
export function fixtureDir(name: string): Promise<string> {
  let dir = unpacked.get(name);
  if (!dir) {
    dir = tempDir(name).then(async (d) => {
      await tar.extract({ file: fixtureArchive(name), cwd: d, preserveOwner: false });
      return d;
    });
    unpacked.set(name, dir);
  }
  return dir;
}

/** A private, writable copy of the fixture, to break. */
export async function fixtureCopy(name: string): Promise<string> {
  const dir = await tempDir(name);
  await fs.cp(await fixtureDir(name), dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}
