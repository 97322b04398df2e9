// The built-in board profiles by --mock name, and the one place an unknown name is refused.
import type { BoardProfile } from './types.js';
import { EpctlError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';
import { imx95, imx95V618, imx95Vendor } from './imx95.js';
import { imx8mp } from './imx8mp.js';
import { ls1028a } from './ls1028a.js';
import { lx2160a } from './lx2160a.js';
import { rk3588, rk3588MsiMap } from './rk3588.js';
import { qemuVirt, qemuVirtMsiParent, qemuVirtNoMsi } from './qemu-virt.js';

export type { BoardProfile } from './types.js';

/** Every built-in profile under its --mock name, in the order help and listings show them. */
export const BOARDS: Readonly<Record<string, BoardProfile>> = Object.freeze({
  imx95: imx95,
  'imx95-v6.18': imx95V618,
  'imx95-vendor': imx95Vendor,
  imx8mp: imx8mp,
  ls1028a: ls1028a,
  lx2160a: lx2160a,
  rk3588: rk3588,
  'rk3588-msi-map': rk3588MsiMap,
  'qemu-virt': qemuVirt,
  'qemu-virt-msi-parent': qemuVirtMsiParent,
  'qemu-virt-no-msi': qemuVirtNoMsi,
});

/** The --mock names, in BOARDS order. */
export function boardNames(): string[] {
  return Object.keys(BOARDS);
}

/** The profile for a --mock name; an unknown name is a usage error listing the known ones. */
export function getBoard(name: string): BoardProfile {
  const board = Object.hasOwn(BOARDS, name) ? BOARDS[name] : undefined;
  if (board === undefined)
    throw new EpctlError(`unknown board "${name}"; known boards: ${boardNames().join(', ')}`, {
      exitCode: EXIT.USAGE,
      hint: 'pass one of the known boards to --mock',
    });
  return board;
}
