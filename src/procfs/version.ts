// /proc/version: the running kernel's release. fs/proc/version.c prints linux_proc_banner,
// "%s version %s (%s@%s) (%s) %s\n" with utsname sysname, release, builder, host, compiler and
// version ("Linux version 7.3.4 (builder@host) (aarch64-linux-gnu-gcc …) #1 PREEMPT …"). The
// release is the token after "Linux version "; it is what `uname -r` prints.
import { KernelDataError } from '../kernel/errors.js';
import { readText, type KernelPort } from '../kernel/port.js';
import { parseRelease } from '../kernel/version.js';

export const PROC_VERSION = '/proc/version';

/** /proc/version held no "Linux version <release>" banner. */
export class ProcVersionError extends KernelDataError {
  constructor(path: string, text: string) {
    const shown = text.length > 120 ? `${text.slice(0, 120)}…` : text;
    const hint = `check that ${path} is a copy of /proc/version from the board (cat /proc/version)`;
    super(path, `expected "Linux version <release> …", found ${JSON.stringify(shown)}`, { hint });
  }
}

const BANNER = 'Linux version ';

/** The release ("7.3.4", "6.12.117+deb12-arm64") from /proc/version text. */
export function parseProcVersion(text: string, path = PROC_VERSION): string {
  const at = text.indexOf(BANNER);
  if (at < 0 || text.slice(0, at).trim() !== '') throw new ProcVersionError(path, text);
  let end = at + BANNER.length;
  while (end < text.length && !/\s/.test(text.charAt(end))) end++;
  const release = text.slice(at + BANNER.length, end);
  if (!parseRelease(release)) throw new ProcVersionError(path, text);
  return release;
}

/** Reads /proc/version through the port and returns the release. */
export async function readKernelRelease(port: KernelPort): Promise<string> {
  return parseProcVersion(await readText(port, PROC_VERSION));
}
