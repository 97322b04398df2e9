// Where this system's tracefs is: the tracefs line of /proc/mounts (fs/proc_namespace.c),
// /sys/kernel/tracing first; else the automount under debugfs, /sys/kernel/debug/tracing,
// which only shows in /proc/mounts once something looked at it (fs/tracefs/inode.c). A
// directory that exists but has no instances/ is not a usable tracefs here (epctl needs a
// private instance so that it never touches the top-level buffer someone else may be using).
// The roots are mode 0700 (fs/tracefs/inode.c TRACEFS_DEFAULT_MODE, fs/debugfs/inode.c
// DEBUGFS_DEFAULT_MODE): a user who is not root gets EACCES on instances/, which is said as
// such ("run as root"), never taken for "no tracefs".
import type { KernelPort } from '../kernel/port.js';
import { KernelError } from '../kernel/errors.js';
import { readTextIfExists } from '../kernel/port.js';
import { PROC_MOUNTS, parseMounts } from '../procfs/mounts.js';
import { TRACEFS, DEBUGFS_TRACING } from './paths.js';

export interface TracefsLocation {
  root: string;
  /** How it was found: a /proc/mounts line, or the debugfs automount. */
  via: 'mounts' | 'debugfs';
}

/** tracefs is there but this user may not look into it. */
export interface TracefsDenied {
  denied: string;
  code: 'EACCES' | 'EPERM';
}

/** The location, a denial (not root), or undefined when there is no usable tracefs. */
export async function findTracefs(port: KernelPort): Promise<TracefsLocation | TracefsDenied | undefined> {
  const mounts = parseMounts((await readTextIfExists(port, PROC_MOUNTS)) ?? '');
  const points = mounts.filter((m) => m.type === 'tracefs').map((m) => m.mountPoint);
  points.sort((a, b) => (a === TRACEFS ? -1 : b === TRACEFS ? 1 : 0));
  let denied: TracefsDenied | undefined;
  // stat with its error: EACCES/EPERM is remembered, anything else means "not here".
  const usable = async (dir: string): Promise<boolean> => {
    try {
      return (await port.stat(dir)).kind === 'dir';
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
      if ((e.code === 'EACCES' || e.code === 'EPERM') && !denied) denied = { denied: dir, code: e.code };
      return false;
    }
  };
  for (const root of points) if (await usable(`${root}/instances`)) return { root, via: 'mounts' };
  if (await usable(`${DEBUGFS_TRACING}/instances`)) return { root: DEBUGFS_TRACING, via: 'debugfs' };
  return denied;
}

export const isDenied = (r: TracefsLocation | TracefsDenied | undefined): r is TracefsDenied => r !== undefined && 'denied' in r;
