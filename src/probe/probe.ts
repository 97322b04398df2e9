// probe: read-only survey of a board — kernel, configfs, endpoint framework, function
// drivers, controllers and each controller's doorbell verdict. Data flows one way: this
// module reads through the port and returns a JSON-able BoardState; rendering is elsewhere.
import type { KernelPort } from '../kernel/port.js';
import { readTextIfExists, readdirIfExists } from '../kernel/port.js';
import { parseRelease } from '../kernel/version.js';
import { kernelBehaviour } from '../kernel/behaviour.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { CONFIGFS, PCI_EP, FUNCTIONS, CONTROLLERS } from '../configfs/paths.js';
import { parseMounts, PROC_MOUNTS } from '../procfs/mounts.js';
import { parseProcVersion, PROC_VERSION } from '../procfs/version.js';
import { readKernelConfig, type KernelConfigSkip } from '../procfs/kconfig.js';
import { listEpcNames, readEpc, type EpcSysfs } from '../sysfs/epc.js';
import { parseInterrupts, InterruptsParseError, PROC_INTERRUPTS, type ParsedInterrupts } from '../procfs/interrupts.js';
import { doorbellRows } from '../doorbell/irqs.js';
import { KALLSYMS, doorbellImplementation, hasEmbeddedDoorbell, type DoorbellImplementation } from '../procfs/kallsyms.js';
import { EPF_DRIVER_SYMBOL } from '../procfs/kconfig.js';
import { PCI_EPC_CLASS, PCI_EPF_BUS } from '../sysfs/paths.js';
import { DeviceTree, DT_BASE, DtMissingError, DtReadError, isAvailableStatus } from '../devicetree/tree.js';
import { DtParseError } from '../devicetree/decode.js';
import { doorbellVerdict, gatherDoorbellFacts, type DoorbellVerdict } from '../doorbell/rules.js';
import { EpctlError, KernelDataError, KernelError } from '../kernel/errors.js';
import { parseStart } from '../configfs/values.js';
import { ERRNO } from '../kernel/errno.js';
import { readOnlineCpus } from '../sysfs/cpu.js';
import { outboundWindows, type OutboundWindows } from '../devicetree/outbound.js';

/** In the order a person should fix them. */
const PROBLEM_CODES = [
  'no-kernel-version',
  'no-configfs',
  'no-endpoint-configfs',
  'no-controller',
  'no-device-tree',
  'bad-device-tree',
  'bad-interrupts',
  'bad-kernel-data',
  'unreadable-file',
] as const;
export type ProblemCode = (typeof PROBLEM_CODES)[number];

/** A reason the board cannot do endpoint work, with its exit code and what to do. */
export interface Problem {
  code: ProblemCode;
  exitCode: ExitCode;
  message: string;
  path: string;
  hint: string;
}

export interface ControllerState {
  /** EPC name (4c300000.pcie-ep). */
  name: string;
  /** DT node path (/soc/pcie-ep@4c300000), when the kernel exposes one. */
  dtNode: string | null;
  compatible: string[];
  /** DT status ("okay" when absent). */
  status: string | null;
  /** Platform driver (imx6q-pcie). */
  driver: string | null;
  /** Present under /sys/kernel/config/pci_ep/controllers. */
  inConfigfs: boolean;
  /** The cached `start` flag, when configfs shows it. */
  started: boolean | null;
  doorbell: DoorbellVerdict;
  /** Doorbell IRQs live now (/proc/interrupts rows on chip ITS-pMSI-<epc>, kernel/irq/msi.c; observed 7.3.4). */
  doorbellIrqs: { virq: number; hwirq: number | null; actions: string[]; count: number }[];
  /**
   * Outbound (EP memory → PCI address) windows, as the EP node's DT states them
   * (src/devicetree/outbound.ts); null when it states none or the DT is unreadable.
   */
  outboundWindows: number | null;
  /**
   * The property outboundWindows came from: `cdns,max-outbound-regions` is what the Cadence
   * driver uses (map_addr can hold max-2 at once); `num-ob-windows` is DesignWare's deprecated
   * one, which the driver ignores for the count it detects in the iATU (dw_pcie_iatu_detect).
   */
  outboundWindowsSource: OutboundWindows['property'] | null;
}

