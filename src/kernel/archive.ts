// Recorded boards as one .tar.gz (for a bug report or a test fixture): tar keeps what git and
// mail drop — empty directories (an empty functions/<driver>/ is a fact), modes, symlinks.
// Entries are written in sorted order with a fixed mtime, so the same board gives the same bytes.
// Reading one back, in memory and bounded, is archive-read.ts.
import fs from 'node:fs/promises';
import nodePath from 'node:path';
import * as tar from 'tar';

// Named here for the writer (snapshot); defined with the reader, which has no `tar` dependency.

/** Every path below `dir`, relative, parents before children, sorted. */
async function listTree(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await fs.readdir(nodePath.join(dir, rel), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    out.push(p);
    if (e.isDirectory()) out.push(...(await listTree(dir, p)));
  }
  return out;
}

export async function packDir(dir: string, file: string): Promise<void> {
  const entries = await listTree(dir);
  await tar.create({ gzip: { level: 9 }, file, cwd: dir, portable: true, noDirRecurse: true, mtime: new Date(0) }, entries);
}
