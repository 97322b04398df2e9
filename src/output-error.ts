// Files epctl writes for the user (a snapshot, a --mock-state file) live on the host, not in a
// kernel: a failure there is the user's disk or permissions, never a bug. One place turns such
// a node:fs error into one line naming the file and a fix, with the exit code of its class.
import { EpctlError } from './kernel/errors.js';
import { EXIT, type ExitCode } from './exit-codes.js';

/**
 * A node:fs system error on the host (an errno code and a syscall), as opposed to a bug. Not a
 * KernelError: that has the same shape on purpose, but is the board's, not the host's.
 */
export function isSystemError(e: unknown): e is NodeJS.ErrnoException & { code: string } {
  return e instanceof Error && !(e instanceof EpctlError) && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

/** What to do about a host I/O errno. */
export function hostFix(code: string | undefined): string {
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'free space on that file system, or give a path on another one';
    case 'EROFS':
      return 'that file system is read-only: give a path on a writable one';
    case 'EACCES':
    case 'EPERM':
      return 'give a path in a directory you can write (check its owner and mode)';
    case 'ENOENT':
      return 'a file or directory epctl was using is gone: check the path exists and nothing else removes it, then run again';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a directory: give a path under a directory';
    case 'EISDIR':
      return 'the path is a directory: give a file name';
    case 'ENAMETOOLONG':
      return 'give a shorter path';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files: raise the limit (ulimit -n) or close other programs';
    default:
      return 'check the disk (dmesg may say more) and run again';
  }
}

/** "cannot write WHAT PATH: ENOSPC: no space left on device" with its fix. */
export function writeFailure(what: string, path: string, e: unknown, exitCode: ExitCode = EXIT.CANT_WRITE, after = ''): EpctlError {
  const code = isSystemError(e) ? e.code : undefined;
  const detail = isSystemError(e) ? `${e.code}: ${describe(e)}` : (e as Error)?.message ?? String(e);
  return new EpctlError(`cannot write ${what} ${path}: ${detail}${after}`, { exitCode, hint: hostFix(code), cause: e });
}

/** node's message without its repeated "CODE: " prefix and path suffix. */
function describe(e: NodeJS.ErrnoException): string {
  const m = /^[A-Z]+: ([^,]+)/.exec(e.message);
  return m ? m[1]! : e.message;
}
