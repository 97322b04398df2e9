// The one home of the RC-to-EP doorbell rules (drivers/pci/endpoint/pci-ep-msi.c, v6.17+):
// doorbellVerdict() is pure and says, for one controller, whether pci_epf_alloc_doorbell() can
// succeed, why not in one sentence, and the DT lines that fix it. gatherDoorbellFacts() is its
// only reader: it collects the device-tree half of the input through a DeviceTree.
import type { KernelVersion } from '../kernel/version.js';
import { kernelBehaviour } from '../kernel/behaviour.js';
import { DtParseError } from '../devicetree/decode.js';
import { nodeName, unitAddress, parentPath, isAvailableStatus, DuplicatePhandleError, type DeviceTree } from '../devicetree/tree.js';
import {
  deviceChain,
  itsDeviceId,
  MsiMapError,
  readMsiParent,
  resolveMsiMap,
  type ItsDeviceId,
  type MsiMapResolution,
} from '../devicetree/msi.js';
import { hex, nodeRef, renderDts, type DtEdit, type DtFix, type NodeRef } from './dt-fix.js';
import type { DoorbellImplementation } from '../procfs/kallsyms.js';
import { dmaCtrlBar, doorbellInDmaBar, edmaRegisters, type DmaCtrlBar, type EdmaRegisters } from '../devicetree/dwc.js';

/** GIC-v3 ITS: the only MSI controller that sets IRQ_DOMAIN_FLAG_MSI_IMMUTABLE (fd120c38fefd, v6.16). */
export const ITS_COMPATIBLE = 'arm,gic-v3-its';
/**
 * GICv5 ITS (v6.17): drivers/irqchip/irq-gic-v5-its.c sets IRQ_DOMAIN_FLAG_ISOLATED_MSI |
 * IRQ_DOMAIN_FLAG_FWNODE_PARENT, not IRQ_DOMAIN_FLAG_MSI_IMMUTABLE, so the doorbell refuses it.
 */
export const GICV5_ITS_COMPATIBLE = 'arm,gic-v5-its';

/**
 * Platform drivers of DesignWare endpoint controllers, as sysfs names them (the drivers of
 * drivers/pci/controller/dwc/ that call dw_pcie_ep_init()): only their epc_ops have
 * get_aux_resources (pcie-designware-ep.c), which the embedded doorbell needs.
 */
export const DWC_EP_DRIVERS = [
  'dra7-pcie', 'imx6q-pcie', 'keystone-pcie', 'layerscape-pcie-ep', 'artpec6-pcie', 'dw-pcie', 'rockchip-dw-pcie',
  'keembay-pcie', 'qcom-pcie-ep', 'pcie-rcar-gen4', 'stm32-ep-pcie', 'tegra194-pcie', 'uniphier-pcie-ep',
] as const;


/** What pci_epf_alloc_doorbell() gives on a controller: an ITS doorbell, an MSI one through another controller (pre-merge code only), the embedded eDMA one, none; unknown when the facts could not be read. */
export type DoorbellMode = 'its' | 'msi' | 'embedded' | 'none' | 'unknown';

export interface DtNodeFact {
  path: string;
  /** dtc label from __symbols__, when the DTB has symbols. */
  label?: string;
  compatible: string[];
  /** status absent, "okay" or "ok". */
  available: boolean;
  /** Its phandle, when it has one (names it in an overlay on a DTB without symbols). */
  phandle?: number;
}

export interface MsiParentFact {
  phandle: number;
  args: number[];
  /** The node the first phandle names; undefined when it names none. */
  target?: DtNodeFact;
  /** Why msi-parent could not be parsed, when it could not. */
  malformed?: string;
}

/** The root-complex node beside the EP node (`pcie@X` next to `pcie-ep@X`, as in imx95.dtsi). */
export interface RcSiblingFact {
  path: string;
  label?: string;
  /** The ITS its msi-map (or msi-parent) sends requester ID 0 to. */
  its?: DtNodeFact;
  /** The DeviceID that gives requester ID 0, and where it came from. */
  deviceId?: number;
  source: 'msi-map' | 'msi-parent' | 'none';
  /** Why its msi-map or msi-parent could not be used, naming the file. */
  unusable?: string;
}

/** A resolution, or an msi-map epctl could not use (a DtParseError, kept as data). */
export type MsiMapFact = MsiMapResolution | { kind: 'malformed'; path: string; reason: string; kernelLog?: string };

/** The device-tree half of the input, as gatherDoorbellFacts() reads it. */
export interface DoorbellDtFacts {
  controllerPath: string;
  controllerLabel?: string;
  /** The controller node's `status` ("okay" when absent). */
  status: string;
  /** deviceChain(): the node and its device parents. */
  chain: string[];
  msiMap: MsiMapFact;
  /** The node msi-map sends ID 0 to (kind "mapped"). */
  target?: DtNodeFact;
  msiParent?: MsiParentFact;
  /** The DeviceID the ITS takes from the controller node (kind "mapped" to an ITS). */
  epDeviceId?: ItsDeviceId;
  /** The SoC's ITS nodes, in tree order. */
  its: DtNodeFact[];
  /** GICv5 ITS nodes, in tree order (never immutable). */
  gicV5Its: DtNodeFact[];
  rcSibling?: RcSiblingFact;
  /** Where a DesignWare driver would find this controller's eDMA registers. */
  edma: EdmaRegisters;
  /** The BAR the controller's driver reserves for its DMA registers, by the node's compatible (devicetree/dwc.ts dmaCtrlBar). */
  dmaCtrlBar?: DmaCtrlBar;
}