export interface BoardState {
  source: { backend: KernelPort['backend']; origin: string };
  /** CPUs online now (/sys/devices/system/cpu/online, src/sysfs/cpu.ts); null when the file is missing or not the kernel's list. */
  onlineCpus: number | null;
  kernel: {
    release: string | null;
    /** The kernel carries RC-to-EP doorbell code (drivers/pci/endpoint/pci-ep-msi.c): by its symbols, else by its release (6.17+). */
    doorbellCode: boolean | null;
    /** Which doorbell code /proc/kallsyms shows (merged 6.17+, the v9 posting, none); null when kallsyms was not readable. */
    doorbellImplementation: DoorbellImplementation | null;
    /** Where the kernel config was read, or null when unreadable. */
    configSource: string | null;
    /** The endpoint-related config symbols, when the config is readable. */
    config: Record<string, string>;
    /** Config sources that exist but could not be read, and why. */
    configUnreadable: KernelConfigSkip[];
  };
  configfs: { mounted: boolean; mountPoint: string | null; endpoint: boolean };
  functionDrivers: string[];
  controllers: ControllerState[];
  /** EP-capable DT nodes that did not become controllers (disabled, or the driver did not probe). */
  idleEpNodes: { path: string; compatible: string[]; status: string }[];
  problems: Problem[];
}

const CONFIG_SYMBOLS = [
  'PCI_ENDPOINT',
  'PCI_ENDPOINT_CONFIGFS',
  'PCI_ENDPOINT_MSI_DOORBELL',
  ...Object.values(EPF_DRIVER_SYMBOL),
  'ARM_GIC_V3_ITS',
  'CONFIGFS_FS',
  // The embedded (eDMA) doorbell needs it built in (doorbell/rules.ts).
  'DW_EDMA',
  // The NVMe endpoint: the nvmet core (its configfs tree) and null_blk's test device (plan/nvme.ts).
  'NVME_TARGET',
  'BLK_DEV_NULL_BLK',
];

/** The first problem decides the exit code of `probe`; none means 0. */
export function exitCodeOf(state: BoardState): ExitCode {
  return state.problems[0]?.exitCode ?? EXIT.OK;
}

