// Temporary directories a test file makes, and their removal: after each test (`each`), or
// after the file's last test. The one way tests make temp directories (the suite fails if a
// test leaves anything in the temp directory: test/global-setup.ts).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach } from 'vitest';

/** Returns a maker of new temp directories named PREFIX-*, all removed by the hook chosen. */
export function tempDirs(prefix: string, opts: { each?: boolean } = {}): () => Promise<string> {
  const made: string[] = [];
  (opts.each ? afterEach : afterAll)(async () => {
    await Promise.all(made.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
  });
  return async () => {
    const d = await fs.mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
    made.push(d);
    return d;
  };
}