export interface DoorbellInput extends DoorbellDtFacts {
  /** The running kernel, undefined when unknown. */
  kernel: KernelVersion | undefined;
  /** The doorbell code /proc/kallsyms shows (procfs/kallsyms.ts); undefined when it could not be read: the release decides. */
  implementation?: DoorbellImplementation;
  /** CONFIG_PCI_ENDPOINT_MSI_DOORBELL, undefined when the config is unreadable. */
  config: 'y' | 'n' | undefined;
  /** EPC name (4c300000.pcie-ep). */
  controller: string;
  /** The controller's driver as sysfs names it (imx6q-pcie), undefined when unknown. */
  driver?: string;
  /** /proc/kallsyms lists pci_epc_get_aux_resources: the kernel has the embedded (DMA) doorbell fallback; undefined when unreadable. */
  embeddedCode?: boolean;
  /** CONFIG_DW_EDMA; undefined when the config is unreadable. */
  edmaDriver?: 'y' | 'm' | 'n';
}

export type DoorbellCode =
  | 'capable'
  | 'kernel-unknown'
  | 'config-unknown'
  | 'kernel-too-old'
  | 'config-disabled'
  | 'controller-disabled'
  | 'msi-map-malformed'
  | 'no-its'
  | 'msi-parent-only'
  | 'no-msi-map'
  | 'msi-map-no-entry'
  | 'msi-map-dangling'
  | 'target-not-its'
  | 'its-disabled'
  | 'msi-map-not-on-controller'
  | 'msi-parent-bad-args'
  | 'no-doorbell-code'
  | 'v9-no-msi-parent'
  | 'v9-msi-parent-unusable'
  | 'target-gicv5'
  | 'embedded'
  | 'unreadable';

export interface DoorbellVerdict {
  /** pci_epf_alloc_doorbell() succeeds on this controller (for its first function). Always a boolean: what could not be checked is in notes. */
  capable: boolean;
  /** Which doorbell it gives (DoorbellMode); vNTB without one still binds and polls its doorbell registers. */
  mode: DoorbellMode;
  code: DoorbellCode;
  /** One sentence a board engineer understands. */
  reason: string;
  /**
   * The DT to add, as a node fragment for the board .dts (`&pcie0_ep { msi-map = <…>; };`).
   * Present whenever the DT needs a change epctl can write out in full, also beside
   * capable: true when a warning says a host ring would never arrive.
   */
  fix?: string;
  /** The same change as data (renderDts/renderDtso in dt-fix.ts write it out). */
  dtFix?: DtFix[];
  /**
   * What a fix needs that the board does not say (the ITS DeviceID), and where to find it.
   * Present instead of a fix with a placeholder.
   */
  fixMissing?: string;
  warnings: string[];
  notes: string[];
  /**
   * The kernel allocates the doorbell, but a host's ring would never reach it: the EP's ITS or
   * DeviceID differs from the one the RC side uses for requester ID 0. `capable` stays true (the
   * allocation succeeds); the human view says the ring is lost instead of "yes".
   */
  ringLost?: true;
  /**
   * A BAR the controller reserves for its DMA registers (BAR_RESERVED, devicetree/dwc.ts
   * dmaCtrlBar): no function may program it (set_bar fails "Invalid BAR type").
   */
  reservedBar?: number;
  /**
   * Where the kernel publishes the doorbell when it is already exposed in that reserved BAR
   * (mode embedded): pci-epf-test reports it as DB_BAR/DB_OFFSET, and vNTB's db_bar must name it.
   */
  doorbellBar?: { bar: number; offset: number };
}

const ref = nodeRef;
const asRef = (n: { path: string; label?: string | undefined; phandle?: number | undefined }): NodeRef => ({
  path: n.path,
  ...(n.label ? { label: n.label } : {}),
  ...(n.phandle === undefined ? {} : { phandle: n.phandle }),
});
const isIts = (n: DtNodeFact | undefined): boolean => n?.compatible.includes(ITS_COMPATIBLE) ?? false;

/** The one-function rule as the kernel words it: the v9 posting, v6.17, or 7.3.4's refactored pci_epf_alloc_doorbell(). */
export function firstEpfNote(kernel: KernelVersion | undefined, implementation?: DoorbellImplementation): string {
  const said =
    implementation === 'posted-v9'
      ? 'MSI doorbell only support one endpoint function'
      : kernel && kernelBehaviour(kernel).doorbellRefactored
        ? "Doorbell doesn't support multiple EPF"
        : "MSI doorbell doesn't support multiple EPF";
  return `Only the first function linked to a controller can own doorbells: pci-ep-msi.c refuses any other with "${said}".`;
}

interface DtPart {
  capable: boolean;
  code: DoorbellCode;
  reason: string;
  /** Edits of the controller node. */
  fixEdits?: DtEdit[];
  /** Edits of another node (the ITS). */
  otherFix?: DtFix;
  /** What the fix needs that the device tree does not say. */
  fixMissing?: string;
  warnings: string[];
  notes: string[];
  /** Where the doorbell goes when the DT is ready: "&its DeviceID 0x10". */
  summary?: string;
  ringLost?: true;
}

