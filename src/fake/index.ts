// The fake kernel's entry points: boot a simulated board, or continue one from saved state.
import { getBoard } from '../boards/index.js';
import type { BoardProfile } from '../boards/types.js';
import { EpctlError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';
import { parseRelease, atLeast, type KernelVersion } from '../kernel/version.js';
import type { FakeKernel, FakeKernelOptions, FakeKernelState } from './api.js';
import { FakeKernelImpl } from './kernel.js';
import { EPF_DRIVER_SYMBOL } from '../procfs/kconfig.js';
import { kernelBehaviour } from '../kernel/behaviour.js';
import type { Model } from './model.js';

export type { FakeKernel, FakeKernelOptions, FakeKernelState, FaultRule, OpLogEntry } from './api.js';

/** Releases the fake models, with the one reported for a bare "X.Y". */
export const MODELLED_KERNELS: Readonly<Record<string, string>> = { '6.1': '6.1.192', '6.12': '6.12.117', '7.3': '7.3.4' };
export const DEFAULT_KERNEL = '7.3.4';

export function resolveKernel(kernel: string | undefined): KernelVersion {
  const release = kernel === undefined ? DEFAULT_KERNEL : (MODELLED_KERNELS[kernel] ?? kernel);
  const v = parseRelease(release);
  if (!v || !atLeast(v, '6.1'))
    throw new EpctlError(`unknown kernel "${kernel}": the simulated boards run 6.1 or newer`, { exitCode: EXIT.USAGE, hint: 'give --kernel 6.1, 6.12, 7.3 or a full release such as 6.12.117' });
  return v;
}

/** The config the modelled kernel was built with: the framework, the board's drivers, overrides. */
function kernelConfig(board: BoardProfile, v: KernelVersion, overrides: Readonly<Record<string, 'y' | 'm' | 'n'>> = {}): Map<string, 'y' | 'm' | 'n'> {
  const config = new Map<string, 'y' | 'm' | 'n'>([
    ['CONFIGFS_FS', 'y'],
    ['PCI', 'y'],
    ['PCI_MSI', 'y'],
    ['GENERIC_MSI_IRQ', 'y'],
    ['PCI_ENDPOINT', 'y'],
    ['PCI_ENDPOINT_CONFIGFS', 'y'],
    // drivers/pci/endpoint/Kconfig: the doorbell option exists with the doorbell code.
    ['PCI_ENDPOINT_MSI_DOORBELL', kernelBehaviour(v).doorbell ? 'y' : 'n'],
    ['IKCONFIG', 'y'],
    ['IKCONFIG_PROC', 'y'],
    // debugfs is mounted on every simulated board (procfs.ts /proc/mounts).
    ['DEBUG_FS', 'y'],
    // Event tracing (tracefs, kernel/trace/Kconfig): the lane's 7.3.4 kernel had FTRACE, its 6.1 and
    // 6.12 kernels had none. Override with { FTRACE: 'y' } to model a 6.x kernel that has it.
    ['FTRACE', atLeast(v, '7.0') ? 'y' : 'n'],
  ]);
  // A driver the release does not have yet is not built, whatever the board's config asks.
  for (const d of board.functionDrivers) if (d !== 'nvmet_pci_epf' || kernelBehaviour(v).nvmetPciEpf) config.set(EPF_DRIVER_SYMBOL[d], 'y');
  if (board.functionDrivers.includes('pci_epf_vntb')) config.set('NTB', 'y');
  // The DesignWare eDMA driver, built in on a board made for EP doorbells (arm64's defconfig
  // has it =m, which the built-in DesignWare core cannot reach: override to model that).
  if (board.controllers.some((c) => c.dwc)) config.set('DW_EDMA', 'y');
  for (const [k, val] of Object.entries(board.kernelConfig)) config.set(k, val);
  for (const [k, val] of Object.entries(overrides)) config.set(k, val);
  nvmeTargetDepends(config, v);
  return config;
}

const TRISTATE_RANK = { n: 0, m: 1, y: 2 } as const;

/**
 * drivers/nvme/target/Kconfig: NVME_TARGET_PCI_EPF "depends on NVME_TARGET && PCI_ENDPOINT", so
 * it is at most what NVME_TARGET is (=y needs NVME_TARGET=y; NVME_TARGET=m allows only =m).
 * NVME_TARGET set by the board or an override is kept and bounds it; left unset, it is what the
 * build of nvmet_pci_epf needed (=y for =y, =m for =m). A release without the driver (before
 * 6.14, behaviour.ts nvmetPciEpf) has no such symbol, whatever the board or an override says.
 */
function nvmeTargetDepends(config: Map<string, 'y' | 'm' | 'n'>, v: KernelVersion): void {
  const epf = config.get('NVME_TARGET_PCI_EPF');
  if (epf === undefined) return;
  if (!kernelBehaviour(v).nvmetPciEpf) {
    config.delete('NVME_TARGET_PCI_EPF');
    return;
  }
  const target = config.get('NVME_TARGET') ?? epf;
  config.set('NVME_TARGET', target);
  const bound = Math.min(TRISTATE_RANK[target], TRISTATE_RANK[config.get('PCI_ENDPOINT') ?? 'n']);
  if (TRISTATE_RANK[epf] > bound) config.set('NVME_TARGET_PCI_EPF', bound === 2 ? 'y' : bound === 1 ? 'm' : 'n');
}

export function createFakeKernel(opts: FakeKernelOptions): FakeKernel {
  const board = typeof opts.board === 'string' ? getBoard(opts.board) : opts.board;
  // A board on its vendor kernel runs that release unless --kernel says otherwise.
  const version = resolveKernel(opts.kernel ?? board.vendorKernel?.release);
  return new FakeKernelImpl({ board, version, config: kernelConfig(board, version, opts.config), overrides: opts.config ?? {}, configfsMounted: opts.configfsMounted ?? true });
}

export class FakeStateError extends EpctlError {}

/**
 * Continues a saved kernel, with the config and mount it was created with. `expect` (the
 * --mock / --kernel of this run) must match the board and release the state was made for: a
 * mismatch is refused, never reinterpreted.
 */
export function loadFakeKernel(state: FakeKernelState, expect: { board?: string; kernel?: string } = {}): FakeKernel {
  if (state?.format !== 'epctl-fake-kernel' || state.version !== 1)
    throw new FakeStateError('not an epctl fake-kernel state (format epctl-fake-kernel, version 1)', { exitCode: EXIT.USAGE });
  if (expect.board !== undefined && expect.board !== state.board)
    throw new FakeStateError(`the state was made for board ${state.board}, not ${expect.board}`, { exitCode: EXIT.USAGE, hint: `use --mock ${state.board}, or another --mock-state file` });
  if (expect.kernel !== undefined && resolveKernel(expect.kernel).release !== state.release)
    throw new FakeStateError(`the state was made for kernel ${state.release}, not ${resolveKernel(expect.kernel).release}`, { exitCode: EXIT.USAGE, hint: `use --kernel ${state.release}, or another --mock-state file` });
  const board = getBoard(state.board);
  const version = resolveKernel(state.release);
  return new FakeKernelImpl({
    board,
    version,
    config: kernelConfig(board, version, state.config),
    overrides: state.config ?? {},
    configfsMounted: state.configfsMounted ?? true,
    model: structuredClone(state.model) as Model,
  });
}
