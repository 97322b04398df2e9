// Endpoint controllers as sysfs shows them (drivers/pci/endpoint/pci-epc-core.c): one
// /sys/class/pci_epc/<epc> per registered EPC, whose `device` link leads to the platform
// device, and from there `of_node` to the DT node and `driver` to the platform driver.
import { type KernelPort, readdirIfExists, resolveLink, basename } from '../kernel/port.js';
import { isKernelError, KernelDataError } from '../kernel/errors.js';
import { DT_BASE } from '../devicetree/tree.js';
import { PCI_EPC_CLASS } from './paths.js';

export interface EpcSysfs {
  name: string;
  /** The platform device directory (/sys/devices/platform/soc/4c300000.pcie-ep). */
  devicePath?: string;
  /** DT node path from the root (/soc/pcie-ep@4c300000), from the device's of_node link. */
  dtNode?: string;
  /** Platform driver name (imx6q-pcie). */
  driver?: string;
}

/** The target of a sysfs link, absolute; undefined when there is none. A regular file or
 * directory where sysfs puts a link (readlink EINVAL) is not what the kernel shows. */
async function link(port: KernelPort, path: string): Promise<string | undefined> {
  try {
    return resolveLink(path, await port.readlink(path));
  } catch (e) {
    if (isKernelError(e, 'ENOENT')) return undefined;
    if (isKernelError(e, 'EINVAL')) throw new KernelDataError(path, 'is not a symbolic link, but sysfs shows one here', { hint: `re-record the board with \`epctl snapshot\`, or check ${path} with ls -l` });
    throw e;
  }
}

/** The registered EPC names, sorted. */
export async function listEpcNames(port: KernelPort): Promise<string[]> {
  return (await readdirIfExists(port, PCI_EPC_CLASS)).sort();
}

/** One EPC's sysfs links; a broken link (a loop, a file where a link belongs) throws its KernelError. */
export async function readEpc(port: KernelPort, name: string): Promise<EpcSysfs> {
  const classDir = await link(port, `${PCI_EPC_CLASS}/${name}`);
  const devicePath = classDir ? await link(port, `${classDir}/device`) : undefined;
  // drivers/pci/endpoint/pci-epc-core.c: every EPC device has its parent as `device`.
  if (classDir && !devicePath) throw new KernelDataError(`${PCI_EPC_CLASS}/${name}`, `leads to ${classDir}, which has no device link, as every EPC's class entry has`, { hint: 're-record the board with `epctl snapshot`' });
  if (!devicePath) return { name };
  const [ofNode, driver] = await Promise.all([link(port, `${devicePath}/of_node`), link(port, `${devicePath}/driver`)]);
  if (ofNode !== undefined && ofNode !== DT_BASE && !ofNode.startsWith(DT_BASE + '/'))
    throw new KernelDataError(`${devicePath}/of_node`, `points at ${ofNode}, not at a node under ${DT_BASE}`, { hint: 're-record the board with `epctl snapshot`' });
  return {
    name,
    devicePath,
    ...(ofNode === undefined ? {} : { dtNode: ofNode.slice(DT_BASE.length) || '/' }),
    ...(driver ? { driver: basename(driver) } : {}),
  };
}