/** Whether the controller can allocate RC-to-EP doorbells, and what to do if not. */
export function doorbellVerdict(input: DoorbellInput): DoorbellVerdict {
  const dt = dtVerdict(input);
  const controllerNode: NodeRef = { path: input.controllerPath, ...(input.controllerLabel ? { label: input.controllerLabel } : {}) };
  const verdict = (capable: boolean, code: DoorbellCode, reason: string, extra: { edits?: readonly DtEdit[]; notes?: string[]; mode?: DoorbellMode; warnings?: string[] } = {}): DoorbellVerdict => {
    const edits = extra.edits ?? dt.fixEdits ?? [];
    const dtFix = [...(dt.otherFix ? [dt.otherFix] : []), ...(edits.length ? [{ node: controllerNode, edits: [...edits] }] : [])];
    return {
      capable,
      mode: extra.mode ?? (capable ? 'its' : 'none'),
      code,
      reason,
      ...(dtFix.length ? { fix: renderDts(dtFix), dtFix } : {}),
      ...(dt.fixMissing ? { fixMissing: dt.fixMissing } : {}),
      warnings: [...(extra.warnings ?? []), ...dt.warnings],
      notes: [...(extra.notes ?? []), ...dt.notes, firstEpfNote(input.kernel, input.implementation)],
      ...(capable && dt.ringLost ? { ringLost: true as const } : {}),
      // Whatever the doorbell: a BAR the controller reserves stays reserved (plan/bars.ts reads it).
      ...withReserved(input),
    };
  };
  const later = dt.capable ? [] : [`Once that is solved: ${dt.reason}`];

  // The symbols outrank the release: vendor kernels backport (procfs/kallsyms.ts).
  if (input.implementation === 'none' && input.config !== 'n' && !(input.kernel && !kernelBehaviour(input.kernel).doorbell))
    return verdict(false, 'no-doorbell-code', `/proc/kallsyms lists neither pci_epf_write_msi_msg (the doorbell as merged in v6.17) nor pci_epc_write_msi_msg (its v9 posting), so this kernel${input.kernel ? ` (${input.kernel.release})` : ''} carries no RC-to-EP doorbell code, whatever its release says.`, { notes: later });
  if (input.implementation === 'posted-v9') return { ...postedV9Verdict(input, controllerNode), ...withReserved(input) };
  // pci-ep-msi.c and CONFIG_PCI_ENDPOINT_MSI_DOORBELL landed in v6.17 (1c3b002c6bf6).
  if (input.implementation !== 'merged' && input.kernel && !kernelBehaviour(input.kernel).doorbell)
    return verdict(false, 'kernel-too-old', `Linux ${input.kernel.release} has no RC-to-EP doorbell: drivers/pci/endpoint/pci-ep-msi.c arrived in v6.17.`, { notes: later });
  // include/linux/pci-ep-msi.h: without the option pci_epf_alloc_doorbell() is a stub returning -ENODATA, silently.
  if (input.config === 'n')
    return verdict(false, 'config-disabled', 'The kernel is built without CONFIG_PCI_ENDPOINT_MSI_DOORBELL, so pci_epf_alloc_doorbell() always fails with ENODATA (-61) and logs nothing; rebuild it with CONFIG_PCI_ENDPOINT_MSI_DOORBELL=y.', { notes: later });
  // drivers/of/platform.c: a disabled node gets no platform device, so no controller at all.
  if (!isAvailableStatus(input.status))
    return verdict(false, 'controller-disabled', `${nodeName(input.controllerPath)} has status "${input.status}", so the kernel makes no endpoint controller from it; boot the EP device tree (or overlay) that enables it.`, { edits: [{ prop: 'status', string: 'okay' }, ...(dt.fixEdits ?? [])], notes: later });
  // What could not be read is said in a note; the verdict follows what could (the release and the device tree).
  const unchecked: string[] = [];
  if (!input.kernel)
    unchecked.push('The kernel version is unknown (no readable /proc/version), so this verdict rests on the device tree alone: the doorbell needs v6.17 or newer with CONFIG_PCI_ENDPOINT_MSI_DOORBELL=y (check `uname -r`).');
  else if (input.config === undefined)
    unchecked.push(`The kernel config is unreadable (no /proc/config.gz), so CONFIG_PCI_ENDPOINT_MSI_DOORBELL could not be checked: look in /boot/config-${input.kernel.release} or /lib/modules/${input.kernel.release}/modules.builtin (pci-ep-msi.o); without it the allocation fails with ENODATA (-61) and no kernel log line.`);
  const reserved = reservedBarPart(input);
  if (!dt.capable) {
    const fallback = embeddedFallback(input, dt);
    if (fallback.mode === 'embedded') {
      const inBar = embeddedDoorbellBar(input);
      const notes = inBar ? [embeddedBarNote(input, inBar)] : reserved.notes;
      return { ...verdict(true, 'embedded', fallback.reason, { mode: 'embedded', notes: [...notes, ...fallback.notes, ...unchecked], warnings: fallback.warnings }), ...(inBar ? { doorbellBar: inBar } : {}) };
    }
    return verdict(false, dt.code, dt.reason, { notes: [...fallback.notes, ...reserved.notes, ...unchecked] });
  }
  return verdict(true, 'capable', dt.reason, { notes: [...reserved.notes, ...unchecked] });
}

const withReserved = (input: DoorbellInput): { reservedBar?: number } => (input.dmaCtrlBar ? { reservedBar: input.dmaCtrlBar.bar } : {});

/**
 * The embedded doorbell's place in the controller's reserved DMA BAR (devicetree/dwc.ts
 * doorbellInDmaBar), when the release describes reserved regions (KernelBehaviour.barRsvdRegions;
 * an unknown release is taken to, since its embedded doorbell came after them).
 */
function embeddedDoorbellBar(input: DoorbellInput): { bar: number; offset: number } | undefined {
  const dma = input.dmaCtrlBar;
  if (!dma || (input.kernel && !kernelBehaviour(input.kernel).barRsvdRegions)) return undefined;
  return doorbellInDmaBar(dma);
}

function embeddedBarNote(input: DoorbellInput, at: { bar: number; offset: number }): string {
  const ep = nodeName(input.controllerPath);
  return `The eDMA registers of ${ep} sit in BAR${at.bar}, which its driver reserves (BAR_RESERVED with a DMA_CTRL_MMIO region): the kernel publishes the doorbell there, at offset 0x${at.offset.toString(16)}, with no BAR of the function's own. pci-epf-test reports DB_BAR ${at.bar}; vNTB needs its doorbell BAR to be BAR${at.bar} (db_bar = ${at.bar} in its pci_epf_vntb.N/ group; the automatic choice never takes a reserved BAR), else its doorbell setup fails with -EINVAL and it polls, silently.`;
}

