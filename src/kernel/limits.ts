// The one home of epctl's size limits: how many bytes a read of a kernel file may return, and
// how big a recorded board (.tar.gz) may be. Each limit sits well above what the kernel writes
// there, so a real board never meets it, and well below what would hurt a small board's memory,
// so a broken or hostile recording is refused instead of read. Every backend's read goes
// through readLimit(); a refusal says the limit (formatBytes) so the person knows why.

export interface ReadLimit {
  /** The most bytes a read of this file may return. */
  bytes: number;
  /** What the limit is for, as it appears in the refusal ("a sysfs attribute (one page)"). */
  what: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * sysfs and configfs attributes are shown into one page (fs/sysfs/file.c sysfs_kf_seq_show,
 * fs/configfs/file.c fill_read_buffer: SIMPLE_ATTR_SIZE = PAGE_SIZE); 64 KiB covers arm64
 * kernels built with 64K pages.
 */
export const ATTRIBUTE_LIMIT: ReadLimit = { bytes: 64 * KiB, what: 'a sysfs/configfs attribute (one page, at most 64 KiB)' };

/**
 * One device-tree property (/sys/firmware/devicetree/base/..., drivers/of/kobj.c: a bin
 * attribute of the property's length). Boot-time properties live inside the flattened tree,
 * which arm64 caps at MAX_FDT_SIZE = 2 MiB (arch/arm64/include/asm/boot.h); 2 MiB covers any
 * property of a tree that can boot (overlays add small properties).
 */
export const DT_PROPERTY_LIMIT: ReadLimit = { bytes: 2 * MiB, what: 'a device-tree property (at most 2 MiB, arm64 MAX_FDT_SIZE)' };

/**
 * /sys/firmware/fdt: the boot tree as the bootloader passed it (drivers/of/fdt.c
 * of_fdt_raw_init, fdt_totalsize(initial_boot_params)). 2 MiB on arm64; 8 MiB leaves room for
 * other architectures' larger blobs.
 */
export const FDT_LIMIT: ReadLimit = { bytes: 8 * MiB, what: '/sys/firmware/fdt (at most 8 MiB)' };

/**
 * /proc/interrupts: one row per IRQ with one column per CPU (kernel/irq/proc.c
 * show_interrupts), ~11 bytes a cell: 16 MiB holds 256 CPUs × 6,000 IRQs.
 */
export const INTERRUPTS_LIMIT: ReadLimit = { bytes: 16 * MiB, what: '/proc/interrupts (at most 16 MiB)' };

/**
 * The kernel .config: ~300 KB for allyesconfig on arm64; /proc/config.gz is that text gzipped
 * (kernel/configs.c, CONFIG_IKCONFIG_PROC), ~70 KB. The caps leave a wide margin.
 */
export const KCONFIG_LIMITS = {
  compressed: { bytes: 4 * MiB, what: '/proc/config.gz (at most 4 MiB compressed)' } satisfies ReadLimit,
  inflated: { bytes: 16 * MiB, what: 'the kernel .config (at most 16 MiB inflated)' } satisfies ReadLimit,
};

/**
 * /proc/kallsyms: one line per kernel and module symbol, ~40 bytes each; an arm64 distro kernel
 * with modules loaded lists ~200,000 (8 MiB). 64 MiB leaves room for KALLSYMS_ALL builds.
 */
export const KALLSYMS_LIMIT: ReadLimit = { bytes: 64 * MiB, what: '/proc/kallsyms (at most 64 MiB)' };

/** Anything else epctl reads (/proc/version, /proc/mounts, /proc/cmdline, ...). */
export const DEFAULT_LIMIT: ReadLimit = { bytes: 4 * MiB, what: 'a kernel file (at most 4 MiB)' };

// Where sysfs exposes the device tree (drivers/of/kobj.c) and procfs links to it (fs/proc/root.c).
const DT_DIRS = ['/sys/firmware/devicetree/', '/proc/device-tree/'];

function under(path: string, dir: string): boolean {
  return path.startsWith(dir);
}

/** The read limit of a kernel path ("/proc/interrupts", "/sys/kernel/config/pci_ep/..."). */
export function readLimit(path: string): ReadLimit {
  if (path === '/sys/firmware/fdt') return FDT_LIMIT;
  if (DT_DIRS.some((d) => under(path, d))) return DT_PROPERTY_LIMIT;
  if (path === '/proc/interrupts') return INTERRUPTS_LIMIT;
  if (path === '/proc/kallsyms') return KALLSYMS_LIMIT;
  if (path === '/proc/config.gz') return KCONFIG_LIMITS.compressed;
  if (path.startsWith('/boot/config-')) return KCONFIG_LIMITS.inflated;
  if (under(path, '/sys/')) return ATTRIBUTE_LIMIT;
  return DEFAULT_LIMIT;
}

/**
 * A recorded board as one .tar.gz, read in memory. A recording holds the pci_ep configfs, the
 * device tree, a few /proc files and the sysfs paths probe reads: a few MB and a few thousand
 * entries on a ~1,000-node tree.
 */
export const ARCHIVE_LIMITS = {
  compressed: { bytes: 32 * MiB, what: 'a recorded board archive (at most 32 MiB compressed)' } satisfies ReadLimit,
  inflated: { bytes: 128 * MiB, what: 'a recorded board archive (at most 128 MiB inflated)' } satisfies ReadLimit,
  entries: 100_000,
  /** PATH_MAX (include/uapi/linux/limits.h), counting the trailing NUL. */
  pathBytes: 4096,
  /** NAME_MAX (include/uapi/linux/limits.h). */
  nameBytes: 255,
  /** Directory depth: sysfs device paths are ~20 deep; a DT path adds ~10. */
  depth: 128,
};

/** "64 KiB", "16 MiB", "100 bytes". */
export function formatBytes(n: number): string {
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= KiB && n % KiB === 0) return `${n / KiB} KiB`;
  return `${n} bytes`;
}
