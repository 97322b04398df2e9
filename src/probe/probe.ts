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
import { readKernelConfig } from '../procfs/kconfig.js';
import { listEpcs } from '../sysfs/epc.js';
import { parseInterrupts, doorbellRows, InterruptsParseError, PROC_INTERRUPTS, type ParsedInterrupts } from '../procfs/interrupts.js';
import { EPF_DRIVER_SYMBOL } from '../procfs/kconfig.js';
import { PCI_EPC_CLASS, PCI_EPF_BUS } from '../sysfs/paths.js';
import { DeviceTree, DT_BASE, DtMissingError } from '../devicetree/tree.js';
import { DtParseError } from '../devicetree/decode.js';
import { doorbellVerdict, gatherDoorbellFacts, type DoorbellVerdict } from '../doorbell/rules.js';
import { EpctlError } from '../kernel/errors.js';

/** A reason the board cannot do endpoint work, with its exit code and what to do. */
export interface Problem {
  code: 'no-kernel-version' | 'no-configfs' | 'no-endpoint-configfs' | 'no-controller' | 'no-device-tree' | 'bad-device-tree' | 'bad-interrupts';
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
  /** Doorbell IRQs live now (/proc/interrupts rows on chip ITS-pMSI-<epc>, kernel-abi.md §8.2). */
  doorbellIrqs: { virq: number; hwirq: number | null; actions: string[]; count: number }[];
}