/** A reserved DMA BAR outside the embedded doorbell: no function may use it. */
function reservedBarPart(input: DoorbellInput): { notes: string[] } {
  const dma = input.dmaCtrlBar;
  if (!dma) return { notes: [] };
  return { notes: [`${nodeName(input.controllerPath)} reserves BAR${dma.bar} for its DMA registers (BAR_RESERVED): functions skip it, and a BAR set there by hand (vNTB's ctrl_bar, db_bar or mwN_bar = ${dma.bar}) fails in the controller's set_bar ("Invalid BAR type").`] };
}

/**
 * The MSI path's failures that return -ENODEV (pci_epf_alloc_doorbell_msi(): no domain, not an
 * MSI parent, mutable), the only ones after which pci_epf_alloc_doorbell() tries the embedded
 * doorbell (drivers/pci/endpoint/pci-ep-msi.c as in 7.3.4).
 */
const ENODEV_CODES: ReadonlySet<DoorbellCode> = new Set<DoorbellCode>([
  'msi-map-malformed', 'no-its', 'msi-parent-only', 'no-msi-map', 'msi-map-no-entry', 'msi-map-dangling', 'target-not-its', 'target-gicv5', 'its-disabled',
]);

/**
 * pci_epf_alloc_doorbell_embedded() (pci-ep-msi.c, 7.3.4): asks the EPC for an auxiliary
 * DOORBELL_MMIO resource. Only DesignWare EPCs have the op (pcie-designware-ep.c
 * dw_pcie_ep_get_aux_resources, one resource when the eDMA registers were found and dw-edma set
 * up interrupt emulation); any other EPC returns -EOPNOTSUPP, logged "Failed to allocate
 * doorbell: -95" (observed 7.3.4 on the Cadence lane EPC).
 */
function embeddedFallback(input: DoorbellInput, dt: DtPart): { mode: DoorbellMode; reason: string; notes: string[]; warnings: string[] } {
  const none = (notes: string[] = []) => ({ mode: 'none' as const, reason: dt.reason, notes, warnings: [] });
  if (!ENODEV_CODES.has(dt.code) || input.embeddedCode !== true) return none();
  const ep = nodeName(input.controllerPath);
  const driver = input.driver;
  if (driver === undefined)
    return none([`This kernel has the embedded (DMA) doorbell fallback, but the controller's driver is unknown: on a DesignWare controller whose eDMA does interrupt emulation the kernel would fall back to it (one shared IRQ, "Using embedded (DMA) doorbell fallback").`]);
  if (!(DWC_EP_DRIVERS as readonly string[]).includes(driver))
    return none([`This kernel's embedded (DMA) doorbell fallback needs a DesignWare controller; ${driver} offers no auxiliary doorbell, so after the MSI failure the kernel logs "Failed to allocate doorbell: -95".`]);
  if (input.edma === 'none')
    return none([`This kernel's embedded (DMA) doorbell fallback needs the DesignWare eDMA, and ${ep} has neither a "dma" reg entry nor an iATU window of 1 MiB or more to find it in, so after the MSI failure the kernel logs "Failed to allocate doorbell: -19".`]);
  // include/linux/dma/edma.h: dw_edma_probe() is a stub unless IS_REACHABLE(CONFIG_DW_EDMA) from
  // the built-in DesignWare core; then the doorbell is offered with IRQ 0 and request_irq() fails.
  if (input.edmaDriver === 'm' || input.edmaDriver === 'n')
    return none([
      `This kernel's embedded (DMA) doorbell fallback needs the DesignWare eDMA driver built in, and CONFIG_DW_EDMA is ${input.edmaDriver === 'm' ? '=m (as in arm64\'s defconfig), which the built-in DesignWare core cannot reach' : 'not set'}: the fallback gets IRQ 0 and the driver logs "Failed to request doorbell IRQ: 0"; rebuild with CONFIG_DW_EDMA=y, or add the msi-map.`,
    ]);
  const where = input.edma === 'dma-reg' ? 'its "dma" reg entry' : 'the iATU window';
  return {
    mode: 'embedded',
    reason: `${ep} has no usable MSI doorbell, so ${driver} falls back to the embedded doorbell of its DesignWare eDMA (registers in ${where}): the kernel logs "Using embedded (DMA) doorbell fallback" and every doorbell is one shared IRQ on chip dw-edma-emul.`,
    notes: [
      `Why no ITS doorbell: ${dt.reason}`,
      ...(input.edmaDriver === undefined ? ['The kernel config is unreadable, so CONFIG_DW_EDMA could not be checked: the embedded doorbell needs it =y (=m, as in arm64\'s defconfig, leaves it without an IRQ).'] : []),
      'An embedded doorbell gives the host one address and data for every doorbell (the IRQ is shared, IRQF_SHARED): a function cannot tell which doorbell was rung. An msi-map to the ITS gives one IRQ per doorbell.',
    ],
    // dw_edma_emul_irq_alloc() (drivers/dma/dw-edma/dw-edma-core.c): only an eDMA core with
    // ack_emulated_irq (eDMA v0, not HDMA) and not DW_EDMA_CHIP_PARTIAL gets the doorbell IRQ.
    warnings: [`Whether the eDMA of ${ep} does interrupt emulation (eDMA v0 does, HDMA does not) is decided when dw-edma probes, not in the device tree: if it does not, the allocation fails with "Failed to allocate doorbell: -19".`],
  };
}

