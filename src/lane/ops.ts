// The differential test's vocabulary: one JSON-safe operation per system call a person's shell
// or epctl can issue on the pci_ep configfs tree, and what the kernel answered. The host
// generates Op lists, the guest runs them on the real kernel and the host on the fake (the same
// runOps, ./run-ops.ts), and recorded traces (./fixture.ts) store both sides as they are here.

/**
 * Paths are relative to the pci_ep root (`functions/pci_epf_test/f1/vendorid`). The component
 * `@group` right below a function directory stands for its type group (`<driver>.<N>`), which
 * the executor finds by listing, as N is only known to the kernel.
 */
export type Op =
  | { op: 'mkdir'; path: string }
  | { op: 'rmdir'; path: string }
  /** `echo -n DATA > PATH`: open(O_WRONLY) and one write(2) of the bytes (latin1, may be empty). */
  | { op: 'write'; path: string; data: string }
  /** `cat PATH`: one open and read of the whole value. */
  | { op: 'read'; path: string }
  | { op: 'readdir'; path: string }
  /** `ln -s TARGET PATH`; the target is given below the pci_ep root and passed as an absolute path. */
  | { op: 'symlink'; path: string; target: string }
  | { op: 'unlink'; path: string }
  /** `: > PATH` or `touch PATH`: open(O_WRONLY|O_CREAT|O_TRUNC[|O_EXCL]) and close. */
  | { op: 'create'; path: string; exclusive?: boolean }
  /** `mv PATH TO`: rename(2). */
  | { op: 'rename'; path: string; to: string }
  | { op: 'lstat'; path: string }
  | { op: 'readlink'; path: string }
  /** The /proc/interrupts rows of the endpoint controllers' doorbell chips (`ITS-pMSI-<epc>`). */
  | { op: 'interrupts' };

/** lstat(2) fields the differential compares. */
export interface StatFields {
  kind: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  size: number;
  nlink: number;
  uid: number;
  gid: number;
}

/** What one Op returned. Absent fields were not produced by that kind of call. */
export interface OpResult {
  /** "ok", the errno code ("EINVAL"), or "oops" when the call never returned (the kernel oopsed in it). */
  ret: string;
  /** write(2)'s count. */
  count?: number;
  /** read(2)'s bytes, latin1. */
  data?: string;
  /** readdir names, in the kernel's order. */
  names?: string[];
  stat?: StatFields;
  /** readlink text. */
  link?: string;
  /** /proc/interrupts rows (interrupts op). */
  rows?: string[];
  /** Kernel log records the call printed, each "<level>text" as printk prefixes them. */
  log: string[];
}

/** The placeholder for a function's type-group directory in Op paths. */
export const TYPE_GROUP = '@group';

/** The pci_ep root every Op path is below. */
export const PCI_EP_ROOT = '/sys/kernel/config/pci_ep';

/** The absolute kernel path of an Op path. */
export function kernelPath(rel: string): string {
  return rel === '' ? PCI_EP_ROOT : `${PCI_EP_ROOT}/${rel}`;
}

/** One line for a report: `symlink functions/pci_epf_test/f1 -> controllers/x/l`. */
export function describeOp(o: Op): string {
  switch (o.op) {
    case 'write':
      return `write ${o.path} ${JSON.stringify(o.data)}`;
    case 'symlink':
      return `symlink ${o.path} -> ${o.target}`;
    case 'rename':
      return `rename ${o.path} ${o.to}`;
    case 'create':
      return `create${o.exclusive ? ' (O_EXCL)' : ''} ${o.path}`;
    case 'interrupts':
      return 'interrupts';
    default:
      return `${o.op} ${o.path}`;
  }
}
