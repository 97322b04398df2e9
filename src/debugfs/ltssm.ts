// The link state of a DesignWare endpoint controller, from debugfs: since v6.15 every DWC
// controller has /sys/kernel/debug/dwc_pcie_<dev_name>/ltssm_status, mode 0444
// (drivers/pci/controller/dwc/pcie-designware-debugfs.c, dwc_pcie_debugfs_init and
// dwc_pcie_ltssm_status_show: seq_printf("%s (0x%02x)\n", name, val) with the name stripped of
// "DW_PCIE_LTSSM_", "UNKNOWN" for values the enum does not name). It is the only generic link
// signal an EPC exports (pci_epc sysfs has no link-state file), so it is what tells "no doorbell events" apart from
// "no link". "%02x" is a minimum width: posted patches add L1_1 (0x141) and L1_2 (0x142)
// (linux-pci, 2026, not merged), so any number of hex digits from two on parses.
import type { KernelPort } from '../kernel/port.js';
import { readTextIfExists } from '../kernel/port.js';
import { KernelDataError, KernelError } from '../kernel/errors.js';
import { parseMounts, PROC_MOUNTS } from '../procfs/mounts.js';
import type { KernelVersion } from '../kernel/version.js';
import { kernelBehaviour } from '../kernel/behaviour.js';

/** Where debugfs is mounted by convention (Documentation/filesystems/debugfs.rst). */
export const DEBUGFS = '/sys/kernel/debug';

/** The file for EPC `epc` under a debugfs mounted at `mountPoint`. */
export const ltssmPath = (epc: string, mountPoint: string = DEBUGFS): string => `${mountPoint}/dwc_pcie_${epc}/ltssm_status`;

/**
 * enum dw_pcie_ltssm (drivers/pci/controller/dwc/pcie-designware.h) in encoding order, 0x00 to
 * 0x23; the values are inferred from the enum order (pcie-designware.h dw_pcie_ltssm). L0 is 0x11.
 */
export const LTSSM_STATES: readonly string[] = [
  'DETECT_QUIET', 'DETECT_ACT', 'POLL_ACTIVE', 'POLL_COMPLIANCE', 'POLL_CONFIG', 'PRE_DETECT_QUIET', 'DETECT_WAIT',
  'CFG_LINKWD_START', 'CFG_LINKWD_ACEPT', 'CFG_LANENUM_WAI', 'CFG_LANENUM_ACEPT', 'CFG_COMPLETE', 'CFG_IDLE',
  'RCVRY_LOCK', 'RCVRY_SPEED', 'RCVRY_RCVRCFG', 'RCVRY_IDLE', 'L0', 'L0S', 'L123_SEND_EIDLE', 'L1_IDLE', 'L2_IDLE',
  'L2_WAKE', 'DISABLED_ENTRY', 'DISABLED_IDLE', 'DISABLED', 'LPBK_ENTRY', 'LPBK_ACTIVE', 'LPBK_EXIT',
  'LPBK_EXIT_TIMEOUT', 'HOT_RESET_ENTRY', 'HOT_RESET', 'RCVRY_EQ0', 'RCVRY_EQ1', 'RCVRY_EQ2', 'RCVRY_EQ3',
];

/** The PCIe LTSSM phase a DWC state name belongs to (by its name's prefix, as the enum groups them). */
export type LtssmPhase = 'detect' | 'polling' | 'configuration' | 'recovery' | 'l0' | 'power-management' | 'disabled' | 'loopback' | 'hot-reset' | 'unknown';

export interface Ltssm {
  /** The state as the kernel names it: "L0", "DETECT_QUIET", "UNKNOWN". */
  state: string;
  /** Its value (enum dw_pcie_ltssm). */
  code: number;
  phase: LtssmPhase;
  /** L0: the link is up and carries TLPs (a host's doorbell write can arrive). */
  linkUp: boolean;
}

const PHASES: readonly [string, LtssmPhase][] = [
  ['DETECT', 'detect'],
  ['PRE_DETECT', 'detect'],
  ['POLL', 'polling'],
  ['CFG', 'configuration'],
  ['RCVRY', 'recovery'],
  ['L0S', 'power-management'],
  ['L1', 'power-management'],
  ['L2', 'power-management'],
  ['DISABLED', 'disabled'],
  ['LPBK', 'loopback'],
  ['HOT_RESET', 'hot-reset'],
];

function phaseOf(state: string): LtssmPhase {
  if (state === 'L0') return 'l0';
  return PHASES.find(([p]) => state.startsWith(p))?.[1] ?? 'unknown';
}

/** One line for people: "L0 (0x11): link up". */
export function describeLtssm(l: Ltssm): string {
  const hex = `0x${l.code.toString(16).padStart(2, '0')}`;
  const what: Record<LtssmPhase, string> = {
    l0: 'link up',
    detect: 'no link: detecting a partner (host off, no cable, or the controller not started)',
    polling: 'no link yet: polling',
    configuration: 'no link yet: configuring lanes',
    recovery: 'link retraining (recovery)',
    'power-management': 'link in a low-power state',
    disabled: 'link disabled',
    loopback: 'link in loopback',
    'hot-reset': 'link in hot reset',
    unknown: 'a state epctl does not know',
  };
  return `${l.state} (${hex}): ${what[l.phase]}`;
}

