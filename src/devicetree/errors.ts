// The device-tree errors that are not a property's bad bytes (DtParseError, decode.ts): no tree
// at all, a file that cannot be read, and two nodes holding one phandle.
import { EpctlError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';
import { DtParseError } from './decode.js';

/** The kernel exposes no device tree: an ACPI system, or /sys/firmware is not mounted. */
export class DtMissingError extends EpctlError {
  readonly path: string;
  constructor(path: string) {
    super(
      `${path}: no such directory; the kernel exposes no device tree here — an ACPI (not device-tree) system, or sysfs is not mounted at /sys — so epctl cannot read msi-map or find the ITS`,
      { exitCode: EXIT.BAD_DATA },
    );
    this.path = path;
  }
}

/** A device-tree file exists but cannot be read (EACCES, EIO, …). */
export class DtReadError extends EpctlError {
  readonly path: string;
  readonly code: string;
  constructor(path: string, code: string, cause: unknown) {
    // The port's own refusals (over the size limit, a special file, a link loop) say why in their hint.
    const told = (cause as { hint?: unknown } | undefined)?.hint;
    const what =
      code === 'EACCES' || code === 'EPERM'
        ? 'permission denied; run epctl as root or fix the mode of the recorded file'
        : typeof told === 'string'
          ? `${code}: ${told}`
          : `${code} while reading it; the device tree could not be read — retry, or re-record the board`;
    super(`${path}: ${what}`, { exitCode: EXIT.BAD_DATA, cause });
    this.path = path;
    this.code = code;
  }
}

/** Two live nodes hold the same phandle: references to it are ambiguous. Blames both phandle files. */
export class DuplicatePhandleError extends DtParseError {
  readonly phandle: number;
  /** Kernel paths of every phandle file holding the value, tree order. */
  readonly files: string[];
  constructor(phandle: number, files: string[]) {
    super(
      files[0]!,
      `phandle 0x${phandle.toString(16)} is also held by ${files.slice(1).join(', ')}, so a reference to it names ${files.length} nodes`,
      'give each node its own phandle: dtc numbers them from labels, so look for a hand-edited DTB or an overlay that sets phandle',
    );
    this.phandle = phandle;
    this.files = files;
  }
}
