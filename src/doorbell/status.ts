// `epctl doorbell status`: for each controller and each function linked to it, the function's
// RC-to-EP doorbells as the kernel shows them now (/proc/interrupts rows on ITS-pMSI-<epc>),
// their mode, whether they are ready and why not, the link state (DesignWare debugfs), and the
// host commands that exercise them. functionDoorbells() is pure; doorbellStatus() reads the
// board through the port (probe for the verdicts, observe for the functions).
//
// Readiness follows the kernel review rule: a doorbell is ready only once its irq has a handler,
// i.e. its /proc/interrupts row exists with its action name, never before (a ring that arrives
// on an irq without a handler is lost).
// - pci-epf-vntb (v6.19+, drivers/pci/endpoint/functions/pci-epf-vntb.c epf_ntb_db_bar_init):
//   db_count irqs named pci_epf_vntb_db from link (bind) to unlink; none = its silent fallback to
//   polled doorbells (pci-epf-vntb.c; observed 7.3.4).
// - pci-epf-test (drivers/pci/endpoint/functions/pci-epf-test.c pci_epf_test_enable_doorbell):
//   the doorbell is allocated only on the host's COMMAND_ENABLE_DOORBELL and freed on DISABLE, so
//   the row lives only in between (pci-epf-test.c; observed 7.3.4). Ready means ready to be enabled: linked, the
//   controller started, and the verdict capable.
import type { KernelPort } from '../kernel/port.js';
import { readTextIfExists } from '../kernel/port.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { probe, attempter, type Problem, type BoardState, type ControllerState } from '../probe/probe.js';
import { observePciEp, attributeText, type ObservedFunction, type PciEpState } from '../configfs/observe.js';
import { parseInterrupts, doorbellChip, DOORBELL_ACTION, EMBEDDED_DOORBELL_CHIP, PROC_INTERRUPTS, type ParsedInterrupts } from '../procfs/interrupts.js';
import { readKernelConfig } from '../procfs/kconfig.js';
import { parseRelease, type KernelVersion } from '../kernel/version.js';
import { kernelBehaviour } from '../kernel/behaviour.js';
import { readLinkState, ltssmPath, type LinkState } from '../debugfs/ltssm.js';
import { CONTROLLERS } from '../configfs/paths.js';
import { doorbellRows, doorbellsWithHandler, toDoorbellIrq, type DoorbellIrq } from './irqs.js';
import { firstEpfNote, type DoorbellVerdict } from './rules.js';

/**
 * its: MSI doorbell rows are there (vNTB). embedded: the DesignWare eDMA's shared doorbell row
 * (dw-edma-emul, one action per doorbell). polled: vNTB bound without rows, its silent fallback.
 * on-demand: pci-epf-test, whose doorbell exists only between the host's ENABLE and DISABLE.
 * none: no RC-to-EP doorbell (another driver, not linked, or the controller cannot have one).
 */
export type FunctionDoorbellMode = 'its' | 'embedded' | 'polled' | 'on-demand' | 'none';

export interface FunctionDoorbells {
  /** `<driver>/<name>` as in configfs. */
  function: string;
  driver: string;
  /** The controller its doorbells belong to (primary/ for vNTB, else the controller it is linked to). */
  controller: string | null;
  /** A driver with RC-to-EP doorbells (pci_epf_test, pci_epf_vntb): only these count for readiness. */
  doorbellDriver: boolean;
  mode: FunctionDoorbellMode;
  /** The doorbells it should have: vNTB db_count; 1 for pci-epf-test; null when unknown or none. */
  expected: number | null;
  irqs: DoorbellIrq[];
  ready: boolean;
  /** Why it is ready, or the first thing in the way. */
  reason: string;
  /** What to run on the host (the RC side) to exercise this function's doorbells. */
  host: string[];
  notes: string[];
}

export interface ControllerDoorbells {
  name: string;
  started: boolean | null;
  verdict: Pick<DoorbellVerdict, 'capable' | 'mode' | 'code' | 'reason'> & { ringLost?: true };
  link: LinkState;
  functions: FunctionDoorbells[];
  /** Rows on ITS-pMSI-<epc> no linked function accounts for. */
  unclaimed: DoorbellIrq[];
}

