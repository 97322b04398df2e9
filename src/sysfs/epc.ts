// Endpoint controllers as sysfs shows them (drivers/pci/endpoint/pci-epc-core.c): one
// /sys/class/pci_epc/<epc> per registered EPC, whose `device` link leads to the platform
// device, and from there `of_node` to the DT node and `driver` to the platform driver.
import { type KernelPort, readdirIfExists, resolveLink, basename } from '../kernel/port.js';
import { isKernelError } from '../kernel/errors.js';
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

async function link(port: KernelPort, path: string): Promise<string | undefined> {
  try {
    return resolveLink(path, await port.readlink(path));
  } catch (e) {
    if (isKernelError(e, 'ENOENT') || isKernelError(e, 'EINVAL')) return undefined;
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
  if (!devicePath) return { name };
  const [ofNode, driver] = await Promise.all([link(port, `${devicePath}/of_node`), link(port, `${devicePath}/driver`)]);
  return {
    name,
    devicePath,
    ...(ofNode?.startsWith(DT_BASE + '/') || ofNode === DT_BASE ? { dtNode: ofNode.slice(DT_BASE.length) || '/' } : {}),
    ...(driver ? { driver: basename(driver) } : {}),
  };
}
