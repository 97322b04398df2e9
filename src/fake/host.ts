// The other end of the link: the simulated root complex, and the physical address space it
// and the board's CPUs reach (src/fake/phys.ts). Built from the model after every change:
// - each bound function's BAR memory (pci_epf_alloc_space) at addresses the fake assigns;
// - each ITS's translation page (GITS_TRANSLATER = ITS reg base + 0x10040, include/linux/irqchip/arm-gic-v3.h),
//   which turns a write of DATA from DeviceID D into the doorbell whose domain has DeviceID D
//   and event ID (= msi_index) DATA, and fires its virq; anything else does nothing, silently
//   (observed 7.3.4).
// The host reaches a BAR through the function's inbound translation: the BAR's memory, or the
// ITS page while a doorbell owns it (drivers/pci/endpoint/functions/pci-epf-test.c,
// pci-epf-vntb.c); a BAR the controller reserves for its DMA registers reaches those (dmaBar).
import { cadenceInboundAddr0 } from '../host/cadence-devmem.js';
import { dmaCtrlBarOf } from '../boards/common.js';
import { doorbellInDmaBar } from '../devicetree/dwc.js';
import type { AccessWidth } from '../kernel/port.js';
import { EpctlError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';
import type { KernelContext } from './context.js';
import { Oops } from './context.js';
import type { EpfDevice } from './model.js';
import type { AccessSource, PhysicalBus } from './phys.js';
import { hostBars, memRead, memWrite } from './bar-space.js';
import { driverModel, isModelledDriver } from './functions/index.js';

/** GITS_TRANSLATER's offset from the ITS base (arm-gic-v3 ITS: second 64 KiB frame + 0x40). */
export const GITS_TRANSLATER_OFFSET = 0x10040n;
/** The ITS translation register frame: GITS_TRANSLATER sits at 0x40 in it. */
const ITS_TRANSLATION_FRAME = 0x10000n;

/**
 * Where the fake puts BAR memory. QEMU virt: inside the lane's reserved fake-epc RAM
 * (0x7e000000..0x7fffffff), in the upper half of the EP node's first reg entry (its "reg"
 * window, 0x7e000000 + 16 MiB): above the Cadence register block (the inbound-translation
 * registers sit at reg + 0x400840, CDNS_PCIE_AT_IB_EP_FUNC_BAR_ADDR0 in
 * drivers/pci/controller/cadence/pcie-cadence.h) and below the outbound "mem" window at
 * 0x7f000000 [inferred: the lane did not record where dma_alloc_coherent put the BARs]. SoC
 * boards: 0xb0000000..0xbfffffff, RAM on every modelled SoC board [inferred].
 */
export function barWindow(board: { soc: string }): { start: bigint; end: bigint } {
  return board.soc === 'QEMU virt' ? { start: 0x7e800000n, end: 0x7f000000n } : { start: 0xb0000000n, end: 0xc0000000n };
}

/** A CPU store reaches the ITS as requester ID 0 only under QEMU (QEMU hw/intc/arm_gicv3_its.c takes a CPU store as requester ID 0; observed in the lane). */
const cpuRequester = (board: { soc: string }): number | undefined => (board.soc === 'QEMU virt' ? 0 : undefined);

/** What host.ts needs of the kernel. */
export interface HostKernel extends KernelContext {
  readonly phys: PhysicalBus;
}

const BAR_PREFIX = 'bar:';
const ITS_PREFIX = 'its:';
const EDMA_PREFIX = 'edma:';
const CDNS_PREFIX = 'cdns-at:';
/** The per-function stride of CDNS_PCIE_AT_IB_EP_FUNC_BAR_ADDR0 (pcie-cadence.h; cadenceInboundAddr0). */
const CDNS_AT_FN_STRIDE = Number(cadenceInboundAddr0(1, 0) - cadenceInboundAddr0(0, 0));

/** Bound functions with BAR memory, in a stable order (controller, function number, device). */
function boundDevices(k: KernelContext): EpfDevice[] {
  return Object.values(k.m.devices)
    .filter((d) => d.host !== undefined && d.epc !== undefined)
    .sort((a, b) => (a.epc! < b.epc! ? -1 : a.epc! > b.epc! ? 1 : (a.funcNo ?? 0) - (b.funcNo ?? 0) || (a.name < b.name ? -1 : 1)));
}

/** The physical address of each BAR's memory: "<device>:<bar>" → address (bump allocation, size-aligned). */
export function barLayout(k: KernelContext): Map<string, bigint> {
  const { start, end } = barWindow(k.board);
  const out = new Map<string, bigint>();
  let cursor = start;
  for (const d of boundDevices(k))
    for (const { bar, size } of hostBars(d)) {
      const align = BigInt(Math.max(size, 4096));
      const addr = ((cursor + align - 1n) / align) * align;
      // A BAR that does not fit the window is not mapped: the host reads all-ones there.
      if (addr + BigInt(size) > end) continue;
      out.set(`${d.name}:${bar}`, addr);
      cursor = addr + BigInt(size);
    }
  return out;
}

/** Rebuilds the BAR-memory and ITS regions of `k.phys` from the model. */
export function rebuildRegions(k: HostKernel): void {
  k.phys.unmapAll(BAR_PREFIX);
  k.phys.unmapAll(ITS_PREFIX);
  const seen = new Set<string>();
  for (const c of k.board.controllers) {
    const its = k.msiDomain(c.name).its;
    if (!its || seen.has(its.node)) continue;
    seen.add(its.node);
    const frame = its.translater - (GITS_TRANSLATER_OFFSET - ITS_TRANSLATION_FRAME);
    k.phys.map({
      name: `${ITS_PREFIX}${its.node}`,
      base: frame,
      size: ITS_TRANSLATION_FRAME,
      // GITS_TRANSLATER is write-only; the rest of the frame is reserved: reads as zero [inferred].
      read: () => 0n,
      write: (offset, _width, value, source) => {
        if (offset !== GITS_TRANSLATER_OFFSET - ITS_TRANSLATION_FRAME) return;
        const requester = source === undefined || source.kind === 'cpu' ? cpuRequester(k.board) : source.deviceId;
        if (requester !== undefined) itsTranslate(k, its.node, requester, Number(value & 0xffffffffn));
      },
    });
  }
  // The eDMA's rd_int_status with interrupt emulation (dw-edma-core.c dw_edma_emul_irq_alloc):
  // a write of 0 asserts the eDMA interrupt, whose handler runs generic_handle_irq() on the
  // emulation virq, so every shared doorbell action runs [other values: not modelled, inferred none].
  k.phys.unmapAll(EDMA_PREFIX);
  for (const c of k.board.controllers) {
    const addr = k.msiDomain(c.name).edmaDoorbell;
    if (addr === undefined) continue;
    k.phys.map({
      name: `${EDMA_PREFIX}${c.name}`,
      base: addr,
      size: 4n,
      read: () => 0n,
      write: (_offset, _width, value, source) => {
        // A CPU store reaches the eDMA too, but only the host's write is a doorbell ring here.
        if (source === undefined || source.kind === 'cpu' || value !== 0n) return;
        embeddedRing(k, c.name);
      },
    });
  }
  // The Cadence inbound-translation registers, which the host emulation reads to find each BAR
  // (src/host/cadence-devmem.ts): cdns_pcie_ep_set_bar() writes the BAR's target into
  // CDNS_PCIE_AT_IB_EP_FUNC_BAR_ADDR0/1(fn, bar) = reg + 0x400840 + fn*0x40 + bar*8 (+4), and
  // cdns_pcie_ep_clear_bar() writes 0 (drivers/pci/controller/cadence/pcie-cadence-ep.c,
  // pcie-cadence.h). On the lane's QEMU board they are RAM the driver wrote; other bytes of the
  // block read 0 and stores are not kept [inferred].
  k.phys.unmapAll(CDNS_PREFIX);
  const layout = barLayout(k);
  for (const c of k.board.controllers) {
    const unit = /^([0-9a-f]+)\./.exec(c.name);
    if (c.driver !== 'cdns-pcie' || !unit) continue;
    const target = (fn: number, bar: number): bigint => {
      const d = Object.values(k.m.devices).find((x) => x.epc === c.name && x.funcNo === fn && x.pf === undefined && x.host !== undefined);
      const inbound = d?.host?.inbound[String(bar)];
      if (!d || inbound === 'cleared') return 0n;
      return inbound !== undefined ? BigInt(inbound) : (layout.get(`${d.name}:${bar}`) ?? 0n);
    };
    const byteAt = (offset: number): bigint => {
      const fn = Math.floor(offset / CDNS_AT_FN_STRIDE);
      const inFn = offset % CDNS_AT_FN_STRIDE;
      if (inFn >= 6 * 8) return 0n;
      return (target(fn, Math.floor(inFn / 8)) >> BigInt(8 * (inFn % 8))) & 0xffn;
    };
    k.phys.map({
      name: `${CDNS_PREFIX}${c.name}`,
      base: BigInt(`0x${unit[1]}`) + cadenceInboundAddr0(0, 0),
      size: BigInt(Math.max(1, c.maxFunctions) * CDNS_AT_FN_STRIDE),
      read: (offset, width) => {
        let v = 0n;
        for (let i = width / 8 - 1; i >= 0; i--) v = (v << 8n) | byteAt(Number(offset) + i);
        return v;
      },
      write: () => undefined,
    });
  }
  for (const [key, addr] of layout) {
    const [name, barText] = splitKey(key);
    const bar = Number(barText);
    const size = BigInt(k.m.devices[name]!.host!.bars[barText]!);
    k.phys.map({
      name: `${BAR_PREFIX}${name} BAR${bar}`,
      base: addr,
      size,
      read: (offset, width) => {
        const h = k.m.devices[name]?.host;
        return h ? memRead(h, bar, Number(offset), width) : 0n;
      },
      write: (offset, width, value) => {
        const d = k.m.devices[name];
        if (!d?.host) return;
        memWrite(d.host, bar, Number(offset), width, value);
        runKernelWork(() => driverModel(d.driver).barWritten?.(k, d, bar, Number(offset), width));
      },
    });
  }
}

function splitKey(key: string): [string, string] {
  const i = key.lastIndexOf(':');
  return [key.slice(0, i), key.slice(i + 1)];
}

/** Work the kernel runs on its own (a workqueue, an IRQ): an oops there is logged, the caller goes on. */
function runKernelWork(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof Oops)) throw e;
  }
}