export interface DoorbellStatus {
  source: { backend: KernelPort['backend']; origin: string };
  kernel: { release: string | null };
  controllers: ControllerDoorbells[];
  /** Functions of doorbell drivers that are linked to no controller. */
  unlinked: FunctionDoorbells[];
  /** Every doorbell function is ready (and there is at least one). */
  ready: boolean;
  /** One line per reason it is not ready: "pci_epf_vntb/func1: …". */
  waiting: string[];
  problems: Problem[];
}

/**
 * drivers/misc/pci_endpoint_test.c pci_endpoint_test_tbl (the tree with the doorbell code,
 * v6.17+): PCI_DEVICE() entries, matched on vendor and device only. IDs from
 * include/linux/pci_ids.h (TI 0x104c, Freescale 0x1957, Synopsys 0x16c3, Renesas 0x1912) and the
 * driver's own defines (Rockchip 0x1d87 was there before it moved to pci_ids.h). Any other ID
 * needs new_id on the host.
 */
export const HOST_TEST_IDS: readonly { vendor: number; device: number; name: string }[] = [
  { vendor: 0x104c, device: 0xb500, name: 'TI DRA74x' },
  { vendor: 0x104c, device: 0xb501, name: 'TI DRA72x' },
  { vendor: 0x1957, device: 0x81c0, name: 'Freescale' },
  { vendor: 0x1957, device: 0x0808, name: 'Freescale i.MX8' },
  { vendor: 0x1957, device: 0x80c0, name: 'Freescale LS1088A' },
  { vendor: 0x16c3, device: 0xedda, name: 'Synopsys EDDA' },
  { vendor: 0x104c, device: 0xb00c, name: 'TI AM654' },
  { vendor: 0x1912, device: 0x0028, name: 'Renesas R8A774A1' },
  { vendor: 0x1912, device: 0x002b, name: 'Renesas R8A774B1' },
  { vendor: 0x1912, device: 0x002d, name: 'Renesas R8A774C0' },
  { vendor: 0x1912, device: 0x0025, name: 'Renesas R8A774E1' },
  { vendor: 0x1912, device: 0x0031, name: 'Renesas R8A779F0' },
  { vendor: 0x104c, device: 0xb00d, name: 'TI J721E' },
  { vendor: 0x104c, device: 0xb00f, name: 'TI J7200' },
  { vendor: 0x104c, device: 0xb010, name: 'TI AM64' },
  { vendor: 0x104c, device: 0xb013, name: 'TI J721S2' },
  { vendor: 0x1d87, device: 0x3588, name: 'Rockchip RK3588' },
];

/**
 * drivers/ntb/hw/epf/ntb_hw_epf.c ntb_epf_pci_tbl: the host driver of a vNTB function binds
 * these IDs with class PCI_CLASS_MEMORY_RAM << 8 under mask 0xffff00 (base class 0x05,
 * subclass 0x00).
 */
export const HOST_NTB_IDS: readonly { vendor: number; device: number; name: string }[] = [
  { vendor: 0x104c, device: 0xb00d, name: 'TI J721E' },
  { vendor: 0x1957, device: 0x0809, name: 'Freescale i.MX8' },
  { vendor: 0x1912, device: 0x0030, name: 'Renesas R-Car' },
];

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

/** A header attribute as the kernel shows it ("0x%04x\n"), as a number; undefined when unreadable. */
function headerValue(f: ObservedFunction, attr: string): number | undefined {
  const t = attributeText(f.attributes[attr])?.trim();
  if (t === undefined || !/^(0x[0-9a-fA-F]+|\d+)$/.test(t)) return undefined;
  return Number(t);
}

/** The selftest of tools/testing/selftests/pci_endpoint (pci_endpoint_test.c), on the host. */
export const SELFTEST_DOORBELL = './pci_endpoint_test -r pcie_ep_doorbell.DOORBELL_TEST';