/**
 * A kernel carrying the v9 posting (Dec 2024, Frank Li, "PCI: endpoint: Add RC-to-EP doorbell
 * support using platform MSI controller"; found by pci_epc_write_msi_msg in /proc/kallsyms):
 * pci_epc_alloc_doorbell() allocates through platform_device_msi_init_and_alloc_irqs() on the
 * EPC's platform device, whose MSI domain of_msi_configure() took at probe from the EP node's
 * own msi-parent; none → "Failed to allocate MSI" (-ENOMEM). It has no Kconfig option and no
 * immutability check: any MSI controller is accepted, including ones whose address/data move
 * when the IRQ's affinity changes (the lost-doorbell risk of tglx's review of that posting).
 */
function postedV9Verdict(input: DoorbellInput, controllerNode: NodeRef): DoorbellVerdict {
  const ep = nodeName(input.controllerPath);
  const v9 = `This kernel${input.kernel ? ` (${input.kernel.release})` : ''} carries the v9 posting of the doorbell (pci_epc_write_msi_msg in /proc/kallsyms), which takes its MSI domain from the EP node's msi-parent`;
  const base = { warnings: [] as string[], notes: [firstEpfNote(input.kernel, 'posted-v9')] };
  const withFix = (edits: DtEdit[], missing?: string) => ({
    ...(edits.length ? { fix: renderDts([{ node: controllerNode, edits }]), dtFix: [{ node: controllerNode, edits }] } : {}),
    ...(missing ? { fixMissing: missing } : {}),
  });
  if (!isAvailableStatus(input.status))
    return { capable: false, mode: 'none', code: 'controller-disabled', reason: `${ep} has status "${input.status}", so the kernel makes no endpoint controller from it; boot the EP device tree (or overlay) that enables it.`, ...withFix([{ prop: 'status', string: 'okay' }]), ...base };
  // The DeviceID for a new msi-parent: what the RC node gives requester ID 0, else what an existing msi-map says.
  const its = input.rcSibling?.its ?? (input.msiMap.kind === 'mapped' && isIts(input.target) ? input.target : undefined) ?? input.its[0];
  const id = input.rcSibling?.deviceId ?? (input.msiMap.kind === 'mapped' && isIts(input.target) ? input.msiMap.deviceId : undefined);
  const parentFix = (): ReturnType<typeof withFix> =>
    its && id !== undefined
      ? withFix([{ prop: 'msi-parent', cells: [asRef(its), id] }])
      : withFix([], its ? `add msi-parent = <${ref(asRef(its))} DEVICEID>; to ${ref(controllerNode)}, where DEVICEID is the ITS DeviceID of this controller (the RC node's msi-map third cell for requester ID 0, or the SoC reference manual)` : `${ep} needs an msi-parent naming the SoC's MSI controller, and this device tree has none`);
  const p = input.msiParent;
  if (!p) {
    const mapNote = input.msiMap.kind === 'mapped' ? [`${ep} has an msi-map, which is what the merged code reads; this kernel's v9 code does not read it.`] : [];
    return { capable: false, mode: 'none', code: 'v9-no-msi-parent', reason: `${v9}, and ${ep} has no msi-parent, so it logs "Failed to allocate MSI".`, ...parentFix(), warnings: [], notes: [...mapNote, ...base.notes] };
  }
  if (p.malformed || !p.target)
    return { capable: false, mode: 'none', code: 'v9-msi-parent-unusable', reason: `${v9}, and the msi-parent of ${ep} ${p.malformed ? `is malformed (${p.malformed})` : `names phandle ${hex(p.phandle)}, which no node has`}, so the device has no MSI domain ("Failed to allocate MSI").`, ...parentFix(), ...base };
  if (!p.target.available)
    return { capable: false, mode: 'none', code: 'its-disabled', reason: `${v9}, and the msi-parent of ${ep} names ${p.target.path}, which is disabled, so the device has no MSI domain ("Failed to allocate MSI").`, ...base };
  const target = ref(asRef(p.target));
  if (!isIts(p.target))
    return {
      capable: true,
      mode: 'msi',
      code: 'capable',
      reason: `${v9}: ${ep}'s msi-parent names ${target}, which the v9 code accepts.`,
      warnings: [`${target} is not a GIC-v3 ITS: its doorbell address/data can change when the IRQ's affinity changes, and a host ring written to the old address is then lost (the reason mainline accepts only immutable controllers); move the doorbell to an ITS if the SoC has one.`],
      notes: base.notes,
    };
  const deviceId = p.args[0];
  const warnings: string[] = [];
  const rc = input.rcSibling;
  const lost = deviceId !== undefined && rc?.deviceId !== undefined && rc.deviceId !== deviceId;
  if (lost) warnings.push(`${ep} gives the ITS DeviceID ${hex(deviceId)} but its RC node ${nodeName(rc.path)} uses ${hex(rc.deviceId!)} for requester ID 0: the kernel allocates the doorbell, but a host ring would never arrive.`);
  return {
    capable: true,
    mode: 'its',
    code: 'capable',
    reason: `${v9}: ${ep}'s msi-parent sends it to ${target}${deviceId === undefined ? '' : ` DeviceID ${hex(deviceId)}`}, so the kernel can allocate doorbells for ${input.controller}.`,
    ...(warnings.length ? parentFix() : {}),
    warnings,
    notes: base.notes,
    ...(lost ? { ringLost: true as const } : {}),
  };
}

