// The nvmet configfs tree (drivers/nvme/target/configfs.c) as epctl sees it, beside pci_ep:
// subsystems/<nqn> with their attr_* files, namespaces/<nsid> and allowed_hosts/ links;
// ports/<id> with their addr_*/param_* files and the subsystems/ links that enable a port.
// Read by listing, like observe.ts: attribute names are whatever the running kernel offers
// (attr_vendor_id arrived with nvmet_pci_epf; 6.12 has none). Links are resolved to the
// object they name. A broken entry spoils only itself.
import { type KernelPort, joinPath, resolveLink, basename, dirname } from '../kernel/port.js';
import { KernelDataError } from '../kernel/errors.js';
import { CONFIGFS } from './paths.js';
import { readAttribute, type AttributeRead } from './observe.js';

export const NVMET = `${CONFIGFS}/nvmet`;

// The limits nvmet and nvmet_pci_epf hold a config to, used by the schema, the planner and the
// fake kernel alike.
/** include/linux/nvme.h NVMF_NQN_SIZE: nvmet_subsys_alloc keeps this many bytes of a name (kstrndup), nvmet_pci_epf's subsysnqn holds as many. */
export const NVMF_NQN_SIZE = 223;
/** include/linux/nvme.h NVME_DISC_SUBSYS_NAME: nvmet_subsys_make refuses it. */
export const NVME_DISC_SUBSYS_NAME = 'nqn.2014-08.org.nvmexpress.discovery';
/** drivers/nvme/target/nvmet.h NVMET_NR_QUEUES: attr_qid_max's upper bound. */
export const NVMET_NR_QUEUES = 128;
/** drivers/nvme/target/nvmet.h NVMET_MN_MAX_SIZE / NVMET_SN_MAX_SIZE: attr_model and attr_serial (serial reads back padded to it). */
export const NVMET_MN_MAX_SIZE = 40;
export const NVMET_SN_MAX_SIZE = 20;
/** drivers/nvme/target/pci-epf.c NVMET_PCI_EPF_MDTS_KB and NVMET_PCI_EPF_MAX_MDTS_KB (4 × 512). */
export const MDTS_KB_DEFAULT = 512;
export const MDTS_KB_MAX = 2048;
/** Header fields nvmet_pci_epf_epc_init overwrites from the subsystem's attr_vendor_id / attr_subsys_vendor_id (drivers/nvme/target/pci-epf.c), in the header all its functions share. */
export const NVME_HEADER_FROM_SUBSYSTEM = ['vendorid', 'subsys_vendor_id'] as const;
/** null_blk's first device, made at module load with nr_devices=1 (drivers/block/null_blk/main.c null_init). */
export const NULL_BLK_DEVICE = '/dev/nullb0';
export const NVMET_SUBSYSTEMS = `${NVMET}/subsystems`;
export const NVMET_PORTS = `${NVMET}/ports`;

export const subsystemPath = (nqn: string): string => `${NVMET_SUBSYSTEMS}/${nqn}`;
export const namespacePath = (nqn: string, nsid: number): string => `${subsystemPath(nqn)}/namespaces/${nsid}`;
export const portPath = (id: number | string): string => `${NVMET_PORTS}/${id}`;
/** The link that enables a port for a subsystem (nvmet_port_subsys_allow_link). */
export const portSubsystemLink = (id: number | string, nqn: string): string => `${portPath(id)}/subsystems/${nqn}`;
export const hostPath = (nqn: string): string => `${NVMET}/hosts/${nqn}`;

/**
 * How the ownership record and the plan name an nvmet object: `nvmet/subsystems/<nqn>`,
 * `nvmet/ports/<id>` — its path below /sys/kernel/config, two slashes where a function key
 * (`driver/name`) has one.
 */
export const nvmetKey = (path: string): string => path.slice(CONFIGFS.length + 1);
export const isNvmetKey = (key: string): boolean => key.startsWith('nvmet/');
/** The configfs path of an owned key (a function key or an nvmet key). */
export const nvmetKeyPath = (key: string): string => `${CONFIGFS}/${key}`;

export interface ObservedNamespace {
  nsid: number;
  /** The directory name as listed (kstrtou32 base 0 took it: "1", "0x2"). */
  name: string;
  path: string;
  attributes: Record<string, AttributeRead>;
}

export interface ObservedSubsystem {
  nqn: string;
  path: string;
  attributes: Record<string, AttributeRead>;
  namespaces: ObservedNamespace[];
  /** The allowed_hosts/ links: link name and the host NQN it names. */
  allowedHosts: { name: string; nqn: string }[];
}

