// The generated /proc files of the fake kernel that are not the IRQ table: /proc/mounts
// (fs/proc_namespace.c), /proc/filesystems (fs/filesystems.c), /proc/sys/kernel/tainted
// (kernel/panic.c bits), and a read-only KernelPort over the memfs part for the lookups the
// modelled kernel makes in its own device tree.
import type { Volume } from 'memfs';
import type { KernelPort, KernelStat } from '../kernel/port.js';
import { isErrnoCode } from '../kernel/errno.js';
import { KernelError, type KernelOp } from '../kernel/errors.js';
import { EMBEDDED_DOORBELL_SYMBOL, type DoorbellImplementation } from '../procfs/kallsyms.js';

export type ProcFile = 'mounts' | 'tainted' | 'filesystems' | 'kallsyms';

export interface ProcView {
  taint: readonly string[];
  /** CONFIG_CONFIGFS_FS. */
  configfs: boolean;
  configfsMounted: boolean;
  /** The RC-to-EP doorbell code the kernel carries, shown through its symbols. */
  doorbell: DoorbellImplementation;
  /** The kernel has pci_epf_alloc_doorbell()'s embedded (DMA) fallback. */
  embeddedDoorbell: boolean;
  /** CONFIG_FTRACE: tracefs is a filesystem type. */
  ftrace: boolean;
  /** tracefs mounted at /sys/kernel/tracing. */
  tracefsMounted: boolean;
}

/**
 * /proc/kallsyms (kernel/kallsyms.c s_show: "%px %c %s\n", modules add "\t[name]"): a few of the
 * endpoint core's symbols and the doorbell code's. The write-message callback is static (`t`);
 * the merged code gates pci-ep-msi.c on CONFIG_PCI_ENDPOINT_MSI_DOORBELL (drivers/pci/endpoint/Makefile).
 */
function kallsyms(doorbell: DoorbellImplementation, embedded: boolean): string {
  const syms: [string, string][] = [
    ['T', '_text'],
    ['T', 'pci_epc_create'],
    ['T', 'pci_epc_start'],
    ['T', 'pci_epf_bind'],
    ['T', 'pci_epf_unbind'],
    // pci-epc-core.c, built whatever CONFIG_PCI_ENDPOINT_MSI_DOORBELL says.
    ...(embedded ? ([['T', 'pci_epc_get_aux_resources_count'], ['T', EMBEDDED_DOORBELL_SYMBOL]] as [string, string][]) : []),
    ...(doorbell === 'merged' ? ([['t', 'pci_epf_write_msi_msg'], ['T', 'pci_epf_alloc_doorbell'], ['T', 'pci_epf_free_doorbell']] as [string, string][]) : []),
    ...(doorbell === 'posted-v9' ? ([['t', 'pci_epc_write_msi_msg'], ['t', 'pci_epc_alloc_doorbell'], ['T', 'pci_epf_alloc_doorbell'], ['T', 'pci_epf_free_doorbell']] as [string, string][]) : []),
    ['T', '_etext'],
  ];
  return syms.map(([t, n], i) => `${(0xffff800080010000n + BigInt(i) * 0x1a40n).toString(16)} ${t} ${n}\n`).join('');
}

export function procText(file: ProcFile, v: ProcView): string {
  switch (file) {
    case 'tainted': {
      // kernel/panic.c: bit 7 TAINT_DIE, bit 9 TAINT_WARN.
      const bits = (v.taint.includes('D') ? 1 << 7 : 0) | (v.taint.includes('W') ? 1 << 9 : 0);
      return `${bits}\n`;
    }
    case 'kallsyms':
      return kallsyms(v.doorbell, v.embeddedDoorbell);
    case 'filesystems':
      return ['nodev\tsysfs', 'nodev\tproc', 'nodev\ttmpfs', 'nodev\tdevtmpfs', ...(v.configfs ? ['nodev\tconfigfs'] : []), 'nodev\tdebugfs', ...(v.ftrace ? ['nodev\ttracefs'] : []), '\text4', ''].join('\n');
    case 'mounts':
      return [
        '/dev/root / ext4 rw,relatime 0 0',
        'devtmpfs /dev devtmpfs rw,relatime,mode=755 0 0',
        'proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0',
        'sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0',
        ...(v.configfsMounted && v.configfs ? ['configfs /sys/kernel/config configfs rw,nosuid,nodev,noexec,relatime 0 0'] : []),
        'debugfs /sys/kernel/debug debugfs rw,nosuid,nodev,noexec,relatime 0 0',
        ...(v.ftrace && v.tracefsMounted ? ['tracefs /sys/kernel/tracing tracefs rw,nosuid,nodev,noexec,relatime 0 0'] : []),
        '',
      ].join('\n');
  }
}

export function memfsStat(vol: Volume, p: string, follow: boolean): KernelStat {
  const s = follow ? vol.statSync(p) : vol.lstatSync(p);
  const kind = s.isSymbolicLink() ? 'symlink' : s.isDirectory() ? 'dir' : 'file';
  return { kind, mode: Number(s.mode) & 0o7777, size: Number(s.size), nlink: Number(s.nlink), uid: 0, gid: 0 };
}

/** A read-only KernelPort over a memfs Volume, with node:fs-shaped KernelErrors. */
export function memfsPort(vol: Volume, origin: string): KernelPort {
  const call = <T>(op: KernelOp, path: string, fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn());
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      return Promise.reject(isErrnoCode(code) ? new KernelError({ code, syscall: op, path, cause: e }) : e);
    }
  };
  const readOnly = (op: KernelOp, path: string): Promise<never> => Promise.reject(new KernelError({ code: 'EROFS', syscall: op, path }));
  return {
    backend: 'fake',
    origin,
    read: (p) => call('open', p, () => vol.readFileSync(p) as Buffer),
    readdir: (p) => call('scandir', p, () => (vol.readdirSync(p) as string[]).sort()),
    lstat: (p) => call('lstat', p, () => memfsStat(vol, p, false)),
    stat: (p) => call('stat', p, () => memfsStat(vol, p, true)),
    exists: (p) => Promise.resolve(vol.existsSync(p)),
    readlink: (p) => call('readlink', p, () => String(vol.readlinkSync(p))),
    write: (p) => readOnly('write', p),
    create: (p) => readOnly('open', p),
    rename: (f) => readOnly('rename', f),
    mkdir: (p) => readOnly('mkdir', p),
    rmdir: (p) => readOnly('rmdir', p),
    symlink: (_t, p) => readOnly('symlink', p),
    unlink: (p) => readOnly('unlink', p),
    lines: (p) => ({ [Symbol.asyncIterator]: () => ({ next: () => readOnly('open', p) }) }),
    kmsg: () => readOnly('open', '/dev/kmsg'),
    peek: () => readOnly('devmem', '/dev/mem'),
    poke: () => readOnly('devmem', '/dev/mem'),
    loadModule: (m) => readOnly('modprobe', m),
    mountConfigfs: () => readOnly('mount', '/sys/kernel/config'),
  };
}