/** The device-tree rules alone, in the order pci_epf_alloc_doorbell() meets them. */
function dtVerdict(input: DoorbellInput): DtPart {
  const ep = nodeName(input.controllerPath);
  const m = input.msiMap;
  const no = (code: DoorbellCode, reason: string, fix?: Suggestion): DtPart => ({
    capable: false,
    code,
    reason,
    ...(fix?.edits.length ? { fixEdits: fix.edits } : {}),
    ...(fix?.missing ? { fixMissing: fix.missing } : {}),
    warnings: [],
    notes: fix?.notes ?? [],
  });
  if (m.kind === 'malformed')
    return no('msi-map-malformed', `${m.path} is malformed (${m.reason}), so the kernel ${m.kernelLog ? `logs "${m.kernelLog}" and ` : ''}finds no MSI domain through it.`, suggested(input));
  if (m.kind === 'mapped' && input.target?.compatible.includes(GICV5_ITS_COMPATIBLE))
    return no('target-gicv5', `The msi-map of ${m.mapNode} sends ID 0 to the GICv5 ITS ${m.target}, and the kernel refuses it ("Mutable MSI controller not supported"): irq-gic-v5-its.c does not mark its domain immutable (IRQ_DOMAIN_FLAG_MSI_IMMUTABLE is GIC-v3 ITS only).`, input.its.length ? suggested(input) : undefined);
  if (input.its.length === 0)
    return no('no-its', input.gicV5Its.length
      ? `This SoC's interrupt controller is a GICv5 (${input.gicV5Its[0]!.path}), whose ITS the kernel does not mark immutable, and the doorbell needs a GIC-v3 ITS, so no device-tree line can enable it ("Mutable MSI controller not supported").`
      : `This SoC has no ITS (no "${ITS_COMPATIBLE}" node), and the doorbell needs the GIC-v3 ITS, the only MSI controller the kernel accepts as immutable, so no device-tree line can enable it.`);
  if (m.kind === 'no-msi-map') {
    if (input.msiParent)
      return no('msi-parent-only', `${ep} has msi-parent but no msi-map, and msi-parent alone is not enough on mainline: observed on a real 7.3.4 kernel, an EP node with only msi-parent = <&its 0> gets "Can't find MSI domain for EPC" (even though the v9 posting of the series speaks of msi-parent), because the doorbell finds its MSI domain through msi-map.`, suggested(input, true));
    return no('no-msi-map', `Neither ${ep} nor its parent devices have an msi-map, so pci_epf_alloc_doorbell() logs "Can't find MSI domain for EPC".`, suggested(input));
  }
  if (m.kind === 'no-entry')
    return no('msi-map-no-entry', `The msi-map of ${m.mapNode} has no entry covering ID 0 (msi-map-mask ${hex(m.mask)}), which ends the kernel's search, so it logs "Can't find MSI domain for EPC".`, suggested(input));
  if (m.kind === 'dangling')
    return no('msi-map-dangling', `The msi-map entry of ${m.mapNode} for ID 0 names phandle ${hex(m.phandle)}, which no node has, so the kernel cannot use it and finds no MSI domain ("Can't find MSI domain for EPC").`, suggested(input));

  const target = input.target ?? { path: m.target, compatible: [], available: true };
  if (!isIts(target)) {
    const compat = target.compatible.length ? target.compatible.map((c) => `"${c}"`).join(', ') : 'no compatible';
    const fix = suggested(input);
    return no('target-not-its', `The msi-map of ${m.mapNode} sends ID 0 to ${m.target} (${compat}), which is not a GIC-v3 ITS, and only the ITS is immutable (IRQ_DOMAIN_FLAG_MSI_IMMUTABLE), so the kernel refuses it ("Mutable MSI controller not supported") or finds no MSI domain.`, fix);
  }
  if (!target.available)
    return {
      ...no('its-disabled', `The msi-map of ${m.mapNode} sends ID 0 to the ITS ${m.target}, but that node is disabled, so no MSI domain exists for it ("Can't find MSI domain for EPC").`),
      otherFix: { node: asRef(target), edits: [{ prop: 'status', string: 'okay' }] },
    };

  // irq-gic-its-msi-parent.c (of_pmsi_get_dev_id): the ITS reads the DeviceID from the controller node only.
  const dev: ItsDeviceId =
    input.epDeviceId ?? (m.mapNode === input.controllerPath ? { source: 'msi-map', deviceId: m.deviceId } : { source: 'none' });
  if (dev.source === 'none')
    return no('msi-map-not-on-controller', `Only ${m.mapNode}, a parent device, has an msi-map for ID 0: the kernel finds the ITS through it, but the ITS takes the DeviceID from ${ep}'s own node, which has none, so the allocation fails ("Failed to allocate MSI").`, suggested(input));
  if (dev.source === 'bad-msi-parent')
    return no('msi-parent-bad-args', `${ep} has msi-parent naming the ITS with ${dev.args.length} argument cells instead of one, so the ITS driver warns and refuses the allocation ("Failed to allocate MSI").`, suggested(input, true));

  const its = { path: m.target, ...(target.label ? { label: target.label } : {}) };
  const summary = `${ref(its)} DeviceID ${hex(dev.deviceId)}`;
  const warnings: string[] = [];
  let fix: Suggestion | undefined;
  if (dev.source === 'msi-parent' && m.mapNode === input.controllerPath && dev.deviceId !== m.deviceId)
    warnings.push(`${ep} also has msi-parent naming the ITS, and the ITS takes the DeviceID from it (${hex(dev.deviceId)}), not from msi-map (${hex(m.deviceId)}).`);
  const rc = input.rcSibling;
  let ringLost = false;
  if (rc?.its && rc.its.path !== m.target) {
    ringLost = true;
    warnings.push(`${ep} sends ID 0 to ${ref(its)} but its RC node ${nodeName(rc.path)} uses ${ref(rc.its)}: the kernel allocates the doorbell, but a host ring would never arrive (an RK3588 EP mapped to its0 instead of the RC's its1 got no IRQ).`);
    fix = suggested(input, dev.source === 'msi-parent');
  } else if (rc?.deviceId !== undefined && rc.deviceId !== dev.deviceId) {
    ringLost = true;
    warnings.push(`${ep} gives the ITS DeviceID ${hex(dev.deviceId)} but its RC node ${nodeName(rc.path)} uses ${hex(rc.deviceId)} for requester ID 0: the kernel allocates the doorbell, but a host ring would never arrive (the i.MX95 DT of v6.18 put pcie1's 0x98 on pcie0_ep this way).`);
    fix = suggested(input, dev.source === 'msi-parent');
  }
  const notes =
    rc?.unusable !== undefined
      ? [`The RC node ${nodeName(rc.path)} is beside ${ep}, but ${rc.unusable}, so DeviceID ${hex(dev.deviceId)} could not be checked against it; it must be the ITS DeviceID the SoC assigns to this controller.`]
      : rc?.deviceId === undefined
        ? [`epctl found no RC node beside ${ep} to check DeviceID ${hex(dev.deviceId)} against; it must be the ITS DeviceID the SoC assigns to this controller.`]
        : [];
  const via = dev.source === 'msi-parent' ? 'its msi-parent' : m.mapNode === input.controllerPath ? 'its own msi-map' : `the msi-map of ${m.mapNode}`;
  return {
    capable: true,
    code: 'capable',
    reason: `${ep} sends ID 0 to ${summary} through ${via}, so the kernel can allocate doorbells for ${input.controller}.`,
    ...(fix?.edits.length ? { fixEdits: fix.edits } : {}),
    ...(fix?.missing ? { fixMissing: fix.missing } : {}),
    warnings,
    notes,
    summary,
    ...(ringLost ? { ringLost: true as const } : {}),
  };
}