/**
 * A BAR the controller reserves for its DMA registers (RK3588's BAR4, devicetree/dwc.ts
 * dmaCtrlBar): it shows them to the host whatever the iATU says (pcie-dw-rockchip.c), so a host
 * access at `offset` lands at the eDMA register base (edma_reg_phys) + the region's offset +
 * `offset`. Only rd_int_status, the embedded doorbell, does anything there; other registers read
 * all-ones [not modelled]. `base` is undefined when the controller's eDMA was not found.
 */
function dmaBar(k: KernelContext, controller: string, bar: number): { size: number; base: bigint | undefined } | undefined {
  const dma = dmaCtrlBarOf(k.controller(controller).features);
  if (dma?.bar !== bar) return undefined;
  const doorbell = k.msiDomain(controller).edmaDoorbell;
  // The BAR's first byte: the doorbell's address less its place in the BAR.
  return { size: dma.size, base: doorbell === undefined ? undefined : doorbell - BigInt(doorbellInDmaBar(dma).offset) };
}

/** The embedded doorbell: the controller's emulation virq fires once, and every function sharing it runs its handler. */
function embeddedRing(k: KernelContext, epc: string): void {
  const virq = k.m.controllers[epc]?.edmaDbVirq;
  if (virq === undefined) return;
  const owners = Object.values(k.m.devices).filter((d) => d.doorbellEmbedded !== undefined && d.doorbellVirqs?.includes(virq));
  if (owners.length === 0) return;
  k.irq.fire(virq, 0);
  for (const d of owners) runKernelWork(() => driverModel(d.driver).doorbellIrq?.(k, d, 0));
}

