// Temporary directories a test file makes, removed after its last test (the suite fails if a
// test leaves anything in the temp directory: test/global-setup.ts).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

/** Returns a maker of new temp directories named PREFIX-*, all removed after the file's tests. */
export function tempDirs(prefix: string): () => Promise<string> {
  const made: string[] = [];
  afterAll(async () => {
    for (const d of made.splice(0)) await fs.rm(d, { recursive: true, force: true });
  });
  return async () => {
    const d = await fs.mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
    made.push(d);
    return d;
  };
}
