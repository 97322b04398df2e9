// Where this system's tracefs is: the tracefs line of /proc/mounts (fs/proc_namespace.c),
// /sys/kernel/tracing first; else the automount under debugfs, /sys/kernel/debug/tracing,
// which only shows in /proc/mounts once something looked at it (fs/tracefs/inode.c). A
// directory that exists but has no instances/ is not a usable tracefs here (epctl needs a
// private instance so that it never touches the top-level buffer someone else may be using).
import type { KernelPort } from '../kernel/port.js';
import { readTextIfExists } from '../kernel/port.js';
import { PROC_MOUNTS, parseMounts } from '../procfs/mounts.js';
import { TRACEFS, DEBUGFS_TRACING } from './paths.js';

export interface TracefsLocation {
  root: string;
  /** How it was found: a /proc/mounts line, or the debugfs automount. */
  via: 'mounts' | 'debugfs';
}

export async function findTracefs(port: KernelPort): Promise<TracefsLocation | undefined> {
  const mounts = parseMounts((await readTextIfExists(port, PROC_MOUNTS)) ?? '');
  const points = mounts.filter((m) => m.type === 'tracefs').map((m) => m.mountPoint);
  points.sort((a, b) => (a === TRACEFS ? -1 : b === TRACEFS ? 1 : 0));
  for (const root of points) if (await port.exists(`${root}/instances`)) return { root, via: 'mounts' };
  if (await port.exists(`${DEBUGFS_TRACING}/instances`)) return { root: DEBUGFS_TRACING, via: 'debugfs' };
  return undefined;
}