function hostForTest(f: ObservedFunction): { host: string[]; notes: string[] } {
  const vid = headerValue(f, 'vendorid');
  const did = headerValue(f, 'deviceid');
  const host = ['modprobe pci_endpoint_test'];
  const notes: string[] = [];
  if (vid === 0xffff) notes.push(`${f.driver}/${f.name} has vendorid 0xffff: a host reads that as "no device", so the host driver has nothing to bind; set vendorid (examples/pci-epf-test.yaml uses 0x104c:0xb500, in the host driver's table).`);
  else if (vid !== undefined && did !== undefined && !HOST_TEST_IDS.some((e) => e.vendor === vid && e.device === did)) {
    // drivers/pci/pci-driver.c new_id_store: "vendor device [subvendor subdevice class class_mask driver_data]", hex.
    host.push(`echo ${hex4(vid)} ${hex4(did)} > /sys/bus/pci/drivers/pci-endpoint-test/new_id`);
    notes.push(`${hex4(vid)}:${hex4(did)} is not in the host driver's ID table (drivers/misc/pci_endpoint_test.c), so pci-endpoint-test binds it only after new_id.`);
  } else if (vid === undefined || did === undefined) notes.push('vendorid/deviceid could not be read: if the host driver does not bind the device, add its IDs with new_id (/sys/bus/pci/drivers/pci-endpoint-test/new_id).');
  host.push(SELFTEST_DOORBELL);
  return { host, notes };
}

function hostForVntb(f: ObservedFunction): { host: string[]; notes: string[] } {
  // Documentation/PCI/endpoint/pci-vntb-howto.rst: the host runs ntb_hw_epf and any NTB client
  // (NTB Transport + NTB Netdev, NTB Ping Pong, NTB Tool).
  const host = ['modprobe ntb_hw_epf', 'modprobe ntb_transport && modprobe ntb_netdev   # or: modprobe ntb_pingpong, modprobe ntb_tool'];
  const notes: string[] = [];
  const vid = headerValue(f, 'vendorid');
  const did = headerValue(f, 'deviceid');
  const base = headerValue(f, 'baseclass_code');
  const sub = headerValue(f, 'subclass_code');
  if (vid !== undefined && did !== undefined && !HOST_NTB_IDS.some((e) => e.vendor === vid && e.device === did))
    notes.push(`${hex4(vid)}:${hex4(did)} is not in ntb_hw_epf's ID table (drivers/ntb/hw/epf/ntb_hw_epf.c: ${HOST_NTB_IDS.map((e) => `${hex4(e.vendor)}:${hex4(e.device)}`).join(', ')}); use one of those IDs (examples/pci-epf-vntb.yaml uses 1957:0809).`);
  if ((base !== undefined && base !== 0x05) || (sub !== undefined && sub !== 0x00))
    notes.push(`ntb_hw_epf binds only class 0x0500 (RAM memory controller); this function shows baseclass_code 0x${(base ?? 0).toString(16).padStart(2, '0')}, subclass_code 0x${(sub ?? 0).toString(16).padStart(2, '0')}.`);
  return { host, notes };
}

/** What a function's doorbells look like now, given the controller facts. Pure. */
export interface FunctionInput {
  fn: ObservedFunction;
  controller: Pick<ControllerState, 'name' | 'started' | 'doorbell'> | undefined;
  /** The rows on that controller's doorbell chip; undefined when /proc/interrupts was unreadable. */
  rows: DoorbellIrq[] | undefined;
  version: KernelVersion | undefined;
  /** The kernel carries RC-to-EP doorbell code (probe's answer); null when unknown. */
  doorbellCode: boolean | null;
  link: LinkState | undefined;
  /** Functions linked to the same controller. */
  siblings: number;
}

