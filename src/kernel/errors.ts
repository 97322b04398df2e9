// One error family for everything epctl reports. KernelError mirrors node:fs errors
// (code, errno, syscall, path, same message shape) so callers cannot tell which backend
// failed; EpctlError subclasses carry the exit code and the fix a person should try.
import { ERRNO, type ErrnoCode, isErrnoCode } from './errno.js';
import { EXIT, type ExitCode } from '../exit-codes.js';

export class EpctlError extends Error {
  /** Process exit code when this error ends a command (see src/exit-codes.ts). */
  readonly exitCode: ExitCode;
  /** What the person should do about it, one sentence; printed under the message. */
  readonly hint: string | undefined;

  constructor(message: string, opts: { exitCode?: ExitCode; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.exitCode = opts.exitCode ?? EXIT.ERROR;
    this.hint = opts.hint;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/**
 * A kernel file was read but does not hold what the kernel writes there (a device-tree property
 * of the wrong length, /proc/interrupts that is not the kernel's table, a `start` that is not
 * "0" or "1"). The one way readers say "this file is invalid": probe reports it against the path
 * and goes on with the rest of the board; a command that needed the value exits 7.
 */
export class KernelDataError extends EpctlError {
  /** Kernel path of the file. */
  readonly path: string;
  /** What is wrong with it, without the path. */
  readonly reason: string;

  constructor(path: string, reason: string, opts: { hint?: string; message?: string; cause?: unknown } = {}) {
    super(opts.message ?? `${path}: ${reason}${opts.hint ? `; ${opts.hint}` : ''}`, { exitCode: EXIT.BAD_DATA, ...(opts.hint === undefined ? {} : { hint: opts.hint }), cause: opts.cause });
    this.path = path;
    this.reason = reason;
  }
}

/** The kernel operations of the port; the names node:fs uses as `syscall`. */
export type KernelOp =
  | 'open'
  | 'read'
  | 'write'
  | 'mkdir'
  | 'rmdir'
  | 'symlink'
  | 'unlink'
  | 'scandir'
  | 'readlink'
  | 'stat'
  | 'lstat'
  | 'rename'
  | 'modprobe'
  | 'mount'
  | 'devmem';

export interface KernelErrorInit {
  code: ErrnoCode;
  syscall: KernelOp;
  path: string;
  /** Second path of a two-path call: the link target of symlink. */
  dest?: string;
  /** Kernel log lines the failing call printed (dmesg), oldest first. */
  log?: readonly string[];
  hint?: string;
  cause?: unknown;
  /** When the failure is the data's fault rather than the call's (a refused file): EXIT.BAD_DATA. */
  exitCode?: ExitCode;
}

/** A failed kernel file operation: errno, syscall and path, as node:fs reports them. */
export class KernelError extends EpctlError {
  readonly code: ErrnoCode;
  readonly errno: number;
  readonly syscall: KernelOp;
  readonly path: string;
  readonly dest: string | undefined;
  readonly log: readonly string[];

  constructor(init: KernelErrorInit) {
    const { errno, description } = ERRNO[init.code];
    super(`${init.code}: ${description}, ${init.syscall} ${where(init)}`, {
      exitCode: init.exitCode ?? EXIT.ERROR,
      ...(init.hint === undefined ? {} : { hint: init.hint }),
      cause: init.cause,
    });
    this.code = init.code;
    this.errno = -errno;
    this.syscall = init.syscall;
    this.path = init.path;
    this.dest = init.dest;
    this.log = init.log ?? [];
  }
}

function where(init: { path: string; dest?: string | undefined }): string {
  return init.dest === undefined ? `'${init.path}'` : `'${init.dest}' -> '${init.path}'`;
}

/**
 * The (fake) kernel oopsed inside this call. A real kernel never returns from such a call:
 * the calling thread dies and locks stay held (observed 7.3.4 in the QEMU lane), so epctl must never issue
 * the sequence. Not a KernelError: there is no errno to retry on.
 */
export class KernelOops extends EpctlError {
  readonly syscall: KernelOp;
  readonly path: string;
  readonly dest: string | undefined;
  /** The oops lines the kernel printed. */
  readonly log: readonly string[];

  constructor(init: { syscall: KernelOp; path: string; dest?: string; log: readonly string[] }) {
    super(`kernel oops, ${init.syscall} ${where(init)}: the kernel crashed in this call`, {
      exitCode: EXIT.KERNEL_OOPS,
      hint: 'a real kernel would not have returned; reboot the board before going on',
    });
    this.syscall = init.syscall;
    this.path = init.path;
    this.dest = init.dest;
    this.log = init.log;
  }
}

export function isKernelError(e: unknown, code?: ErrnoCode): e is KernelError {
  return e instanceof KernelError && (code === undefined || e.code === code);
}

/** Turns a node:fs error from a real or sysroot backend into a KernelError. */
export function fromNodeError(e: unknown, syscall: KernelOp, path: string, dest?: string): KernelError | unknown {
  const raw = (e as NodeJS.ErrnoException | undefined)?.code;
  // libuv names errno 95 ENOTSUP; on Linux it is the kernel's EOPNOTSUPP (same number), the name
  // the kernel and the fake use (seen by the differential on a type-group write while linked).
  const code = raw === 'ENOTSUP' ? 'EOPNOTSUPP' : raw;
  if (!isErrnoCode(code)) return e;
  return new KernelError({ code, syscall, path, ...(dest === undefined ? {} : { dest }), cause: e });
}
