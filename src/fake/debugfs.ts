// The fake kernel's debugfs, as far as epctl reads it: the DesignWare directories
// dwc_pcie_<dev_name>/ with ltssm_status (drivers/pci/controller/dwc/pcie-designware-debugfs.c,
// v6.15+, Hans Zhang). A controller has one when the release has the code, the kernel
// has CONFIG_DEBUG_FS and the board's controller is a DesignWare core; the directory is made at
// dw_pcie_ep_init_registers(), i.e. right after probe on the modelled boards (i.MX, Layerscape,
// RK3588), which are not PERST#-driven. Anything else under /sys/kernel/debug stays in memfs.
import type { Model } from './model.js';
import type { BoardProfile } from '../boards/types.js';
import type { KernelStat } from '../kernel/port.js';
import { Errno } from './context.js';
import { DEBUGFS, LTSSM_STATES } from '../debugfs/ltssm.js';

const DIR_PREFIX = 'dwc_pcie_';
const LTSSM_FILE = 'ltssm_status';

export interface DebugfsView {
  board: BoardProfile;
  m: Model;
  /** Release has dwc debugfs (behaviour.dwcLtssmDebugfs) and CONFIG_DEBUG_FS is set. */
  enabled: boolean;
  /** What memfs holds directly under /sys/kernel/debug (other helpers' files). */
  memfsChildren: () => string[];
}

/** The path parts below /sys/kernel/debug when the path belongs here, else undefined. */
export function debugfsParts(p: string): string[] | undefined {
  if (p === DEBUGFS) return [];
  if (!p.startsWith(`${DEBUGFS}/${DIR_PREFIX}`)) return undefined;
  return p.slice(DEBUGFS.length).split('/').filter(Boolean);
}

function controllers(v: DebugfsView): string[] {
  return v.enabled ? v.board.controllers.filter((c) => c.dwc).map((c) => c.name) : [];
}

function epcOf(v: DebugfsView, dir: string): string {
  const epc = dir.slice(DIR_PREFIX.length);
  if (!dir.startsWith(DIR_PREFIX) || !controllers(v).includes(epc)) throw new Errno('ENOENT');
  return epc;
}

/**
 * dw_pcie_get_ltssm() of the simulated controller. [inferred] The simulated host is always
 * there and trains the link as soon as the EP starts it: DETECT_QUIET (0x00) before `start` = 1,
 * L0 (0x11) after, DETECT_QUIET again while the model says the host's link is down
 * (ControllerState.hostLink, for a later `mock host link down`).
 */
export function ltssmText(m: Model, epc: string): string {
  const c = m.controllers[epc];
  const code = c?.start && c.hostLink !== 'down' ? 0x11 : 0x00;
  return `${LTSSM_STATES[code]} (0x${code.toString(16).padStart(2, '0')})\n`;
}

export function debugfsRead(v: DebugfsView, parts: string[]): string {
  if (parts.length === 0) throw new Errno('EISDIR');
  const epc = epcOf(v, parts[0]!);
  if (parts.length === 1) throw new Errno('EISDIR');
  if (parts.length !== 2 || parts[1] !== LTSSM_FILE) throw new Errno('ENOENT');
  return ltssmText(v.m, epc);
}

export function debugfsReaddir(v: DebugfsView, parts: string[]): string[] {
  if (parts.length === 0) return [...new Set([...controllers(v).map((c) => DIR_PREFIX + c), ...v.memfsChildren()])].sort();
  epcOf(v, parts[0]!);
  if (parts.length === 1) return [LTSSM_FILE];
  throw new Errno(parts.length === 2 && parts[1] === LTSSM_FILE ? 'ENOTDIR' : 'ENOENT');
}

export function debugfsStat(v: DebugfsView, parts: string[]): KernelStat {
  // fs/debugfs/inode.c: the root is 0700; directories debugfs_create_dir makes are 0755.
  if (parts.length === 0) return { kind: 'dir', mode: 0o700, size: 0, nlink: 2, uid: 0, gid: 0 };
  epcOf(v, parts[0]!);
  if (parts.length === 1) return { kind: 'dir', mode: 0o755, size: 0, nlink: 2, uid: 0, gid: 0 };
  if (parts.length === 2 && parts[1] === LTSSM_FILE) return { kind: 'file', mode: 0o444, size: 0, nlink: 1, uid: 0, gid: 0 };
  throw new Errno('ENOENT');
}
