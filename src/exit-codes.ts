// Exit codes of every epctl command, one per failure class; documented in README.md.
// 1 is the generic error; 2 is kept for `plan` ("changes pending").
export const EXIT = {
  OK: 0,
  /** A kernel operation or another step failed. */
  ERROR: 1,
  /** Reserved: `plan` found changes to make. */
  PENDING: 2,
  /** --root does not hold a recorded board, or a file it must hold is missing. */
  NO_BOARD: 3,
  /** configfs is not mounted at /sys/kernel/config. */
  NO_CONFIGFS: 4,
  /** configfs is mounted but has no pci_ep: the kernel lacks CONFIG_PCI_ENDPOINT_CONFIGFS. */
  NO_ENDPOINT: 5,
  /** The endpoint framework is there but no endpoint controller probed. */
  NO_CONTROLLER: 6,
  /** A kernel file held data epctl cannot parse (device-tree property, /proc/interrupts), or one it refuses to read (special, over its size limit). */
  BAD_DATA: 7,
  /** The (fake) kernel oopsed: epctl issued a sequence that crashes a real kernel. */
  KERNEL_OOPS: 8,
  /** The command line was wrong: unknown option, board or kernel version. */
  USAGE: 64,
  /** A bug in epctl: a stack trace was printed. */
  BUG: 70,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