export async function probe(port: KernelPort): Promise<BoardState> {
  if (!(await port.exists('/sys'))) {
    throw new EpctlError(`${port.origin} does not hold a board: there is no ${port.backend === 'sysroot' ? `${port.origin}/sys` : '/sys'}`, {
      exitCode: EXIT.NO_BOARD,
      hint: 'record one on the board with `epctl snapshot DIR`, then pass that DIR to --root',
    });
  }
  const problems: Problem[] = [];
  const attempt = attempter(problems);

  const versionText = await attempt(() => readTextIfExists(port, PROC_VERSION));
  const release = (versionText === undefined ? undefined : await attempt(async () => parseProcVersion(versionText))) ?? null;
  if (versionText === undefined && !problems.some((p) => p.path === PROC_VERSION))
    problems.push({ code: 'no-kernel-version', exitCode: EXIT.NO_BOARD, path: PROC_VERSION, message: `${PROC_VERSION} is missing, so the kernel release is unknown`, hint: 'mount procfs (mount -t proc proc /proc), or re-record the board with `epctl snapshot`' });
  const version = release === null ? undefined : parseRelease(release);

  const configUnreadable: KernelConfigSkip[] = [];
  const kconfig = await attempt(() => readKernelConfig(port, release ?? '', configUnreadable));
  // Not being allowed to read the config is normal for a non-root user (a note); a config that
  // is there but broken (special, over its cap, a link loop, an I/O error) is a problem.
  for (const u of configUnreadable)
    if (u.code !== 'EACCES' && u.code !== 'EPERM')
      problems.push({ code: 'unreadable-file', exitCode: EXIT.BAD_DATA, path: u.path, message: `${u.path}: cannot use it (${u.code})`, hint: u.reason });
  const config: Record<string, string> = {};
  for (const s of CONFIG_SYMBOLS) {
    const v = kconfig?.values.get(s);
    if (kconfig) config[s] = v ?? 'n';
  }

  // The doorbell code the kernel carries, by its symbols (vendor kernels backport; procfs/kallsyms.ts).
  const kallsyms = await attempt(() => readTextIfExists(port, KALLSYMS));
  const implementation = kallsyms === undefined ? undefined : doorbellImplementation(kallsyms);

  // configfs: mounted where /proc/mounts says; a recording without /proc/mounts counts as
  // mounted when it holds pci_ep.
  const mountsText = await attempt(() => readTextIfExists(port, PROC_MOUNTS));
  const mount = mountsText === undefined ? undefined : parseMounts(mountsText).find((m) => m.type === 'configfs');
  const endpoint = await port.exists(PCI_EP);
  const mounted = mount !== undefined || (mountsText === undefined && endpoint);
  if (!mounted)
    problems.push({
      code: 'no-configfs',
      exitCode: EXIT.NO_CONFIGFS,
      path: CONFIGFS,
      message: mountsText === undefined ? `configfs is not mounted at ${CONFIGFS}` : `configfs is not mounted at ${CONFIGFS}: ${PROC_MOUNTS} lists no configfs mount`,
      hint: kconfig && config['CONFIGFS_FS'] === 'n' ? 'this kernel has no configfs (CONFIG_CONFIGFS_FS is not set): build one with it' : `mount it: mount -t configfs none ${CONFIGFS}`,
    });
  else if (!endpoint)
    problems.push({
      code: 'no-endpoint-configfs',
      exitCode: EXIT.NO_ENDPOINT,
      path: PCI_EP,
      message: `${PCI_EP} does not exist: the kernel has no PCI endpoint configfs`,
      hint: 'build the kernel with CONFIG_PCI_ENDPOINT=y and CONFIG_PCI_ENDPOINT_CONFIGFS=y (a bool: it cannot be a module); no stock Debian kernel has it',
    });

  const onlineCpus = (await attempt(() => readOnlineCpus(port))) ?? null;

  const functionDrivers = ((await attempt(() => readdirIfExists(port, endpoint ? FUNCTIONS : `${PCI_EPF_BUS}/drivers`))) ?? []).sort();
  const cfsControllers = new Set((await attempt(() => readdirIfExists(port, CONTROLLERS))) ?? []);

  const tree = new DeviceTree(port);
  let dtReadable = true;
  try {
    await tree.ready();
  } catch (e) {
    dtReadable = false;
    if (e instanceof DtMissingError)
      problems.push({ code: 'no-device-tree', exitCode: EXIT.BAD_DATA, path: DT_BASE, message: `${DT_BASE} is missing, so the doorbell verdict cannot be made`, hint: e.hint ?? 'boot with a device tree' });
    else if (!asProblem(e)) throw e;
    else problems.push(asProblem(e)!);
  }

  // /proc/interrupts: the doorbell rows now allocated (pci-epf-test between ENABLE and
  // DISABLE, vNTB from link to unlink).
  const interruptsText = await attempt(() => readTextIfExists(port, PROC_INTERRUPTS));
  const interrupts: ParsedInterrupts | undefined = interruptsText === undefined ? undefined : await attempt(async () => parseInterrupts(interruptsText, PROC_INTERRUPTS));
  const irqsOf = (epc: string, embedded = false): ControllerState['doorbellIrqs'] =>
    interrupts === undefined
      ? []
      : doorbellRows(interrupts, epc, { embedded }).map((r) => ({ virq: r.irq ?? -1, hwirq: r.hwirq ?? null, actions: r.actions, count: r.counts.reduce((a, b) => a + b, 0) }));

  const controllers: ControllerState[] = [];
  // Each registered EPC has /sys/class/pci_epc/<epc> and configfs controllers/<epc>
  // (pci-epc-core.c, pci-ep-cfs.c): either listing alone still names them all.
  const sysfsNames = (await attempt(() => listEpcNames(port))) ?? [];
  const epcNames = [...new Set([...sysfsNames, ...cfsControllers])].sort();
  // The kernel adds controllers/<epc> as it registers the EPC (pci_ep_cfs_add_epc_group from
  // __pci_epc_create, drivers/pci/endpoint/pci-epc-core.c): one listing without the other is not a kernel's.
  if (endpoint)
    for (const name of epcNames)
      if (!cfsControllers.has(name) || !sysfsNames.includes(name)) {
        const [has, lacks] = cfsControllers.has(name) ? [`${CONTROLLERS}/${name}`, PCI_EPC_CLASS] : [`${PCI_EPC_CLASS}/${name}`, CONTROLLERS];
        problems.push({ code: 'bad-kernel-data', exitCode: EXIT.BAD_DATA, path: lacks, message: `${lacks} has no ${name}, though ${has} exists: the kernel registers both together`, hint: 're-record the board with `epctl snapshot`; on a live board, report it with the kernel release' });
      }
  for (const name of epcNames) {
    const epc: EpcSysfs = (await attempt(() => readEpc(port, name))) ?? { name };
    const startPath = `${CONTROLLERS}/${epc.name}/start`;
    const startText = cfsControllers.has(epc.name) ? await attempt(() => readTextIfExists(port, startPath)) : undefined;
    const started = startText === undefined ? undefined : await attempt(async () => startValue(startText, startPath));
    const base = {
      name: epc.name,
      dtNode: epc.dtNode ?? null,
      driver: epc.driver ?? null,
      inConfigfs: cfsControllers.has(epc.name),
      started: started ?? null,
      doorbellIrqs: irqsOf(epc.name),
      outboundWindows: null as ControllerState['outboundWindows'],
      outboundWindowsSource: null as ControllerState['outboundWindowsSource'],
    };
    if (!dtReadable || epc.dtNode === undefined) {
      controllers.push({ ...base, compatible: [], status: null, doorbell: unknownVerdict(dtReadable ? `${epc.name} has no of_node link, so its device-tree node is unknown` : `the kernel exposes no readable device tree at ${DT_BASE}`) });
      continue;
    }
    const dtNode = epc.dtNode;
    // Apart from the doorbell facts: a broken count spoils only itself.
    const windows = await attempt(() => outboundWindows(tree, dtNode));
    if (windows) {
      base.outboundWindows = windows.count;
      base.outboundWindowsSource = windows.property;
    }
    const seen = problems.length;
    const entry = await attempt(async (): Promise<ControllerState> => {
      const facts = await gatherDoorbellFacts(tree, dtNode);
      const doorbell = doorbellVerdict({
        ...facts,
        kernel: version,
        ...(implementation ? { implementation } : {}),
        config: kconfig ? (config['PCI_ENDPOINT_MSI_DOORBELL'] === 'y' ? 'y' : 'n') : undefined,
        controller: epc.name,
        ...(epc.driver === undefined ? {} : { driver: epc.driver }),
        ...(kallsyms === undefined ? {} : { embeddedCode: hasEmbeddedDoorbell(kallsyms) }),
        ...(kconfig ? { edmaDriver: config['DW_EDMA'] === 'y' ? ('y' as const) : config['DW_EDMA'] === 'm' ? ('m' as const) : ('n' as const) } : {}),
      });
      if (facts.msiMap.kind === 'dangling')
        problems.push({ code: 'bad-device-tree', exitCode: EXIT.BAD_DATA, path: `${DT_BASE}${facts.msiMap.mapNode}/msi-map`, message: `${DT_BASE}${facts.msiMap.mapNode}/msi-map names phandle 0x${facts.msiMap.phandle.toString(16)}, which no node has`, hint: 'point the msi-map entry at the ITS by its label (&its) in the board .dts and rebuild the DTB' });
      if (facts.msiMap.kind === 'malformed')
        problems.push({ code: 'bad-device-tree', exitCode: EXIT.BAD_DATA, path: facts.msiMap.path, message: `${facts.msiMap.path}: ${facts.msiMap.reason}`, hint: 'fix the msi-map in the board .dts (tuples of <id-base &its msi-base length>) and reboot, or re-record the board if the file was cut short' });
      // An embedded (eDMA) doorbell's shared row names no controller: it is this one's when the verdict says so.
      return { ...base, compatible: await tree.compatible(dtNode), status: facts.status, doorbell, ...(doorbell.mode === 'embedded' ? { doorbellIrqs: irqsOf(epc.name, true) } : {}) };
    });
    controllers.push(entry ?? { ...base, compatible: [], status: null, doorbell: unknownVerdict(`its device tree cannot be read: ${problems.slice(seen).map((p) => p.message).join('; ') || 'see the problems below'}`) });
  }

  // EP nodes that did not probe: the usual first-boot failure (linux-pci, 2022: "No controller seen").
  const idleEpNodes: BoardState['idleEpNodes'] = [];
  if (dtReadable) {
    // A node whose compatible or status is not what the kernel writes is a problem, not an idle node.
    const known = new Set(controllers.map((c) => c.dtNode));
    for (const path of (await attempt(() => tree.findCompatibleSuffix('-pcie-ep'))) ?? []) {
      if (known.has(path)) continue;
      const node = await attempt(async () => ({ path, compatible: await tree.compatible(path), status: await tree.status(path) }));
      if (node) idleEpNodes.push(node);
    }
  }
  if (endpoint && controllers.length === 0) {
    const disabled = idleEpNodes.filter((n) => !isAvailableStatus(n.status));
    problems.push({
      code: 'no-controller',
      exitCode: EXIT.NO_CONTROLLER,
      path: PCI_EPC_CLASS,
      message: 'no endpoint controller has probed: /sys/class/pci_epc and controllers/ are empty',
      hint:
        disabled.length > 0
          ? `the EP node${disabled.length > 1 ? 's' : ''} ${disabled.map((n) => n.path).join(', ')} ${disabled.length > 1 ? 'are' : 'is'} disabled in the device tree: boot the EP variant of the DTB (an overlay that sets status = "okay" on the EP node and disables the RC node)`
          : idleEpNodes.length > 0
            ? `${idleEpNodes.map((n) => n.path).join(', ')} did not probe: check that the controller driver is built in and look in dmesg for its probe error`
            : 'the device tree has no PCIe endpoint node: boot a DTB whose EP node (compatible "*-pcie-ep") is enabled',
    });
  }

  return {
    source: { backend: port.backend, origin: port.origin },
    onlineCpus,
    kernel: {
      release,
      doorbellCode: implementation ? implementation !== 'none' : version ? kernelBehaviour(version).doorbell : null,
      doorbellImplementation: implementation ?? null,
      configSource: kconfig?.source ?? null,
      config,
      configUnreadable,
    },
    configfs: { mounted, mountPoint: mount?.mountPoint ?? (mounted ? CONFIGFS : null), endpoint },
    functionDrivers,
    controllers,
    idleEpNodes,
    problems: problems.sort((a, b) => rank(a) - rank(b)),
  };
}

