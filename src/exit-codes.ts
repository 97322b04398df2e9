// Exit codes of every epctl command, one per failure class; documented in README.md and in
// `epctl --help` (test/e2e/exit-codes.test.ts holds the three together).
// 1 is the generic error; 2 is `plan`'s "changes pending"; 64, 65, 69, 70, 73, 74 and 75 follow
// BSD sysexits.h (EX_USAGE, EX_DATAERR, EX_UNAVAILABLE, EX_SOFTWARE, EX_CANTCREAT, EX_IOERR,
// EX_TEMPFAIL).
export const EXIT = {
  OK: 0,
  /** A kernel operation or another step failed. */
  ERROR: 1,
  /** `plan` found changes to make. */
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
  /**
   * The command line was wrong: unknown option, an option the command does not use, board or
   * kernel version, a snapshot target or --mock-state file that cannot be used. Checked before
   * anything is read or written. Also a `devmem` access refused against the device tree
   * (unaligned, outside every reg range, a store into RAM): nothing is read or written at the
   * address, and the fix is another address or --force.
   */
  USAGE: 64,
  /** The config file is not valid (sysexits EX_DATAERR): every issue with file, line and column. */
  CONFIG: 65,
  /**
   * `--agent`: no epctl agent answers on its socket (missing, refused, not allowed), or it ended
   * the stream (sysexits EX_UNAVAILABLE: a service is unavailable).
   */
  AGENT_UNAVAILABLE: 69,
  /** A bug in epctl: a stack trace was printed. */
  BUG: 70,
  /**
   * Writing an output file failed partway (disk full, I/O error); what the run wrote is removed.
   * Also `service install` finding a unit that differs from its own (it may hold local edits):
   * nothing is written, and the fix is --force; and `service uninstall` finding a unit that
   * differs or is still enabled: nothing is removed, the fix is --force (or `systemctl disable`).
   */
  CANT_WRITE: 73,
  /** Standard output could not be written (closed pipe, full disk); epctl stops quietly. */
  STDOUT: 74,
  /**
   * `doorbell status --wait-ready`: the timeout passed before every doorbell function was ready
   * (sysexits EX_TEMPFAIL: a temporary state, try again later); the reasons are printed.
   */
  NOT_READY: 75,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * One line per code, as `epctl --help` prints it; README.md's table starts each meaning with
 * the same words.
 */
export const EXIT_SUMMARY: Readonly<Record<ExitCode, string>> = {
  0: 'success',
  1: 'error: a kernel operation or another step failed',
  2: '`plan` found changes to make',
  3: '`--root` does not hold a recorded board, or `/proc/version` is missing',
  4: 'configfs is not mounted',
  5: 'configfs has no `pci_ep`',
  6: 'no endpoint controller probed',
  7: 'a kernel file is unreadable or holds data epctl cannot parse',
  8: 'the simulated kernel oopsed',
  64: 'bad command line',
  65: 'the config file is not valid',
  69: 'the agent is unavailable: no epctl agent answers on the `--agent` socket',
  70: 'a bug in epctl',
  73: 'an output file could not be written',
  74: 'standard output could not be written',
  75: 'not ready: `doorbell status --wait-ready` timed out before every doorbell was ready',
};
