// What the modelled kernel code (pci-ep-cfs, pci-epf-core, the function drivers) can reach:
// the model, the release's behaviour flags, the board, printk and the IRQ table. Kernel code
// fails by throwing Errno (a negative return) or Oops (a crash inside the call).
import type { EdmaRegisters } from '../devicetree/dwc.js';
import type { ErrnoCode } from '../kernel/errno.js';
import type { KernelBehaviour } from '../kernel/behaviour.js';
import type { KernelVersion } from '../kernel/version.js';
import type { BoardProfile, ControllerProfile } from '../boards/types.js';
import type { FakeHook } from './api.js';
import type { Model, EpfDevice } from './model.js';
import type { Printk, SplatContext } from './printk.js';
import type { KernelModule } from './modules.js';

/** A kernel function's negative errno return. */
export class Errno extends Error {
  constructor(readonly code: ErrnoCode) {
    super(code);
  }
}

/** The kernel crashed inside the current call; `lines` is what it printed. */
export class Oops extends Error {
  constructor(readonly lines: string[]) {
    super('oops');
  }
}

/** What pci-ep-msi.c finds for an EPC's parent device (of_msi_map_get_device_domain). */
export interface MsiDomain {
  /** An msi-map entry for requester ID 0 resolved to an MSI controller node. */
  found: boolean;
  /** That controller is an MSI parent with IRQ_DOMAIN_FLAG_MSI_IMMUTABLE (GIC-v3 ITS). */
  immutable: boolean;
  /** The ITS DeviceID the EP gets. */
  deviceId?: number;
  /**
   * The DeviceID the SoC gives the controller's inbound requests: what its root-complex node
   * beside it (`pcie@<unit>`) maps requester ID 0 to, where the DT has one; else the EP's own.
   * A host write reaches the ITS with this one, so a DT whose EP node says otherwise allocates
   * doorbells no ring reaches (the i.MX95 v6.18 DT).
   */
  wireDeviceId?: number;
  /** Where the controller's DesignWare driver finds its eDMA (src/devicetree/dwc.ts); 'none' on other controllers. */
  edma: EdmaRegisters;
  /** The embedded doorbell's physical address (eDMA rd_int_status), when the controller has eDMA. */
  edmaDoorbell?: bigint;
  /** The ITS's GITS_TRANSLATER: its DT node and physical address (reg base + 0x10040). */
  its?: { node: string; translater: bigint };
}

/** The IRQ operations the modelled drivers use (request_irq / free_irq on a new virq). */
export interface IrqOps {
  request(chip: string, hwirq: number, trigger: 'Edge' | 'Level', action: string): number;
  free(virq: number): void;
  /**
   * request_irq(IRQF_SHARED) on the controller's eDMA interrupt-emulation virq (chip
   * dw-edma-emul, no domain, Level: dw_edma_emul_irq_alloc() in drivers/dma/dw-edma/dw-edma-core.c);
   * the descriptor is made once per controller and kept.
   */
  requestEmbedded(epc: string, action: string): number;
  /** free_irq() of one action on that virq: the descriptor stays (dw-edma owns it). */
  freeAction(virq: number, action: string): void;
  /** One interrupt taken on CPU: its count, and the irq events tracefs records. */
  fire(virq: number, cpu: number): void;
}

export interface KernelContext {
  readonly m: Model;
  readonly v: KernelVersion;
  readonly b: KernelBehaviour;
  readonly board: BoardProfile;
  readonly printk: Printk;
  readonly irq: IrqOps;
  /** Who is calling, for splats; the syscall frames below the current kernel function. */
  splat(): SplatContext;
  /** An armed fault at a kernel-internal point (api.ts FakeHook). */
  hook(op: FakeHook, path: string): ErrnoCode | undefined;
  /** Kernel config symbol (board + modelled kernel + overrides). */
  config(symbol: string): 'y' | 'm' | 'n';
  /** A modules.ts module is there: built in (=y), or a module (=m) modprobe loaded. */
  moduleReady(module: KernelModule): boolean;
  msiDomain(epc: string): MsiDomain;
  controller(epc: string): ControllerProfile;
  /** configfs path of a device's function directory (for hooks and messages). */
  functionPath(dev: EpfDevice): string;
  /**
   * What PATH names once symlinks are followed, as a kernel-internal open sees it (kern_path):
   * a block or character device node, a directory, a regular file, something else, or nothing
   * (null: ENOENT).
   */
  inode(path: string): 'block' | 'char' | 'dir' | 'file' | 'other' | null;
}