export interface BoardState {
  source: { backend: KernelPort['backend']; origin: string };
  kernel: {
    release: string | null;
    /** The doorbell code (drivers/pci/endpoint/pci-ep-msi.c) is in this release (6.17+). */
    doorbellCode: boolean | null;
    /** Where the kernel config was read, or null when unreadable. */
    configSource: string | null;
    /** The endpoint-related config symbols, when the config is readable. */
    config: Record<string, string>;
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

  const versionText = await readTextIfExists(port, PROC_VERSION);
  const release = versionText === undefined ? null : parseProcVersion(versionText);
  if (release === null)
    problems.push({ code: 'no-kernel-version', exitCode: EXIT.NO_BOARD, path: PROC_VERSION, message: `${PROC_VERSION} is missing, so the kernel release is unknown`, hint: 'mount procfs (mount -t proc proc /proc), or re-record the board with `epctl snapshot`' });
  const version = release === null ? undefined : parseRelease(release);

  const kconfig = await readKernelConfig(port, release ?? '');
  const config: Record<string, string> = {};
  for (const s of CONFIG_SYMBOLS) {
    const v = kconfig?.values.get(s);
    if (kconfig) config[s] = v ?? 'n';
  }

  // configfs: mounted where /proc/mounts says; a recording without /proc/mounts counts as
  // mounted when it holds pci_ep.
  const mountsText = await readTextIfExists(port, PROC_MOUNTS);
  const mount = mountsText === undefined ? undefined : parseMounts(mountsText).find((m) => m.type === 'configfs');
  const endpoint = await port.exists(PCI_EP);
  const mounted = mount !== undefined || (mountsText === undefined && endpoint);
  if (!mounted)
    problems.push({
      code: 'no-configfs',
      exitCode: EXIT.NO_CONFIGFS,
      path: CONFIGFS,
      message: `configfs is not mounted at ${CONFIGFS}`,
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

  const functionDrivers = endpoint ? (await readdirIfExists(port, FUNCTIONS)).sort() : (await readdirIfExists(port, `${PCI_EPF_BUS}/drivers`)).sort();
  const cfsControllers = new Set(await readdirIfExists(port, CONTROLLERS));

  const tree = new DeviceTree(port);
  let dtReadable = true;
  try {
    await tree.ready();
  } catch (e) {
    if (!(e instanceof DtMissingError)) throw e;
    dtReadable = false;
    problems.push({ code: 'no-device-tree', exitCode: EXIT.BAD_DATA, path: DT_BASE, message: `${DT_BASE} is missing, so the doorbell verdict cannot be made`, hint: e.hint ?? 'boot with a device tree' });
  }

  // /proc/interrupts: the doorbell rows now allocated (pci-epf-test between ENABLE and
  // DISABLE, vNTB from link to unlink).
  let interrupts: ParsedInterrupts | undefined;
  const interruptsText = await readTextIfExists(port, PROC_INTERRUPTS);
  if (interruptsText !== undefined) {
    try {
      interrupts = parseInterrupts(interruptsText, PROC_INTERRUPTS);
    } catch (e) {
      if (!(e instanceof InterruptsParseError)) throw e;
      problems.push({ code: 'bad-interrupts', exitCode: EXIT.BAD_DATA, path: `${PROC_INTERRUPTS}:${e.line}`, message: e.message.split('; ')[0]!, hint: e.hint ?? '' });
    }
  }
  const irqsOf = (epc: string): ControllerState['doorbellIrqs'] =>
    interrupts === undefined
      ? []
      : doorbellRows(interrupts, epc).map((r) => ({ virq: r.irq ?? -1, hwirq: r.hwirq ?? null, actions: r.actions, count: r.counts.reduce((a, b) => a + b, 0) }));

  const controllers: ControllerState[] = [];
  for (const epc of await listEpcs(port)) {
    const startText = cfsControllers.has(epc.name) ? await readTextIfExists(port, `${CONTROLLERS}/${epc.name}/start`) : undefined;
    const base = {
      name: epc.name,
      dtNode: epc.dtNode ?? null,
      driver: epc.driver ?? null,
      inConfigfs: cfsControllers.has(epc.name),
      started: startText === undefined ? null : startText.trim() === '1',
      doorbellIrqs: irqsOf(epc.name),
    };
    if (!dtReadable || epc.dtNode === undefined) {
      controllers.push({ ...base, compatible: [], status: null, doorbell: unknownVerdict(dtReadable ? `${epc.name} has no of_node link, so its device-tree node is unknown` : `the kernel exposes no device tree at ${DT_BASE}`) });
      continue;
    }
    try {
      const facts = await gatherDoorbellFacts(tree, epc.dtNode);
      const doorbell = doorbellVerdict({ ...facts, kernel: version, config: kconfig ? (config['PCI_ENDPOINT_MSI_DOORBELL'] === 'y' ? 'y' : 'n') : undefined, controller: epc.name });
      controllers.push({ ...base, compatible: await tree.compatible(epc.dtNode), status: facts.status, doorbell });
      if (facts.msiMap.kind === 'dangling')
        problems.push({ code: 'bad-device-tree', exitCode: EXIT.BAD_DATA, path: `${DT_BASE}${facts.msiMap.mapNode}/msi-map`, message: `${DT_BASE}${facts.msiMap.mapNode}/msi-map names phandle 0x${facts.msiMap.phandle.toString(16)}, which no node has`, hint: 'point the msi-map entry at the ITS by its label (&its) in the board .dts and rebuild the DTB' });
      if (facts.msiMap.kind === 'malformed')
        problems.push({ code: 'bad-device-tree', exitCode: EXIT.BAD_DATA, path: facts.msiMap.path, message: `${facts.msiMap.path}: ${facts.msiMap.reason}`, hint: 'fix the msi-map in the board .dts (tuples of <id-base &its msi-base length>) and reboot, or re-record the board if the file was cut short' });
    } catch (e) {
      if (!(e instanceof DtParseError)) throw e;
      problems.push({ code: 'bad-device-tree', exitCode: EXIT.BAD_DATA, path: e.path, message: e.message, hint: e.hint ?? 'fix the device tree and reboot' });
      controllers.push({ ...base, compatible: [], status: null, doorbell: unknownVerdict(`its device tree cannot be read: ${e.reason}`) });
    }
  }

  // EP nodes that did not probe: the usual first-boot failure (boards.md §11.1).
  const idleEpNodes: BoardState['idleEpNodes'] = [];
  if (dtReadable) {
    // A node whose compatible or status is not what the kernel writes is a problem, not an idle node.
    const bad = (e: unknown): void => {
      if (!(e instanceof DtParseError)) throw e;
      problems.push({ code: 'bad-device-tree', exitCode: EXIT.BAD_DATA, path: e.path, message: e.message, hint: e.hint ?? 'fix the device tree and reboot' });
    };
    const known = new Set(controllers.map((c) => c.dtNode));
    for (const path of await tree.findCompatibleSuffix('-pcie-ep').catch((e: unknown) => (bad(e), []))) {
      if (known.has(path)) continue;
      try {
        idleEpNodes.push({ path, compatible: await tree.compatible(path), status: await tree.status(path) });
      } catch (e) {
        bad(e);
      }
    }
  }
  if (endpoint && controllers.length === 0) {
    const disabled = idleEpNodes.filter((n) => n.status !== 'okay' && n.status !== 'ok');
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
    kernel: {
      release,
      doorbellCode: version ? kernelBehaviour(version).doorbell : null,
      configSource: kconfig?.source ?? null,
      config,
    },
    configfs: { mounted, mountPoint: mount?.mountPoint ?? (mounted ? CONFIGFS : null), endpoint },
    functionDrivers,
    controllers,
    idleEpNodes,
    problems: problems.sort((a, b) => rank(a) - rank(b)),
  };
}

/** Problems in the order a person should fix them. */
function rank(p: Problem): number {
  return ['no-kernel-version', 'no-configfs', 'no-endpoint-configfs', 'no-controller', 'no-device-tree', 'bad-device-tree', 'bad-interrupts'].indexOf(p.code);
}

function unknownVerdict(reason: string): DoorbellVerdict {
  return { capable: 'unknown', code: 'kernel-unknown', reason: `Unknown: ${reason}.`, warnings: [], notes: [] };
}
