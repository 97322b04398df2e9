// The fake kernel's public face: how tests, benchmarks and `--mock` make one and steer it.
// It implements KernelPort, so epctl cannot tell it from a board; the extras here are the
// controls a lab would have (load a module, inject a fault) and what a test inspects
// (operation log, kernel log, taint).
import type { KernelPort } from '../kernel/port.js';
import type { ErrnoCode } from '../kernel/errno.js';
import type { BoardProfile, EpfDriverName } from '../boards/types.js';
import type { FakeHost } from './host.js';

export type { FakeHost, HostEndpoint } from './host.js';

/** Operations recorded in the op log and matched by fault rules. */
export type FakeOp = 'read' | 'write' | 'create' | 'rename' | 'mkdir' | 'rmdir' | 'symlink' | 'unlink' | 'readdir' | 'readlink' | 'stat' | 'lstat';

/**
 * Kernel-internal points where a fault makes the kernel's own error path run, as when the
 * hardware or an allocation fails: `epc_start` (pci_epc_start fails: EINVAL + "failed to
 * start endpoint controller"), `epf_bind` (the driver's bind fails with the errno),
 * `alloc_doorbell` (pci_epf_alloc_doorbell fails with the errno).
 */
export type FakeHook = 'epc_start' | 'epf_bind' | 'alloc_doorbell';

export interface FaultRule {
  op: FakeOp | FakeHook;
  /**
   * Kernel path the operation touches, as a glob: `*` matches within one path component,
   * `**` across components. For hooks: the controller's `start` path (epc_start) or the
   * function directory (epf_bind, alloc_doorbell).
   */
  path: string;
  errno: ErrnoCode;
  /** Fail the nth matching operation from now (1 = the next one). Default 1. */
  nth?: number;
}

export interface OpLogEntry {
  seq: number;
  op: FakeOp;
  path: string;
  /** symlink target; rename's new name. */
  dest?: string;
  /** Bytes written, as text (write only). */
  data?: string;
  /** "ok", the errno code, or "oops" when the call crashed the modelled kernel. */
  result: 'ok' | ErrnoCode | 'oops';
}

export interface KernelLogRecord {
  /** printk level 0..7 (3 err, 4 warning, 6 info). */
  level: number;
  /** Microseconds since boot. */
  usec: number;
  /** The message, without timestamp (`pci_epc 7e000000.pcie-ep: failed to start endpoint controller`). */
  text: string;
}

export interface FakeKernelOptions {
  /** A built-in board name (--mock) or a profile. */
  board: string | BoardProfile;
  /** "6.1", "6.12", "7.3" or a full release ("6.12.117"); default "7.3.4". */
  kernel?: string;
  /** Kernel config overrides, e.g. { PCI_ENDPOINT_MSI_DOORBELL: 'n' }. */
  config?: Readonly<Record<string, 'y' | 'm' | 'n'>>;
  /** configfs mounted at /sys/kernel/config (default true). */
  configfsMounted?: boolean;
}

export interface FakeKernel extends KernelPort {
  readonly backend: 'fake';
  readonly board: BoardProfile;
  /** uname -r of the modelled kernel ("7.3.4"). */
  readonly release: string;
  /** Set once the modelled kernel oopsed or WARNed (taint flags as /proc/sys/kernel/tainted). */
  readonly tainted: boolean;
  readonly opLog: readonly OpLogEntry[];
  /** Kernel log records, oldest first (what dmesg shows). */
  kernelLog(): readonly KernelLogRecord[];
  /** The kernel log as text lines without timestamps. */
  dmesg(): string[];
  /** Make a later operation fail (see FaultRule). */
  injectFault(rule: FaultRule): void;
  /** insmod of an EPF driver module: functions/<driver>/ and the sysfs driver appear. */
  modprobe(driver: EpfDriverName): void;
  /** rmmod: refused (EBUSY) while a function of the driver is linked. */
  rmmod(driver: EpfDriverName): void;
  /** The simulated host at the other end of the link: BAR reads and writes through each function's inbound windows. */
  readonly host: FakeHost;
  /** Everything needed to recreate this kernel exactly (JSON-safe). */
  toState(): FakeKernelState;
  /**
   * Continue from the state another process saved to the same --mock-state file (it rang a
   * doorbell, made a function): keeps this process's tracefs instances and feeds them the
   * irq events recorded there.
   */
  adopt(state: FakeKernelState): Promise<void>;
  /** A call changed the board (outside tracefs instances): its state is worth saving. */
  changedBoard(): boolean;
  /** Keep every call in opLog ('all', the default), or only the ones that change something ('changes': a long-running watch). */
  keepOpLog(mode: 'all' | 'changes'): void;
}

/** Saved model state (--mock-state FILE): the board and kernel it belongs to, and the model. */
export interface FakeKernelState {
  format: 'epctl-fake-kernel';
  version: 1;
  board: string;
  release: string;
  /** The kernel config overrides and mount the kernel was created with (FakeKernelOptions). */
  config?: Readonly<Record<string, 'y' | 'm' | 'n'>>;
  configfsMounted?: boolean;
  model: unknown;
}
