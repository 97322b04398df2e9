// The recorded boards of test/fixtures/sysroot/*.tar.gz, unpacked once per test process.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { unpackToTemp } from '../../src/kernel/archive.js';

export const FIXTURES = path.resolve('test/fixtures/sysroot');
export const fixtureArchive = (name: string): string => path.join(FIXTURES, `${name}.tar.gz`);

const unpacked = new Map<string, Promise<string>>();

/** A directory holding the fixture (shared: do not change it). */
export function fixtureDir(name: string): Promise<string> {
  let dir = unpacked.get(name);
  if (!dir) {
    dir = unpackToTemp(fixtureArchive(name));
    unpacked.set(name, dir);
  }
  return dir;
}

/** A private, writable copy of the fixture, to break. */
export async function fixtureCopy(name: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `epctl-${name}-`));
  await fs.cp(await fixtureDir(name), dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}