/** `start` as pci_epc_start_show prints it ("0\n" or "1\n"); anything else is not the kernel's. */
function startValue(text: string, path: string): boolean {
  const v = parseStart(text);
  if (v === undefined)
    throw new KernelDataError(path, `holds ${JSON.stringify(text.length > 40 ? text.slice(0, 40) + '…' : text)}, but the kernel shows "0" or "1" there`, { hint: `read it again (cat ${path}); if it still holds that, re-record the board` });
  return v;
}

/** Problems in the order a person should fix them. */
function rank(p: Problem): number {
  return PROBLEM_CODES.indexOf(p.code);
}

/**
 * One entry of the survey may be broken (a file that is a directory, a link loop, bytes the
 * kernel never writes) without spoiling the rest: each read runs through `attempt`, which turns
 * an unreadable or invalid file into a Problem against its path and yields undefined. Anything
 * else is a bug in epctl and propagates.
 */
export function attempter(problems: Problem[]) {
  return async <T>(fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (e) {
      const p = asProblem(e);
      if (!p) throw e;
      if (!problems.some((q) => q.path === p.path && q.message === p.message)) problems.push(p);
      return undefined;
    }
  };
}

function asProblem(e: unknown): Problem | undefined {
  if (e instanceof DtParseError)
    return { code: 'bad-device-tree', exitCode: EXIT.BAD_DATA, path: e.path, message: `${e.path}: ${e.reason}`, hint: e.hint ?? 'fix the device tree and reboot' };
  if (e instanceof InterruptsParseError)
    return { code: 'bad-interrupts', exitCode: EXIT.BAD_DATA, path: `${e.path}:${e.line}`, message: e.message.split('; ')[0]!, hint: e.hint ?? '' };
  if (e instanceof KernelDataError)
    return { code: 'bad-kernel-data', exitCode: EXIT.BAD_DATA, path: e.path, message: `${e.path}: ${e.reason}`, hint: e.hint ?? `re-read ${e.path} on the board, or re-record it with \`epctl snapshot\`` };
  if (e instanceof KernelError || e instanceof DtReadError) {
    const denied = e.code === 'EACCES' || e.code === 'EPERM';
    return {
      code: 'unreadable-file',
      exitCode: EXIT.BAD_DATA,
      path: e.path,
      message: e instanceof KernelError ? `${e.path}: cannot ${e.syscall === 'scandir' ? 'list' : 'read'} it (${e.code}: ${ERRNO[e.code].description})` : e.message,
      hint: e.hint ?? (denied ? 'run epctl as root' : `the file is not what the kernel puts at ${e.path}; re-record the board with \`epctl snapshot\``),
    };
  }
  return undefined;
}

function unknownVerdict(reason: string): DoorbellVerdict {
  return { capable: false, mode: 'unknown', code: 'unreadable', reason: `Unknown: ${reason}.`, warnings: [], notes: [] };
}