export function functionDoorbells(input: FunctionInput): FunctionDoorbells {
  const { fn, controller } = input;
  const key = `${fn.driver}/${fn.name}`;
  const epc = controller?.name ?? null;
  const base = { function: key, driver: fn.driver, controller: epc };
  const chip = epc === null ? '' : controller?.doorbell.mode === 'embedded' ? EMBEDDED_DOORBELL_CHIP : doorbellChip(epc);
  const linkNote = input.link?.available && !input.link.linkUp ? [`The link is not up (${input.link.text}): no host write can arrive until it is.`] : [];
  const isVntb = fn.driver === 'pci_epf_vntb';
  const isTest = fn.driver === 'pci_epf_test';
  if (!isVntb && !isTest)
    return { ...base, doorbellDriver: false, mode: 'none', expected: null, irqs: [], ready: false, reason: `${fn.driver} requests no RC-to-EP doorbell (only pci_epf_test and pci_epf_vntb do).`, host: [], notes: [] };
  const action = isVntb ? DOORBELL_ACTION.pci_epf_vntb : DOORBELL_ACTION.pci_epf_test;
  const hostInfo = isVntb ? hostForVntb(fn) : hostForTest(fn);
  const none = (reason: string, mode: FunctionDoorbellMode = 'none', notes: string[] = []): FunctionDoorbells => ({
    ...base,
    doorbellDriver: true,
    mode,
    expected: isTest ? 1 : dbCount(fn),
    irqs: [],
    ready: false,
    reason,
    ...hostInfo,
    notes: [...notes, ...hostInfo.notes],
  });
  if (controller === undefined) {
    if (fn.secondary)
      return none(`linked only through secondary/ (to ${fn.secondary}): ${isVntb ? 'vNTB binds without a primary controller and allocates no doorbells; unlinking it then oopses 7.3.4 (epf_ntb_unbind, pci-epf-vntb.c)' : 'pci-epf-test has no secondary interface'}.`);
    return none(`not linked to a controller: ${isVntb ? `ln -s ${CONTROLLERS}/<epc> ${fn.path}/primary/` : `ln -s ${fn.path} ${CONTROLLERS}/<epc>/`}`);
  }
  // Rows on the chip: those carrying this driver's action, and those with no handler at all.
  const all = input.rows ?? [];
  const mine = all.filter((r) => r.actions.includes(action));
  const handlerless = all.filter((r) => r.actions.length === 0);
  const irqs = [...mine, ...handlerless];
  const handlerlessNote = handlerless.length
    ? [`${handlerless.map((r) => `irq ${r.virq} (index ${r.index ?? '?'})`).join(', ')} on ${chip} ${handlerless.length === 1 ? 'has' : 'have'} no handler yet: a ring there now would be lost.`]
    : [];
  const many = input.siblings > 1 ? [firstEpfNote(input.version)] : [];
  const verdict = controller.doorbell;
  const unreadable = input.rows === undefined ? [`${PROC_INTERRUPTS} could not be read, so the doorbell rows are unknown.`] : [];

  if (isVntb) {
    const expected = dbCount(fn);
    const result = (mode: FunctionDoorbellMode, ready: boolean, reason: string, notes: string[] = []): FunctionDoorbells => ({
      ...base,
      doorbellDriver: true,
      mode,
      expected,
      irqs,
      ready,
      reason,
      ...hostInfo,
      notes: [...notes, ...handlerlessNote, ...many, ...linkNote, ...unreadable, ...hostInfo.notes],
    });
    if (input.rows === undefined) return result('none', false, `${PROC_INTERRUPTS} is unreadable, so whether vNTB got its MSI doorbells is unknown.`);
    if (input.version && !kernelBehaviour(input.version).vntbDoorbell)
      return result('polled', false, `Linux ${input.version.release} has no vNTB MSI doorbells (they came in 6.19, dc693d606644): vNTB polls its doorbell registers.`);
    if (mine.length === 0) {
      // The embedded doorbell sits in the controller's reserved BAR: vNTB's db_bar must be it.
      const at = verdict.mode === 'embedded' ? verdict.doorbellBar : undefined;
      const dbBar = attributeText(fn.typeGroup?.attributes['db_bar'])?.trim();
      const misplaced = at !== undefined && dbBar !== undefined && dbBar !== String(at.bar);
      return result(
        'polled',
        false,
        `bound to ${epc}, but ${PROC_INTERRUPTS} has no ${action} row on ${chip}: vNTB silently fell back to polling its doorbell BAR (every 5 ms)${misplaced ? `: its db_bar is ${dbBar}, but the embedded doorbell is in the reserved BAR${at.bar}, and pci-epf-vntb.c gives up (-EINVAL, no log line) when they differ` : verdict.capable === true ? '' : `; ${verdict.reason}`}`,
        [
          misplaced
            ? `Set db_bar to ${at.bar} (${fn.path}/${fn.typeGroup?.name ?? 'pci_epf_vntb.N'}/db_bar, written while unlinked), then link the function again.`
            : '`epctl probe` gives the controller\'s doorbell verdict and its fix; the link must then be redone (unlink and link the function).',
        ],
      );
    }
    // An embedded doorbell is one shared row with one action per doorbell (pci-ep-msi.c IRQF_SHARED).
    const mode: FunctionDoorbellMode = mine.every((r) => r.chip === EMBEDDED_DOORBELL_CHIP) ? 'embedded' : 'its';
    const where = mode === 'embedded' ? `the shared ${EMBEDDED_DOORBELL_CHIP} irq ${mine[0]!.virq} (the eDMA's embedded doorbell)` : chip;
    if (expected === null) return result(mode, false, `${action} on ${where}, but db_count could not be read, so whether all doorbells have their handler is unknown.`);
    const handlers = doorbellsWithHandler(mine, action, expected);
    if (handlers < expected)
      return result(mode, false, `${handlers} of ${expected} doorbells have their handler (${action} on ${where}); ${expected - handlers} still missing.`);
    if (verdict.ringLost)
      return result(mode, false, `all ${expected} doorbells are on ${where} with their handler, but a host's ring would not reach them: the EP's ITS or DeviceID differs from the RC node's (see the warning of \`epctl probe\`).`);
    return result(mode, true, `all ${expected} doorbells are on ${where} with their handler ${action} (irq${mine.length > 1 ? 's' : ''} ${mine.map((r) => r.virq).join(', ')}).`);
  }

  // pci-epf-test: ready to be enabled.
  const result = (mode: FunctionDoorbellMode, ready: boolean, reason: string, notes: string[] = []): FunctionDoorbells => ({
    ...base,
    doorbellDriver: true,
    mode,
    expected: 1,
    irqs,
    ready,
    reason,
    ...hostInfo,
    notes: [...notes, ...handlerlessNote, ...many, ...linkNote, ...unreadable, ...hostInfo.notes],
  });
  const onDemand = `the doorbell itself (${action} on ${chip}) appears only when the host sends ENABLE_DOORBELL and is gone after DISABLE_DOORBELL`;
  if (input.doorbellCode === false) return result('none', false, `this kernel carries no RC-to-EP doorbell code (drivers/pci/endpoint/pci-ep-msi.c, v6.17+): ENABLE_DOORBELL will fail.`);
  if (verdict.capable !== true) return result('none', false, `${epc} cannot allocate a doorbell: ${verdict.reason}`);
  const enabled = [
    ...(mine.length ? [`The host has enabled it now: irq ${mine.map((r) => r.virq).join(', ')}.`] : []),
    ...(verdict.mode === 'embedded' && verdict.doorbellBar
      ? [`The doorbell is published in ${epc}'s reserved BAR${verdict.doorbellBar.bar} (its eDMA registers), at offset 0x${verdict.doorbellBar.offset.toString(16)}: the host reads DB_BAR ${verdict.doorbellBar.bar}.`]
      : []),
  ];
  if (verdict.ringLost) return result('on-demand', false, `the kernel allocates the doorbell, but a host's ring would not reach it (see the warning of \`epctl probe\`).`, enabled);
  if (controller.started !== true)
    return result('on-demand', false, `linked to ${epc}, but ${epc} is not started${controller.started === null ? ' (its start file could not be read)' : ''}: echo 1 > ${CONTROLLERS}/${epc}/start; ${onDemand}.`, enabled);
  return result('on-demand', true, `ready to be enabled: linked to ${epc}, started, doorbell capable; ${onDemand}.`, enabled);
}

