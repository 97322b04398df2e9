// /proc/mounts (fs/proc_namespace.c show_vfsmnt): "device mountpoint type options 0 0", with
// space, tab, newline and backslash in names escaped as \040 \011 \012 \134.
export const PROC_MOUNTS = '/proc/mounts';

export interface MountEntry {
  device: string;
  mountPoint: string;
  type: string;
  options: string[];
}

const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Total: lines that are not four fields or more are skipped. */
export function parseMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 4 || !f[0] || !f[1] || !f[2]) continue;
    out.push({ device: unescape(f[0]), mountPoint: unescape(f[1]), type: f[2], options: f[3]!.split(',') });
  }
  return out;
}