/** ltssm_status held something dwc_pcie_ltssm_status_show never prints. */
export class LtssmParseError extends KernelDataError {
  constructor(path: string, text: string, reason: string) {
    const shown = JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
    super(path, `${reason}: ${shown}, but the kernel prints "NAME (0xNN)" there`, { hint: `read it again (cat ${path}); if it still holds that, report it with the kernel release` });
  }
}

/** A name as the kernel spells enum members (upper case, digits, underscores); bounded. */
const LINE = /^([A-Z][A-Z0-9_]{0,63}) \(0x([0-9a-f]{2,8})\)\n?$/;

/**
 * Parses ltssm_status text. Throws LtssmParseError (a KernelDataError, exit 7) for anything
 * else, and nothing else: no other exception escapes, whatever the bytes.
 */
export function parseLtssm(text: string, path = ltssmPath('<epc>')): Ltssm {
  if (typeof text !== 'string') throw new LtssmParseError(path, String(text), 'not text');
  // The kernel's line is at most 64 + 13 characters; a longer one is not its.
  const m = text.length > 96 ? null : LINE.exec(text);
  if (!m) throw new LtssmParseError(path, text, text === '' ? 'empty' : 'not one "NAME (0xNN)" line');
  const state = m[1]!;
  const code = parseInt(m[2]!, 16);
  const phase = phaseOf(state);
  return { state, code, phase, linkUp: phase === 'l0' };
}

/** Why there is no LTSSM reading. */
export type LinkUnavailable = 'debugfs-not-mounted' | 'kernel-too-old' | 'no-debugfs-config' | 'no-ltssm-file' | 'permission' | 'unreadable';

export type LinkState =
  | ({ available: true; path: string; text: string } & Ltssm)
  | { available: false; path: string; why: LinkUnavailable; reason: string; hint: string };

export interface LinkContext {
  /** The running kernel, when known. */
  version?: KernelVersion | undefined;
  /** CONFIG_DEBUG_FS, when the kernel config is readable. */
  debugFs?: 'y' | 'n' | undefined;
}

/**
 * The link state of `epc`: the parsed ltssm_status, or why there is none (debugfs not mounted,
 * per /proc/mounts; a kernel before 6.15; no CONFIG_DEBUG_FS; not a DesignWare controller).
 * Throws LtssmParseError for a file the kernel did not write, and KernelError for read failures
 * other than a missing file or a refused permission.
 */
export async function readLinkState(port: KernelPort, epc: string, ctx: LinkContext = {}): Promise<LinkState> {
  const mountsText = await readTextIfExists(port, PROC_MOUNTS).catch(() => undefined);
  const mounts = mountsText === undefined ? undefined : parseMounts(mountsText).filter((m) => m.type === 'debugfs');
  // debugfs may be mounted somewhere else too; read it where it is.
  const mountPoint = mounts?.find((m) => m.mountPoint === DEBUGFS)?.mountPoint ?? mounts?.[0]?.mountPoint ?? DEBUGFS;
  const path = ltssmPath(epc, mountPoint);
  const unavailable = (why: LinkUnavailable, reason: string, hint: string): LinkState => ({ available: false, path, why, reason, hint });

  if (mounts !== undefined && mounts.length === 0)
    return ctx.debugFs === 'n'
      ? unavailable('no-debugfs-config', `the kernel has no debugfs (CONFIG_DEBUG_FS is not set), so ${path} cannot exist`, 'build the kernel with CONFIG_DEBUG_FS=y to see the link state')
      : unavailable('debugfs-not-mounted', `debugfs is not mounted (${PROC_MOUNTS} lists no debugfs), so ${path} cannot be read`, `mount it: mount -t debugfs none ${DEBUGFS}`);
  let text: string | undefined;
  try {
    text = await readTextIfExists(port, path);
  } catch (e) {
    // debugfs's root is 0700 (fs/debugfs/inode.c): only root reads it.
    if (e instanceof KernelError && (e.code === 'EACCES' || e.code === 'EPERM')) return unavailable('permission', `${path}: ${e.code}, debugfs is readable by root only`, 'run epctl as root');
    throw e;
  }
  if (text !== undefined) {
    const l = parseLtssm(text, path);
    return { available: true, path, text: describeLtssm(l), ...l };
  }
  if (ctx.version !== undefined && !kernelBehaviour(ctx.version).dwcLtssmDebugfs)
    return unavailable('kernel-too-old', `Linux ${ctx.version.release} has no ltssm_status: DesignWare debugfs came in 6.15`, 'on this kernel only the controller driver\'s kernel log says whether the link came up (dmesg)');
  if (ctx.debugFs === 'n')
    return unavailable('no-debugfs-config', `the kernel has no debugfs (CONFIG_DEBUG_FS is not set), so ${path} cannot exist`, 'build the kernel with CONFIG_DEBUG_FS=y to see the link state');
  return unavailable(
    'no-ltssm-file',
    `${path} does not exist: ${epc} is not a DesignWare controller${ctx.debugFs === undefined ? ', or the kernel lacks CONFIG_DEBUG_FS' : ''}, or (a PERST#-driven controller) it has not been initialised by PERST# yet`,
    'no generic link-state file exists for other controllers: their driver\'s kernel log says whether the link came up (dmesg)',
  );
}