/** vNTB db_count ("%d\n"), or null when it cannot be read. */
function dbCount(fn: ObservedFunction): number | null {
  const t = attributeText(fn.typeGroup?.attributes['db_count'])?.trim();
  return t !== undefined && /^\d+$/.test(t) ? Number(t) : null;
}

/** The controller a function's doorbells belong to: vNTB's primary, else the one it is linked to. */
function doorbellController(f: ObservedFunction): string | undefined {
  return f.primary ?? f.controllers[0];
}

export async function doorbellStatus(port: KernelPort, observed?: PciEpState): Promise<DoorbellStatus> {
  const board: BoardState = await probe(port);
  const problems: Problem[] = [...board.problems];
  const attempt = attempter(problems);
  const pciEp = observed ?? (await observePciEp(port, attempt));
  const version = board.kernel.release === null ? undefined : parseRelease(board.kernel.release);

  const interruptsText = await attempt(() => readTextIfExists(port, PROC_INTERRUPTS));
  const interrupts: ParsedInterrupts | undefined = interruptsText === undefined ? undefined : await attempt(async () => parseInterrupts(interruptsText, PROC_INTERRUPTS));
  const kconfig = await attempt(() => readKernelConfig(port, board.kernel.release ?? '', []));
  const debugFs = kconfig === undefined ? undefined : kconfig.values.get('DEBUG_FS') === 'y' ? 'y' : 'n';

  const controllers: ControllerDoorbells[] = [];
  const claimed = new Set<string>();
  for (const c of board.controllers) {
    const link =
      (await attempt(() => readLinkState(port, c.name, { version, debugFs }))) ??
      ({ available: false, path: ltssmPath(c.name), why: 'unreadable', reason: `${ltssmPath(c.name)} could not be used: see the problems`, hint: 'see the problems below' } as const);
    const rows = interrupts === undefined ? undefined : doorbellRows(interrupts, c.name, { embedded: c.doorbell.mode === 'embedded' }).map(toDoorbellIrq);
    const linked = pciEp.functions.filter((f) => doorbellController(f) === c.name);
    const functions = linked.map((fn) => {
      claimed.add(`${fn.driver}/${fn.name}`);
      return functionDoorbells({ fn, controller: c, rows, version, doorbellCode: board.kernel.doorbellCode, link, siblings: linked.length });
    });
    const accounted = new Set(functions.flatMap((f) => f.irqs.map((i) => i.virq)));
    controllers.push({
      name: c.name,
      started: c.started,
      verdict: { capable: c.doorbell.capable, mode: c.doorbell.mode, code: c.doorbell.code, reason: c.doorbell.reason, ...(c.doorbell.ringLost ? { ringLost: true as const } : {}) },
      link,
      functions,
      unclaimed: (rows ?? []).filter((r) => !accounted.has(r.virq)),
    });
  }
  const unlinked = pciEp.functions
    .filter((f) => !claimed.has(`${f.driver}/${f.name}`) && (f.driver === 'pci_epf_test' || f.driver === 'pci_epf_vntb'))
    .map((fn) => functionDoorbells({ fn, controller: undefined, rows: undefined, version, doorbellCode: board.kernel.doorbellCode, link: undefined, siblings: 0 }));

  const all = [...controllers.flatMap((c) => c.functions), ...unlinked].filter((f) => f.doorbellDriver);
  const waiting = all.filter((f) => !f.ready).map((f) => `${f.function}: ${f.reason}`);
  if (all.length === 0) waiting.push('no pci_epf_test or pci_epf_vntb function exists: `epctl apply -c examples/pci-epf-vntb.yaml` makes one');
  return {
    source: { backend: port.backend, origin: port.origin },
    kernel: { release: board.kernel.release },
    controllers,
    unlinked,
    ready: waiting.length === 0,
    waiting,
    problems,
  };
}

export function doorbellStatusExitCode(s: DoorbellStatus): ExitCode {
  return s.problems[0]?.exitCode ?? EXIT.OK;
}