interface Suggestion {
  edits: DtEdit[];
  notes: string[];
  /** Set instead of edits when the DeviceID (or the ITS) cannot be known from this board. */
  missing?: string;
}

/**
 * The msi-map entry to add. The ITS is the one the RC sibling uses, else the SoC's only (or
 * first enabled) ITS; the DeviceID is the one the RC sibling gives requester ID 0, else the
 * argument of the node's own msi-parent. Neither known: no edit with a placeholder, but where
 * to find the value.
 */
function suggested(input: DoorbellInput, dropMsiParent = false): Suggestion {
  const rc = input.rcSibling;
  const its = (isIts(rc?.its) ? rc?.its : undefined) ?? (input.its.length === 1 ? input.its[0] : input.its.find((i) => i.available) ?? input.its[0]);
  const ep = nodeName(input.controllerPath);
  if (!its) return { edits: [], notes: [], missing: `${ep} needs an msi-map to a GIC-v3 ITS, and this device tree has no "${ITS_COMPATIBLE}" node to point it at.` };
  const notes: string[] = [];
  if (!isIts(rc?.its) && input.its.length > 1)
    notes.push(`This SoC has ${input.its.length} ITS nodes; the fix uses ${ref(its)}, but use the one the controller's requester IDs reach (normally the one its RC node uses).`);
  // The EP node's own msi-parent = <&its N> already names the DeviceID the ITS would give it
  // (irq-gic-its-msi-parent.c of_pmsi_get_dev_id takes the specifier's one argument).
  const own = input.msiParent && isIts(input.msiParent.target) && input.msiParent.args.length === 1 ? input.msiParent.args[0] : undefined;
  const id = rc?.deviceId ?? own;
  if (id === undefined) {
    const unit = unitAddress(input.controllerPath);
    const parent = parentPath(input.controllerPath) ?? '/';
    const rcNode = unit === undefined ? undefined : `${parent === '/' ? '' : parent}/pcie@${unit}`;
    const where = rcNode
      ? `the msi-map (third cell, for requester ID 0) or msi-parent argument of the root-complex node ${rcNode} in the SoC's .dtsi, or in the device tree the board boots in RC mode (on the board in RC mode: xxd /sys/firmware/devicetree/base${rcNode}/msi-map; on Layerscape U-Boot writes it at boot from its stream-ID table)`
      : "the msi-map (third cell, for requester ID 0) of the root-complex node of the same controller in the SoC's .dtsi";
    return {
      edits: [],
      notes,
      missing: `add msi-map = <0x0 ${ref(its)} DEVICEID 0x1>; to ${ref({ path: input.controllerPath, ...(input.controllerLabel ? { label: input.controllerLabel } : {}) })}, where DEVICEID is the ITS DeviceID this controller's requests carry, which this device tree does not say: take it from ${where}, or from the SoC reference manual's ITS DeviceID table.`,
    };
  }
  if (rc?.deviceId === undefined) notes.push(`The DeviceID ${hex(id)} is the argument of this node's msi-parent; check it against the SoC reference manual.`);
  else if (rc.source === 'msi-parent') notes.push(`The DeviceID ${hex(id)} is the argument of the RC node's msi-parent; check it against the SoC reference manual.`);
  const itsRef = asRef(its);
  const edits: DtEdit[] = [{ prop: 'msi-map', cells: [0, itsRef, id, 1] }];
  // In an overlay msi-parent cannot be deleted: giving it the same DeviceID has the same effect.
  if (dropMsiParent || input.msiParent) edits.unshift({ prop: 'msi-parent', delete: true, overlay: { cells: [itsRef, id] } });
  return { edits, notes };
}

// ---- reading the facts (the only part of this module that does I/O, through DeviceTree) ----

/**
 * A node's compatible and availability. A compatible or status the node holds in a form the
 * kernel does not write throws DtParseError naming the file: a guess here (no compatible,
 * enabled) would turn into a confident verdict about the wrong thing.
 */