/** The ITS: (DeviceID, EventID) → the doorbell's virq, fired on CPU0; anything else is dropped. */
function itsTranslate(k: KernelContext, itsNode: string, deviceId: number, eventId: number): void {
  for (const d of Object.values(k.m.devices)) {
    if (d.epc === undefined || d.doorbellVirqs === undefined) continue;
    const dom = k.msiDomain(d.epc);
    if (dom.its?.node !== itsNode || dom.deviceId !== deviceId) continue;
    const virq = d.doorbellVirqs[eventId];
    if (virq === undefined) continue;
    // The default affinity: CPU0 takes it (observed with 1 CPU; irqbalance not modelled).
    k.irq.fire(virq, 0);
    runKernelWork(() => driverModel(d.driver).doorbellIrq?.(k, d, eventId));
    return;
  }
}

/** An endpoint function as the host finds it, with where it is in configfs. */
export interface HostEndpoint {
  /** The EPF device, e.g. pci_epf_test.0. */
  device: string;
  driver: string;
  /** Its configfs directory under functions/, e.g. pci_epf_test/func1 (absent once removed). */
  dir?: string;
  /** The controller it is linked to (primary interface), if any. */
  controller?: string;
  /** Its function number on that controller. */
  function?: number;
  /** The controller's `start` is 1: the link is up and the host can reach the BARs. */
  linkUp: boolean;
  /** BARs the bound driver set up, with their sizes; empty while unbound. */
  bars: { bar: number; size: number }[];
  /** pci-epf-test's command work stopped (oops or failed epc_init). */
  cmdStopped: boolean;
}

/** The simulated host's BAR access (the FakeKernel's `host`). */
export interface FakeHost {
  /** Every endpoint function on the board, bound or not, in device order. */
  endpoints(): Promise<HostEndpoint[]>;
  /** A `width`-bit read at `offset` of BAR `bar` of function `fn` on `controller` (little-endian). */
  barRead(controller: string, fn: number, bar: number, offset: number, width: AccessWidth): Promise<bigint>;
  barWrite(controller: string, fn: number, bar: number, offset: number, width: AccessWidth, value: bigint): Promise<void>;
}

