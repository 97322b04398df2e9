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
  | 'rename';

export interface KernelErrorInit {
  code: ErrnoCode;
  syscall: KernelOp;
  path: string;
  /** Second path of a two-path call: the link target of symlink. */
  dest?: string;
  /** Kernel log lines the failing call printed (dmesg), oldest first. */
  log?: readonly string[];
  hint?: string;
  /** True when the fake kernel oopsed in this call: the real one would never return. */
  oops?: boolean;
  cause?: unknown;
}

/** A failed kernel file operation: errno, syscall and path, as node:fs reports them. */
export class KernelError extends EpctlError {
  readonly code: ErrnoCode;
  readonly errno: number;
  readonly syscall: KernelOp;
  readonly path: string;
  readonly dest: string | undefined;
  readonly log: readonly string[];
  readonly oops: boolean;

  constructor(init: KernelErrorInit) {
    const { errno, description } = ERRNO[init.code];
    const where = init.dest === undefined ? `'${init.path}'` : `'${init.dest}' -> '${init.path}'`;
    const prefix = init.oops ? 'kernel oops' : `${init.code}: ${description}`;
    super(`${prefix}, ${init.syscall} ${where}`, {
      exitCode: init.oops ? EXIT.KERNEL_OOPS : EXIT.ERROR,
      ...(init.hint === undefined ? {} : { hint: init.hint }),
      cause: init.cause,
    });
    this.code = init.code;
    this.errno = -errno;
    this.syscall = init.syscall;
    this.path = init.path;
    this.dest = init.dest;
    this.log = init.log ?? [];
    this.oops = init.oops ?? false;
  }

  /** A copy with kernel log lines or a hint attached (errors are immutable). */
  with(extra: { log?: readonly string[]; hint?: string }): KernelError {
    return new KernelError({
      code: this.code,
      syscall: this.syscall,
      path: this.path,
      ...(this.dest === undefined ? {} : { dest: this.dest }),
      log: extra.log ?? this.log,
      ...((extra.hint ?? this.hint) === undefined ? {} : { hint: extra.hint ?? this.hint }),
      oops: this.oops,
      cause: this.cause,
    });
  }
}

export function isKernelError(e: unknown, code?: ErrnoCode): e is KernelError {
  return e instanceof KernelError && (code === undefined || e.code === code);
}

/** Turns a node:fs error from a real or sysroot backend into a KernelError. */
export function fromNodeError(e: unknown, syscall: KernelOp, path: string, dest?: string): KernelError | unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (!isErrnoCode(code)) return e;
  return new KernelError({ code, syscall, path, ...(dest === undefined ? {} : { dest }), cause: e });
}