async function nodeFact(tree: DeviceTree, path: string): Promise<DtNodeFact> {
  const [label, compatible, available, phandle] = await Promise.all([tree.pathLabel(path), tree.compatible(path), tree.available(path), tree.phandle(path)]);
  return { path, ...(label ? { label } : {}), compatible, available, ...(phandle === undefined ? {} : { phandle }) };
}

/**
 * True when `e` is a DtParseError about one of `props` of `node`: that property is what the
 * caller is reading and may keep as data. Anything else (a duplicate phandle, a broken
 * `#msi-cells` or `status` elsewhere) is not the caller's property and must reach probe,
 * which names the file actually wrong.
 */
function isOwnParseError(tree: DeviceTree, e: unknown, nodes: readonly string[], props: readonly string[]): e is DtParseError {
  return e instanceof DtParseError && !(e instanceof DuplicatePhandleError) && nodes.some((n) => props.some((p) => e.path === tree.file(n, p)));
}

const MAP_PROPS = ['msi-map', 'msi-map-mask'];

/** The RC node beside the controller: same parent, `pcie@<unit address>`. */
async function rcSibling(tree: DeviceTree, controller: string): Promise<RcSiblingFact | undefined> {
  const parent = parentPath(controller);
  const unit = unitAddress(controller);
  if (parent === undefined || unit === undefined) return undefined;
  const path = parent === '/' ? `/pcie@${unit}` : `${parent}/pcie@${unit}`;
  if (!(await tree.exists(path))) return undefined;
  const label = await tree.pathLabel(path);
  const base = { path, ...(label ? { label } : {}) };
  // The RC node only adds warnings: a broken msi-map or msi-parent of its own leaves it
  // unused (source "none"); anything else is reported.
  try {
    const m = await resolveMsiMap(tree, [path], 0);
    if (m.kind === 'mapped') return { ...base, its: await nodeFact(tree, m.target), deviceId: m.deviceId, source: 'msi-map' };
    if (m.kind !== 'no-msi-map')
      return { ...base, source: 'none', unusable: `${tree.file(path, 'msi-map')} ${m.kind === 'dangling' ? `names phandle ${hex(m.phandle)}, which no node has` : 'has no entry for ID 0'}` };
    const p = await readMsiParent(tree, path);
    if (p?.target && p.args.length === 1) return { ...base, its: await nodeFact(tree, p.target), deviceId: p.args[0]!, source: 'msi-parent' };
  } catch (e) {
    if (!isOwnParseError(tree, e, [path], [...MAP_PROPS, 'msi-parent'])) throw e;
    return { ...base, source: 'none', unusable: `${e.path} cannot be read (${e.reason})` };
  }
  return { ...base, source: 'none' };
}

/** The device-tree half of doorbellVerdict()'s input for the controller node at `controllerDtPath`. */
export async function gatherDoorbellFacts(tree: DeviceTree, controllerDtPath: string): Promise<DoorbellDtFacts> {
  const chain = await deviceChain(tree, controllerDtPath);
  let msiMap: MsiMapFact;
  try {
    msiMap = await resolveMsiMap(tree, chain, 0);
  } catch (e) {
    if (!isOwnParseError(tree, e, chain, MAP_PROPS)) throw e;
    msiMap = { kind: 'malformed', path: e.path, reason: e.reason, ...(e instanceof MsiMapError ? { kernelLog: e.kernelLog } : {}) };
  }
  let msiParent: MsiParentFact | undefined;
  try {
    const p = await readMsiParent(tree, controllerDtPath);
    if (p) msiParent = { phandle: p.phandle, args: p.args, ...(p.target ? { target: await nodeFact(tree, p.target) } : {}) };
  } catch (e) {
    if (!isOwnParseError(tree, e, [controllerDtPath], ['msi-parent'])) throw e;
    msiParent = { phandle: 0, args: [], malformed: e.reason };
  }
  const [status, label, itsPaths, v5Paths, rc, edma, compatible] = await Promise.all([
    tree.status(controllerDtPath),
    tree.pathLabel(controllerDtPath),
    // drivers/irqchip/irq-gic-v3-its.c its_of_probe() is __init: the kernel makes MSI domains
    // only for ITS nodes present at boot, so the boot blob's (live-confirmed) list is complete.
    tree.findCompatible(ITS_COMPATIBLE, { bootOnly: true }),
    tree.findCompatible(GICV5_ITS_COMPATIBLE, { bootOnly: true }),
    rcSibling(tree, controllerDtPath),
    edmaRegisters(tree, controllerDtPath),
    tree.compatible(controllerDtPath),
  ]);
  const dma = dmaCtrlBar(compatible);
  const target = msiMap.kind === 'mapped' ? await nodeFact(tree, msiMap.target) : undefined;
  let epDeviceId: ItsDeviceId | undefined;
  if (msiMap.kind === 'mapped' && isIts(target)) {
    try {
      epDeviceId = await itsDeviceId(tree, controllerDtPath, msiMap.target);
    } catch (e) {
      if (!isOwnParseError(tree, e, [controllerDtPath], [...MAP_PROPS, 'msi-parent'])) throw e;
      epDeviceId = { source: 'none' };
    }
  }
  return {
    controllerPath: controllerDtPath,
    ...(label ? { controllerLabel: label } : {}),
    status,
    chain,
    msiMap,
    ...(target ? { target } : {}),
    ...(msiParent ? { msiParent } : {}),
    ...(epDeviceId ? { epDeviceId } : {}),
    its: await Promise.all(itsPaths.map((p) => nodeFact(tree, p))),
    gicV5Its: await Promise.all(v5Paths.map((p) => nodeFact(tree, p))),
    ...(rc ? { rcSibling: rc } : {}),
    edma,
    ...(dma ? { dmaCtrlBar: dma } : {}),
  };
}
