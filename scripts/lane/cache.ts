// The lane's cache outside the clone: where it lives (EPCTL_LANE_CACHE, else
// $XDG_CACHE_HOME/epctl-lane), how artifacts are keyed (exact package versions and input
// hashes, made safe for paths) and marked complete, and the free-disk check made before
// anything big is unpacked or built.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LaneError } from './errors.js';

/** The cache root, from the environment: EPCTL_LANE_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/epctl-lane. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.EPCTL_LANE_CACHE) return path.resolve(env.EPCTL_LANE_CACHE);
  const xdg = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(xdg, 'epctl-lane');
}

/** A path-safe key from a package version or name (`7.3.4-1~bpo13+1` → `7.3.4-1_bpo13_1`). */
export function safeKey(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** 12 hex digits of SHA-256 over the parts, for keying an artifact by its inputs. */
export function hashOf(...parts: (string | Uint8Array)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 12);
}

const STAMP = '.epctl-lane-done';

/** True when `dir` was completed by markDone with the same key (an interrupted step leaves no stamp); `stage` names one of several stamps. */
export async function isDone(dir: string, key: string, stage = ''): Promise<boolean> {
  try {
    return (await fs.readFile(path.join(dir, STAMP + stage), 'utf8')) === key;
  } catch {
    return false;
  }
}

/** Marks `dir` (or one `stage` of it) complete for `key`. */
export async function markDone(dir: string, key: string, stage = ''): Promise<void> {
  await fs.writeFile(path.join(dir, STAMP + stage), key);
}

/** Fails unless the filesystem holding `dir` has `bytes` free. */
export async function requireFreeDisk(dir: string, bytes: number, what: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const st = await fs.statfs(dir);
  const free = st.bavail * st.bsize;
  if (free < bytes)
    throw new LaneError(
      'disk',
      `${what} needs about ${(bytes / 1e9).toFixed(1)} GB free under ${dir}; only ${(free / 1e9).toFixed(1)} GB is`,
      'free space there, or point EPCTL_LANE_CACHE at a larger filesystem',
    );
}