export interface ObservedPort {
  /** The directory name (kstrtou16 base 0 took it). */
  name: string;
  id: number;
  path: string;
  attributes: Record<string, AttributeRead>;
  /** Subsystems linked into subsystems/ (the port is enabled while there is one): link name and the NQN it names. */
  subsystems: { name: string; nqn: string }[];
}

export interface NvmetState {
  /** /sys/kernel/config/nvmet exists (nvmet is loaded). */
  present: boolean;
  subsystems: ObservedSubsystem[];
  ports: ObservedPort[];
}

/** kstrtou* base 0 of a directory name (nvmet_ns_make, nvmet_ports_make), or undefined. */
function number0(name: string): number | undefined {
  const m = /^(?:0x([0-9a-f]+)|0([0-7]*)|([1-9][0-9]*))$/i.exec(name);
  if (!m) return undefined;
  const n = m[1] !== undefined ? parseInt(m[1], 16) : m[2] !== undefined ? (m[2] === '' ? 0 : parseInt(m[2], 8)) : parseInt(m[3]!, 10);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The regular files of DIR, read (write-only ones, such as revalidate_size, 0200, as their errno). */
async function files(port: KernelPort, dir: string): Promise<Record<string, AttributeRead>> {
  const out: Record<string, AttributeRead> = {};
  for (const name of (await port.readdir(dir)).sort()) {
    const p = joinPath(dir, name);
    if ((await port.lstat(p)).kind === 'file') out[name] = await readAttribute(port, p);
  }
  return out;
}

/** The object a link below nvmet/ names: `subsystems/<nqn>` or `hosts/<nqn>`. */
function linkTarget(linkPath: string, target: string, want: 'subsystems' | 'hosts'): string {
  const abs = resolveLink(linkPath, target);
  if (dirname(abs) !== `${NVMET}/${want}`) throw new KernelDataError(linkPath, `links to ${abs}, not to an entry of ${NVMET}/${want}`);
  return basename(abs);
}

export async function observeSubsystem(port: KernelPort, nqn: string): Promise<ObservedSubsystem> {
  const path = subsystemPath(nqn);
  const namespaces: ObservedNamespace[] = [];
  for (const name of (await port.readdir(joinPath(path, 'namespaces'))).sort()) {
    const nsid = number0(name);
    if (nsid === undefined) throw new KernelDataError(joinPath(path, 'namespaces', name), 'is not a namespace id (nvmet_ns_make takes only numbers)');
    const p = joinPath(path, 'namespaces', name);
    namespaces.push({ nsid, name, path: p, attributes: await files(port, p) });
  }
  namespaces.sort((a, b) => a.nsid - b.nsid);
  const allowedHosts: { name: string; nqn: string }[] = [];
  const hostsDir = joinPath(path, 'allowed_hosts');
  for (const name of (await port.readdir(hostsDir)).sort()) {
    const p = joinPath(hostsDir, name);
    allowedHosts.push({ name, nqn: linkTarget(p, await port.readlink(p), 'hosts') });
  }
  return { nqn, path, attributes: await files(port, path), namespaces, allowedHosts };
}

export async function observePort(port: KernelPort, name: string): Promise<ObservedPort> {
  const path = portPath(name);
  const id = number0(name);
  if (id === undefined) throw new KernelDataError(path, 'is not a port id (nvmet_ports_make takes only numbers)');
  const subsystems: { name: string; nqn: string }[] = [];
  for (const l of (await port.readdir(joinPath(path, 'subsystems'))).sort()) {
    const p = joinPath(path, 'subsystems', l);
    subsystems.push({ name: l, nqn: linkTarget(p, await port.readlink(p), 'subsystems') });
  }
  return { name, id, path, attributes: await files(port, path), subsystems };
}

/** The whole nvmet tree; `attempt` turns a broken entry into a reported problem (probe's attempter). */
export async function observeNvmet(port: KernelPort, attempt: <T>(fn: () => Promise<T>) => Promise<T | undefined>): Promise<NvmetState> {
  if (!(await port.exists(NVMET))) return { present: false, subsystems: [], ports: [] };
  const subsystems: ObservedSubsystem[] = [];
  for (const nqn of ((await attempt(() => port.readdir(NVMET_SUBSYSTEMS))) ?? []).sort()) {
    const s = await attempt(() => observeSubsystem(port, nqn));
    if (s) subsystems.push(s);
  }
  const ports: ObservedPort[] = [];
  for (const name of ((await attempt(() => port.readdir(NVMET_PORTS))) ?? []).sort()) {
    const p = await attempt(() => observePort(port, name));
    if (p) ports.push(p);
  }
  ports.sort((a, b) => a.id - b.id);
  return { present: true, subsystems, ports };
}
