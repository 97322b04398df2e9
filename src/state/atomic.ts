// Writing a file so that a reader (or a crash) sees the old bytes or the new ones, never half:
// a temp file with a unique name in the same directory, fsync, rename over, fsync the
// directory. `backups` keeps the replaced versions as FILE.1 (newest) … FILE.N.
import fs from 'node:fs/promises';
import nodePath from 'node:path';
import { alive } from './lock.js';
import { randomBytes } from 'node:crypto';

export interface AtomicOptions {
  mode?: number;
  /** Replaced versions to keep (FILE.1 newest); 0 keeps none. */
  backups?: number;
}

export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: AtomicOptions = {}): Promise<void> {
  const dir = nodePath.dirname(file);
  await removeOrphans(dir, nodePath.basename(file));
  const tmp = nodePath.join(dir, `.${nodePath.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await fs.open(tmp, 'wx', opts.mode ?? 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    if (opts.backups) await rotate(file, opts.backups);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  // The rename is durable once the directory entry is.
  const d = await fs.open(dir, 'r').catch(() => undefined);
  await d?.sync().catch(() => undefined);
  await d?.close();
}

/** FILE.(n-1) → FILE.n …, then a copy of FILE → FILE.1 (a copy: FILE stays in place until the rename). */
async function rotate(file: string, keep: number): Promise<void> {
  try {
    await fs.access(file);
  } catch {
    return;
  }
  for (let i = keep - 1; i >= 1; i--) await fs.rename(`${file}.${i}`, `${file}.${i + 1}`).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  await fs.copyFile(file, `${file}.1`);
}

/** Temp files of FILE left by a writer that was killed (its pid is gone): removed before writing again. */
async function removeOrphans(dir: string, base: string): Promise<void> {
  const prefix = `.${base}.`;
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const m = name.startsWith(prefix) && /^(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && !alive(pid)) await fs.rm(nodePath.join(dir, name), { force: true });
  }
}