/** A host access that cannot happen (no link, no such function or BAR). */
export class HostAccessError extends EpctlError {
  constructor(message: string, hint: string) {
    super(message, { exitCode: EXIT.ERROR, hint });
  }
}

const ALL_ONES = (width: AccessWidth): bigint => (1n << BigInt(width)) - 1n;

export function makeHost(k: HostKernel, serial: <T>(fn: () => T) => Promise<T>): FakeHost {
  /** The function at (controller, fn) and the physical address a host access lands on. */
  const resolve = (controller: string, fn: number, bar: number, offset: number, width: AccessWidth): { target: bigint | 'cleared' | undefined; d: EpfDevice } => {
    const epc = k.m.controllers[controller];
    if (!epc) throw new HostAccessError(`there is no controller ${controller} on ${k.board.name}`, `use one of: ${Object.keys(k.m.controllers).join(', ')}`);
    if (!epc.start) throw new HostAccessError(`the link of ${controller} is down: the host sees no function there`, `start the controller (write 1 to controllers/${controller}/start, e.g. with \`epctl apply\`)`);
    const d = Object.values(k.m.devices).find((x) => x.epc === controller && x.funcNo === fn && x.pf === undefined);
    if (!d?.host) throw new HostAccessError(`no function is bound as function ${fn} of ${controller}`, 'link a function to the controller first (`epctl apply`)');
    const dma = dmaBar(k, controller, bar);
    if (dma) {
      if (!Number.isInteger(offset) || offset < 0 || offset + width / 8 > dma.size || offset % (width / 8) !== 0)
        throw new HostAccessError(`offset 0x${offset.toString(16)} (${width}-bit) is outside the eDMA registers in reserved BAR${bar} of ${controller} (0x${dma.size.toString(16)} bytes) or unaligned`, `give an aligned offset below 0x${dma.size.toString(16)}`);
      return { target: dma.base === undefined ? undefined : dma.base + BigInt(offset), d };
    }
    const size = d.host.bars[String(bar)];
    if (size === undefined) throw new HostAccessError(`${d.name} has no BAR${bar}`, `its BARs are ${hostBars(d).map((b) => `BAR${b.bar}`).join(', ') || 'none'}`);
    if (!Number.isInteger(offset) || offset < 0 || offset + width / 8 > size || offset % (width / 8) !== 0)
      throw new HostAccessError(`offset 0x${offset.toString(16)} (${width}-bit) is outside BAR${bar} of ${d.name} (${size} bytes) or unaligned`, `give an aligned offset below 0x${size.toString(16)}`);
    const inbound = d.host.inbound[String(bar)];
    if (inbound === 'cleared') return { target: 'cleared', d };
    const base = inbound !== undefined ? BigInt(inbound) : barLayout(k).get(`${d.name}:${bar}`);
    return { target: base === undefined ? undefined : base + BigInt(offset), d };
  };
  return {
    endpoints: () =>
      serial(() =>
        Object.values(k.m.devices)
          .filter((d) => isModelledDriver(d.driver))
          .sort((a, b) => a.index - b.index)
          .map((d) => ({
            device: d.name,
            driver: d.driver,
            ...(d.dir === undefined ? {} : { dir: d.dir }),
            ...(d.epc === undefined ? {} : { controller: d.epc, function: d.funcNo! }),
            linkUp: d.epc !== undefined && k.m.controllers[d.epc]!.start,
            bars: hostBars(d),
            cmdStopped: d.host?.cmdStopped === true,
          })),
      ),
    barRead: (controller, fn, bar, offset, width) =>
      serial(() => {
        const { target } = resolve(controller, fn, bar, offset, width);
        // No inbound window (cleared BAR) or nothing behind it: the completion is an
        // Unsupported Request and the host reads all-ones [inferred].
        if (target === undefined || target === 'cleared') return ALL_ONES(width);
        const hit = k.phys.find(target, width);
        return hit ? hit.region.read(hit.offset, width) : ALL_ONES(width);
      }),
    barWrite: (controller, fn, bar, offset, width, value) =>
      serial(() => {
        const { target, d } = resolve(controller, fn, bar, offset, width);
        if (target === undefined || target === 'cleared') return;
        const hit = k.phys.find(target, width);
        // The ITS sees the SoC's stream ID for the controller, not what the EP node claims.
        const dom = k.msiDomain(d.epc!);
        const source: AccessSource = { kind: 'pcie', deviceId: dom.wireDeviceId ?? dom.deviceId };
        // A posted write: whatever it sets off in the kernel happens there, not to the host.
        hit?.region.write(hit.offset, width, value & ALL_ONES(width), source);
      }),
  };
}
