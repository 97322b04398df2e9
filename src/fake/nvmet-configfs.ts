// The NVMe target's configfs tree /sys/kernel/config/nvmet (drivers/nvme/target/configfs.c,
// core.c) as far as an NVMe PCI endpoint needs it: subsystems with their attr_* files,
// namespaces on a block device (null_blk's /dev/nullb0), allowed_hosts, hosts, ports with
// their addr_*/param_* files and the port→subsystem links that enable a port. Formats, errnos
// and log lines are the ones the lane observed on 7.3.4 (test/fixtures/kernel/7.3.4/
// qemu-virt-nvmet.json); what only the source shows is marked [source]. The lane kernel has no
// CONFIG_NVME_TARGET_PASSTHRU, CONFIG_BLK_DEV_INTEGRITY, CONFIG_PCI_P2PDMA nor
// CONFIG_NVME_TARGET_AUTH: no passthru/, attr_pi_enable, param_pi_enable, p2pmem, nor host
// dhchap_* files (observed: attr_pi_enable and param_pi_enable are ENOENT).
import { kstrtobool, kstrtou } from '../configfs/values.js';
import { Errno, Oops, type KernelContext } from './context.js';
import { ERRNO } from '../kernel/errno.js';
import { KERN_ERR, KERN_INFO, KERN_WARNING } from './printk.js';

import { NULL_BLK_DEVICE, NVME_DISC_SUBSYS_NAME, NVMET_MN_MAX_SIZE, NVMET_NR_QUEUES, NVMET_SN_MAX_SIZE } from '../configfs/nvmet.js';
/** include/linux/nvme.h NVME_CNTLID_MAX. */
const NVME_CNTLID_MAX = 0xffef;

export interface NvmetNamespace {
  /** ns->device_path; null reads "(null)". */
  devicePath: string | null;
  enabled: boolean;
  bufferedIo: boolean;
  anaGrpid: number;
  resvEnable: boolean;
}

export interface NvmetSubsystem {
  allowAnyHost: boolean;
  vendorId: number;
  subsysVendorId: number;
  /** subsys->model_number (default "Linux"). */
  model: string;
  /** subsys->max_qid. */
  qidMax: number;
  cntlidMin: number;
  cntlidMax: number;
  ieeeOui: number;
  /** subsys->serial: random per subsystem in the kernel; derived from the NQN here. */
  serial: string;
  /** Namespaces by nsid (decimal). */
  namespaces: Record<string, NvmetNamespace>;
  /** allowed_hosts/ links: link name → host NQN. */
  allowedHosts: Record<string, string>;
  /** Controller ids in use (ida from cntlid_min). */
  cntlids: number[];
}

export interface NvmetPort {
  /** Transport name ("" = not set, NVMF_TRTYPE_MAX). */
  trtype: string;
  adrfam: string;
  traddr: string;
  trsvcid: string;
  inlineDataSize: number;
  maxQueueSize: number;
  mdts: number;
  /** subsystems/ links: link name → subsystem NQN, in link order; non-empty = port enabled. */
  subsystems: Record<string, string>;
}

export interface NvmetState {
  subsystems: Record<string, NvmetSubsystem>;
  /** Ports by directory name (the portid, kstrtou16 of the name). */
  ports: Record<string, NvmetPort>;
  /** hosts/ entries. */
  hosts: string[];
}

export function emptyNvmet(): NvmetState {
  return { subsystems: {}, ports: {}, hosts: [] };
}

/** The controller an nvmet_pci_epf function created at epc_init (nvmet_alloc_ctrl). */
export interface NvmetCtrlRef {
  subsys: string;
  port: string;
  cntlid: number;
}

const SUBSYS_ATTRS = ['attr_allow_any_host', 'attr_version', 'attr_serial', 'attr_cntlid_min', 'attr_cntlid_max', 'attr_vendor_id', 'attr_subsys_vendor_id', 'attr_model', 'attr_qid_max', 'attr_ieee_oui', 'attr_firmware'] as const;
const NS_ATTRS = ['device_path', 'device_nguid', 'device_uuid', 'ana_grpid', 'enable', 'buffered_io', 'revalidate_size', 'resv_enable'] as const;
const PORT_ATTRS = ['addr_adrfam', 'addr_treq', 'addr_traddr', 'addr_trsvcid', 'addr_trtype', 'addr_tsas', 'param_inline_data_size', 'param_max_queue_size', 'param_mdts'] as const;
/** configfs.c nvmet_transport[]; only pci is registered on the lane kernel (nvmet_pci_epf). */
const TRANSPORTS: Readonly<Record<string, number>> = { rdma: 1, fc: 2, tcp: 3, pci: 0, loop: 254 };
const ADRFAMS = ['ipv4', 'ipv6', 'ib', 'fc', 'pci', 'loop'] as const;

export type NvmetKind = 'dir' | 'file' | 'symlink';

/**
 * What the nvmet tree of 7.3.4 has and 6.12.117's lacks (observed on both): attr_vendor_id and
 * attr_subsys_vendor_id, the "pci" trtype, param_mdts, a namespace's resv_enable, version 2.1
 * (6.12: 1.3), and an enable without device_path refused silently (6.12 logs "failed to open
 * block device (null): (-22)"). The first release of each is not dated: they are modelled with
 * nvmet_pci_epf (6.14), which the first three came for [inferred].
 */
export function nvmetNewer(k: KernelContext): boolean {
  return k.b.nvmetPciEpf;
}

const without = (xs: readonly string[], drop: readonly string[], newer: boolean): string[] => (newer ? [...xs] : xs.filter((x) => !drop.includes(x)));

/** What is at `path` (components below nvmet/), or undefined. */
export function nvmetKind(st: NvmetState, path: readonly string[], newer: boolean): NvmetKind | undefined {
  if (path.length === 0) return 'dir';
  const names = nvmetChildren(st, path.slice(0, -1), newer);
  return names?.find(([n]) => n === path[path.length - 1])?.[1];
}

/** The entries of directory `path`, or undefined when it is not a directory. */
export function nvmetChildren(st: NvmetState, path: readonly string[], newer: boolean): [string, NvmetKind][] | undefined {
  const [a, b, c, d, e] = path;
  const files = (xs: readonly string[]): [string, NvmetKind][] => xs.map((x) => [x, 'file']);
  const dirs = (xs: readonly string[]): [string, NvmetKind][] => xs.map((x) => [x, 'dir']);
  const links = (xs: readonly string[]): [string, NvmetKind][] => xs.map((x) => [x, 'symlink']);
  switch (path.length) {
    case 0:
      return [['discovery_nqn', 'file'], ...dirs(['hosts', 'ports', 'subsystems'])];
    case 1:
      if (a === 'subsystems') return dirs(Object.keys(st.subsystems));
      if (a === 'ports') return dirs(Object.keys(st.ports));
      if (a === 'hosts') return dirs(st.hosts);
      return undefined;
    case 2:
      if (a === 'subsystems' && st.subsystems[b!]) return [...files(without(SUBSYS_ATTRS, ['attr_vendor_id', 'attr_subsys_vendor_id'], newer)), ...dirs(['allowed_hosts', 'namespaces'])];
      if (a === 'ports' && st.ports[b!]) return [...files(without(PORT_ATTRS, ['param_mdts'], newer)), ...dirs(['ana_groups', 'referrals', 'subsystems'])];
      if (a === 'hosts' && st.hosts.includes(b!)) return [];
      return undefined;
    case 3: {
      const s = a === 'subsystems' ? st.subsystems[b!] : undefined;
      if (s && c === 'namespaces') return dirs(Object.keys(s.namespaces));
      if (s && c === 'allowed_hosts') return links(Object.keys(s.allowedHosts));
      const p = a === 'ports' ? st.ports[b!] : undefined;
      if (p && c === 'subsystems') return links(Object.keys(p.subsystems));
      if (p && c === 'referrals') return [];
      // The default ANA group 1 (configfs.c nvmet_ports_make, ana_default_group).
      if (p && c === 'ana_groups') return dirs(['1']);
      return undefined;
    }
    case 4:
      if (a === 'subsystems' && c === 'namespaces' && st.subsystems[b!]?.namespaces[d!]) return files(without(NS_ATTRS, ['resv_enable'], newer));
      if (a === 'ports' && c === 'ana_groups' && st.ports[b!] && d === '1') return files(['ana_state']);
      return undefined;
    default:
      void e;
      return undefined;
  }
}

/** The target of a symlink at `path` (components below nvmet/). */
export function nvmetLinkTarget(st: NvmetState, path: readonly string[]): string[] {
  const [a, b, c, d] = path;
  if (a === 'ports' && c === 'subsystems') return ['subsystems', st.ports[b!]!.subsystems[d!]!];
  if (a === 'subsystems' && c === 'allowed_hosts') return ['hosts', st.subsystems[b!]!.allowedHosts[d!]!];
  throw new Errno('EINVAL');
}

/** Whether a directory at `path` is a subsystem or host (what links may point at). */
function isSubsys(path: readonly string[]): boolean {
  return path.length === 2 && path[0] === 'subsystems';
}

/** show() of the attribute at `path`. */
export function nvmetShow(k: KernelContext, st: NvmetState, path: readonly string[]): string {
  const [a, b, c, d, e] = path;
  if (path.length === 1 && a === 'discovery_nqn') return `${NVME_DISC_SUBSYS_NAME}\n`;
  if (a === 'subsystems' && path.length === 3) {
    const s = st.subsystems[b!]!;
    switch (c) {
      case 'attr_allow_any_host': return `${s.allowAnyHost ? 1 : 0}\n`;
      // NVMe 2.1 (NVMET_DEFAULT_VS); "%llu.%llu\n" without a tertiary number.
      case 'attr_version': return nvmetNewer(k) ? '2.1\n' : '1.3\n';
      case 'attr_serial': return `${s.serial}\n`;
      case 'attr_cntlid_min': return `${s.cntlidMin}\n`;
      case 'attr_cntlid_max': return `${s.cntlidMax}\n`;
      case 'attr_vendor_id': return `0x${s.vendorId.toString(16)}\n`;
      case 'attr_subsys_vendor_id': return `0x${s.subsysVendorId.toString(16)}\n`;
      case 'attr_model': return `${s.model}\n`;
      case 'attr_qid_max': return `${s.qidMax}\n`;
      case 'attr_ieee_oui': return `0x${s.ieeeOui.toString(16).padStart(6, '0')}\n`;
      // The first 8 bytes of UTS_RELEASE (nvmet_subsys_alloc: NVMET_FR_MAX_SIZE).
      case 'attr_firmware': return `${k.v.release.slice(0, 8)}\n`;
    }
  }
  if (a === 'subsystems' && c === 'namespaces' && path.length === 5) {
    const ns = st.subsystems[b!]!.namespaces[d!]!;
    switch (e) {
      case 'device_path': return `${ns.devicePath ?? '(null)'}\n`;
      case 'enable': return `${ns.enabled ? 1 : 0}\n`;
      case 'buffered_io': return `${ns.bufferedIo ? 1 : 0}\n`;
      case 'ana_grpid': return `${ns.anaGrpid}\n`;
      case 'resv_enable': return `${ns.resvEnable ? 1 : 0}\n`;
      // [source] the zero UUID / NGUID until set.
      case 'device_uuid': return '00000000-0000-0000-0000-000000000000\n';
      case 'device_nguid': return '00000000-0000-0000-0000-000000000000\n';
      // CONFIGFS_ATTR_WO: mode 0200, the open for reading fails [source].
      case 'revalidate_size': throw new Errno('EACCES');
    }
  }
  if (a === 'ports' && path.length === 3) {
    const p = st.ports[b!]!;
    switch (c) {
      case 'addr_trtype': return `${p.trtype}\n`;
      case 'addr_adrfam': return `${p.adrfam}\n`;
      case 'addr_traddr': return `${p.traddr}\n`;
      case 'addr_trsvcid': return `${p.trsvcid}\n`;
      case 'addr_treq': return 'not specified\n';
      case 'addr_tsas': return '\n';
      case 'param_inline_data_size': return `${p.inlineDataSize}\n`;
      case 'param_max_queue_size': return `${p.maxQueueSize}\n`;
      case 'param_mdts': return `${p.mdts}\n`;
    }
  }
  if (a === 'ports' && c === 'ana_groups' && e === 'ana_state') return 'optimized\n';
  throw new Errno('EISDIR');
}

/** The first `\n`-free prefix (strcspn(page, "\n")). */
const line = (text: string): string => text.split('\n')[0]!;
/** sysfs_streq: equal but for one trailing newline on either side. */
const streq = (text: string, want: string): boolean => text === want || text === `${want}\n`;

/** store() of the attribute at `path`; throws Errno. */
export function nvmetStore(k: KernelContext, st: NvmetState, path: readonly string[], text: string): void {
  const [a, b, c, d, e] = path;
  if (path.length === 1 && a === 'discovery_nqn') throw new Errno('EINVAL'); // [source] not modelled beyond refusing
  if (a === 'subsystems' && path.length === 3) {
    const s = st.subsystems[b!]!;
    switch (c) {
      case 'attr_allow_any_host': {
        const r = kstrtobool(text);
        if (!r.ok) throw new Errno('EINVAL');
        if (r.value && Object.keys(s.allowedHosts).length) {
          k.printk.log(KERN_ERR, "nvmet: Can't set allow_any_host when explicit hosts are set!");
          throw new Errno('EINVAL');
        }
        s.allowAnyHost = r.value;
        return;
      }
      case 'attr_vendor_id':
      case 'attr_subsys_vendor_id': {
        const r = kstrtou(text, 16);
        if (!r.ok) throw new Errno('EINVAL');
        if (c === 'attr_vendor_id') s.vendorId = Number(r.value);
        else s.subsysVendorId = Number(r.value);
        return;
      }
      case 'attr_model': {
        const v = line(text);
        if (!v.length) throw new Errno('EINVAL');
        // NVMET_MN_MAX_SIZE 40; printable ASCII only [source].
        if (v.length > NVMET_MN_MAX_SIZE) {
          k.printk.log(KERN_ERR, `nvmet: Model number size can not exceed ${NVMET_MN_MAX_SIZE} Bytes`);
          throw new Errno('EINVAL');
        }
        if (!/^[\x20-\x7e]*$/.test(v)) throw new Errno('EINVAL');
        s.model = v;
        return;
      }
      case 'attr_qid_max': {
        // sscanf("%hu\n"); 1..NVMET_NR_QUEUES (observed: 0 is EINVAL).
        const m = /^\s*\+?(\d+)/.exec(text);
        const v = m ? Number(m[1]) % 65536 : NaN;
        if (!m || v < 1 || v > NVMET_NR_QUEUES) throw new Errno('EINVAL');
        s.qidMax = v;
        // "Force reconnect": ctrl->ops->delete_ctrl for every controller of the subsystem;
        // nvmet_pci_epf's fabrics ops have none (observed 7.3.4: a NULL pc oops).
        if (s.cntlids.length) throw new Oops(k.printk.oops('0000000000000000', ['0x0 (P)', 'configfs_write_iter+0xec/0x124', 'vfs_write+0x110/0x160', 'ksys_write+0x60/0xa8', '__arm64_sys_write+0x14/0x1c', 'do_el0_svc+0xd0/0xe8', 'el0_svc+0x18/0x48', 'el0t_64_sync_handler+0x58/0x134', 'el0t_64_sync+0x154/0x158'], k.splat()));
        return;
      }
      case 'attr_serial': {
        // nvmet_subsys_attr_serial_store_locked [source]: the bytes up to the newline, 1..NVMET_SN_MAX_SIZE
        // (20) of printable ASCII (nvmet_is_ascii), stored padded with blanks (memcpy_and_pad): it
        // reads back 20 characters. (Refused once a host identified the controller; no host here.)
        const v = line(text);
        if (!v.length || v.length > NVMET_SN_MAX_SIZE) {
          k.printk.log(KERN_ERR, `nvmet: Serial Number can not be empty or exceed ${NVMET_SN_MAX_SIZE} Bytes`);
          throw new Errno('EINVAL');
        }
        if (!/^[\x20-\x7e]*$/.test(v)) {
          k.printk.log(KERN_ERR, 'nvmet: Serial Number must contain only ASCII strings');
          throw new Errno('EINVAL');
        }
        s.serial = v.padEnd(NVMET_SN_MAX_SIZE, ' ');
        return;
      }
      case 'attr_version':
      case 'attr_cntlid_min':
      case 'attr_cntlid_max':
      case 'attr_ieee_oui':
      case 'attr_firmware':
        throw new Error(`the fake kernel does not model writes to nvmet ${c} (drivers/nvme/target/configfs.c)`);
    }
  }
  if (a === 'subsystems' && c === 'namespaces' && path.length === 5) {
    const ns = st.subsystems[b!]!.namespaces[d!]!;
    switch (e) {
      case 'device_path': {
        // Observed: EBUSY while enabled; [source] an empty line is EINVAL.
        if (ns.enabled) throw new Errno('EBUSY');
        const v = line(text);
        if (!v.length) throw new Errno('EINVAL');
        ns.devicePath = v;
        return;
      }
      case 'enable': {
        const r = kstrtobool(text);
        if (!r.ok) throw new Errno('EINVAL');
        if (!r.value) {
          ns.enabled = false;
          return;
        }
        if (ns.enabled) return;
        // Observed: no device_path → EINVAL, logged on 6.12 only.
        if (ns.devicePath === null) {
          if (!nvmetNewer(k)) k.printk.log(KERN_ERR, 'nvmet: failed to open block device (null): (-22)');
          throw new Errno('EINVAL');
        }
        nsOpen(k, ns);
        ns.enabled = true;
        return;
      }
      default:
        throw new Error(`the fake kernel does not model writes to nvmet namespace ${e} (drivers/nvme/target/configfs.c)`);
    }
  }
  if (a === 'ports' && path.length === 3) {
    const p = st.ports[b!]!;
    // nvmet_is_port_enabled: every addr_*/param_* store refuses an enabled port.
    if (Object.keys(p.subsystems).length) {
      k.printk.log(KERN_ERR, `nvmet: Disable port '${b}' before changing attribute in nvmet_${c}_store`);
      throw new Errno('EACCES');
    }
    switch (c) {
      case 'addr_trtype': {
        const name = Object.keys(TRANSPORTS).find((t) => streq(text, t) && (t !== 'pci' || nvmetNewer(k)));
        if (name === undefined) {
          // printk escapes the newline in the record (observed "'nonsense\x0a'").
          k.printk.log(KERN_ERR, `nvmet: Invalid value '${text}' for trtype`);
          throw new Errno('EINVAL');
        }
        p.trtype = name;
        return;
      }
      case 'addr_adrfam': {
        const name = ADRFAMS.find((t) => streq(text, t));
        if (name === undefined) {
          k.printk.log(KERN_ERR, `nvmet: Invalid value '${text}' for adrfam`);
          throw new Errno('EINVAL');
        }
        p.adrfam = name;
        return;
      }
      case 'addr_traddr':
      case 'addr_trsvcid': {
        // NVMF_TRADDR_SIZE 256 / NVMF_TRSVCID_SIZE 32, bytes up to the newline [source].
        const v = line(text);
        if (v.length + 1 > (c === 'addr_traddr' ? 256 : 32)) throw new Errno('EINVAL');
        if (c === 'addr_traddr') p.traddr = v;
        else p.trsvcid = v;
        return;
      }
      default:
        throw new Error(`the fake kernel does not model writes to nvmet port ${c} (drivers/nvme/target/configfs.c)`);
    }
  }
  throw new Errno('EISDIR');
}

/**
 * nvmet_ns_enable's open of device_path (drivers/nvme/target/core.c): nvmet_bdev_ns_enable
 * first (io-cmd-bdev.c: bdev_file_open_by_path → lookup_bdev, block/bdev.c: a missing path is
 * kern_path's ENOENT, logged "failed to open block device"; an existing non-block inode is
 * ENOTBLK, not logged), then on ENOTBLK nvmet_file_ns_enable (io-cmd-file.c: filp_open with
 * O_RDWR | O_LARGEFILE | O_DIRECT, every failure logged "failed to open file"). A directory
 * opened for writing is EISDIR (fs/namei.c may_open); a character device such as /dev/kmsg
 * opens, then fails do_dentry_open's O_DIRECT check (fs/open.c: no FMODE_CAN_ODIRECT) with
 * EINVAL. The enable write returns that errno. Observed 7.3.4 (the lane's nvme-apply):
 * /sys/kernel/config EISDIR with "nvmet: failed to open file /sys/kernel/config: (-21)", /dev/kmsg
 * EINVAL with "… /dev/kmsg: (-22)", nothing else logged. The fake's only block devices are null_blk's.
 */
function nsOpen(k: KernelContext, ns: { devicePath: string | null; bufferedIo: boolean }): void {
  const path = ns.devicePath!;
  const fail = (code: 'ENOENT' | 'EISDIR' | 'EINVAL'): never => {
    k.printk.log(KERN_ERR, `nvmet: failed to open file ${path}: (-${ERRNO[code].errno})`);
    throw new Errno(code);
  };
  const node = k.inode(path);
  if (node === 'block' && nullBlkDevices(k).includes(path) && !ns.bufferedIo) return;
  if (node === null) {
    // buffered_io skips the block device open: ENOTBLK before lookup_bdev.
    if (!ns.bufferedIo) k.printk.log(KERN_ERR, `nvmet: failed to open block device ${path}: (-${ERRNO.ENOENT.errno})`);
    fail('ENOENT');
  }
  if (!ns.bufferedIo && node === 'dir') fail('EISDIR');
  if (!ns.bufferedIo && node === 'char') fail('EINVAL');
  throw new Error(`the fake kernel does not model enabling an nvmet namespace on ${path} (${node}${ns.bufferedIo ? ', buffered_io' : ''}): drivers/nvme/target/io-cmd-file.c nvmet_file_ns_enable`);
}

/** null_blk's devices: null_init makes nr_devices (default 1) disks named nullb<index> (drivers/block/null_blk/main.c null_add_dev), built in or once modprobe loaded it. */
export function nullBlkDevices(k: KernelContext): string[] {
  return k.moduleReady('null_blk') ? [NULL_BLK_DEVICE] : [];
}

/** mkdir below nvmet/: the make_group of subsystems/, namespaces/, ports/ and hosts/. */
export function nvmetMkdir(k: KernelContext, st: NvmetState, parent: readonly string[], name: string): void {
  const [a, b, c] = parent;
  if (nvmetKind(st, [...parent, name], nvmetNewer(k))) throw new Errno('EEXIST');
  if (parent.length === 1 && a === 'subsystems') {
    if (streq(name, NVME_DISC_SUBSYS_NAME)) {
      k.printk.log(KERN_ERR, "nvmet: can't create discovery subsystem through configfs");
      throw new Errno('EINVAL');
    }
    st.subsystems[name] = {
      allowAnyHost: false,
      vendorId: 0,
      subsysVendorId: 0,
      model: 'Linux',
      qidMax: NVMET_NR_QUEUES,
      cntlidMin: 1,
      cntlidMax: NVME_CNTLID_MAX,
      ieeeOui: 0,
      serial: serialOf(name),
      namespaces: {},
      allowedHosts: {},
      cntlids: [],
    };
    return;
  }
  if (parent.length === 3 && a === 'subsystems' && c === 'namespaces') {
    const r = kstrtou(name, 32);
    const nsid = r.ok ? Number(r.value) : 0;
    if (!r.ok || nsid === 0 || nsid === 0xffffffff) {
      k.printk.log(KERN_ERR, `nvmet: invalid nsid ${r.ok ? `0x${nsid.toString(16)}` : '0'}`);
      throw new Errno('EINVAL');
    }
    st.subsystems[b!]!.namespaces[name] = { devicePath: null, enabled: false, bufferedIo: false, anaGrpid: 1, resvEnable: false };
    // Observed 7.3.4 at mkdir (nvmet_ns_alloc).
    k.printk.log(KERN_INFO, `nvmet: adding nsid ${nsid} to subsystem ${b}`);
    return;
  }
  if (parent.length === 1 && a === 'ports') {
    if (!kstrtou(name, 16).ok) throw new Errno('EINVAL');
    st.ports[name] = { trtype: '', adrfam: '', traddr: '', trsvcid: '', inlineDataSize: -1, maxQueueSize: -1, mdts: -1, subsystems: {} };
    return;
  }
  if (parent.length === 1 && a === 'hosts') {
    st.hosts.push(name);
    return;
  }
  if (parent.length === 3 && a === 'ports' && (c === 'referrals' || c === 'ana_groups'))
    throw new Error(`the fake kernel does not model nvmet ${c} (drivers/nvme/target/configfs.c)`);
  throw new Errno('EPERM');
}

/** A stable stand-in for the random serial (nvmet_subsys_alloc: get_random_bytes, "%llx"). */
function serialOf(nqn: string): string {
  let h = 0xcbf29ce484222325n;
  for (const ch of Buffer.from(nqn)) h = ((h ^ BigInt(ch)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16);
}

/** rmdir below nvmet/: configfs_rmdir (link targets EBUSY, user children ENOTEMPTY), then the drop_item. */
export function nvmetRmdir(k: KernelContext, st: NvmetState, path: readonly string[]): void {
  const [a, b, c, d] = path;
  const kind = nvmetKind(st, path, nvmetNewer(k));
  if (kind === undefined) throw new Errno('ENOENT');
  if (kind !== 'dir') throw new Errno('ENOTDIR');
  if (path.length === 2 && a === 'subsystems') {
    const s = st.subsystems[b!]!;
    if (Object.values(st.ports).some((p) => Object.values(p.subsystems).includes(b!))) throw new Errno('EBUSY');
    if (Object.keys(s.namespaces).length || Object.keys(s.allowedHosts).length) throw new Errno('ENOTEMPTY');
    delete st.subsystems[b!];
    return;
  }
  if (path.length === 4 && a === 'subsystems' && c === 'namespaces') {
    // nvmet_ns_release: nvmet_ns_disable, then the namespace is freed.
    delete st.subsystems[b!]!.namespaces[d!];
    return;
  }
  if (path.length === 2 && a === 'ports') {
    if (Object.keys(st.ports[b!]!.subsystems).length) throw new Errno('ENOTEMPTY');
    delete st.ports[b!];
    return;
  }
  if (path.length === 2 && a === 'hosts') {
    if (Object.values(st.subsystems).some((s) => Object.values(s.allowedHosts).includes(b!))) throw new Errno('EBUSY');
    st.hosts = st.hosts.filter((h) => h !== b);
    return;
  }
  // Default groups (namespaces/, allowed_hosts/, subsystems/, ana_groups/1, …).
  throw new Errno('EPERM');
}

/** symlink below nvmet/: nvmet_port_subsys_allow_link and nvmet_allowed_hosts_allow_link. */
export function nvmetSymlink(k: KernelContext, st: NvmetState, parent: readonly string[], name: string, target: readonly string[] | undefined): void {
  const [a, b, c] = parent;
  if (parent.length === 3 && a === 'ports' && c === 'subsystems') {
    if (!target || !isSubsys(target)) {
      k.printk.log(KERN_ERR, 'nvmet: can only link subsystems into the subsystems dir.!');
      throw new Errno('EINVAL');
    }
    const p = st.ports[b!]!;
    if (Object.values(p.subsystems).includes(target[1]!)) throw new Errno('EEXIST');
    if (Object.keys(p.subsystems).length === 0) enablePort(k, p);
    p.subsystems[name] = target[1]!;
    return;
  }
  if (parent.length === 3 && a === 'subsystems' && c === 'allowed_hosts') {
    if (!target || target.length !== 2 || target[0] !== 'hosts') {
      k.printk.log(KERN_ERR, 'nvmet: can only link hosts into the allowed_hosts directory!');
      throw new Errno('EINVAL');
    }
    const s = st.subsystems[b!]!;
    if (s.allowAnyHost) {
      k.printk.log(KERN_ERR, "nvmet: can't add hosts when allow_any_host is set!");
      throw new Errno('EINVAL');
    }
    if (Object.values(s.allowedHosts).includes(target[1]!)) throw new Errno('EEXIST');
    s.allowedHosts[name] = target[1]!;
    return;
  }
  throw new Errno('EPERM');
}

/** nvmet_enable_port: a transport must be set and registered (only pci here). */
function enablePort(k: KernelContext, p: NvmetPort): void {
  // 7.3: an unset trtype is NVMF_TRTYPE_MAX, refused silently. 6.12 had no "pci" name and an
  // unset trtype was 0, i.e. PCI, which no transport served (observed: "transport type 0 not supported").
  if (p.trtype === '' && nvmetNewer(k)) throw new Errno('EINVAL');
  if (p.trtype === '') {
    k.printk.log(KERN_ERR, 'nvmet: transport type 0 not supported');
    throw new Errno('EINVAL');
  }
  if (p.trtype !== 'pci' || !nvmetPciEpfLoaded(k)) {
    k.printk.log(KERN_ERR, `nvmet: transport type ${TRANSPORTS[p.trtype]} not supported`);
    throw new Errno('EINVAL');
  }
}

function nvmetPciEpfLoaded(k: KernelContext): boolean {
  return k.m.drivers.nvmet_pci_epf?.loaded === true;
}

/** unlink below nvmet/: the drop_link callbacks. */
export function nvmetUnlink(k: KernelContext, st: NvmetState, path: readonly string[]): void {
  const [a, b, c, d] = path;
  if (path.length === 4 && a === 'ports' && c === 'subsystems') {
    const p = st.ports[b!]!;
    const nqn = p.subsystems[d!]!;
    // nvmet_port_del_ctrls → ctrl->ops->delete_ctrl, NULL for nvmet_pci_epf (observed 7.3.4: oops).
    if (Object.values(k.m.devices).some((dev) => dev.nvmetCtrl?.port === b && dev.nvmetCtrl?.subsys === nqn))
      throw new Oops(k.printk.oops('0000000000000000', ['0x0 (P)', 'nvmet_port_subsys_drop_link+0x98/0xd4', 'configfs_unlink+0xa4/0xf4', 'vfs_unlink+0xd8/0x174', 'filename_unlinkat+0x120/0x180', '__arm64_sys_unlinkat+0x64/0x70', 'do_el0_svc+0xd0/0xe8', 'el0_svc+0x18/0x48', 'el0t_64_sync_handler+0x58/0x134', 'el0t_64_sync+0x154/0x158'], k.splat()));
    delete p.subsystems[d!];
    return;
  }
  if (path.length === 4 && a === 'subsystems' && c === 'allowed_hosts') {
    delete st.subsystems[b!]!.allowedHosts[d!];
    return;
  }
  throw new Errno(nvmetKind(st, path, nvmetNewer(k)) === 'dir' ? 'EISDIR' : 'EPERM');
}

/** A random host NQN as nvmet_pci_epf_create_ctrl makes it ("%pUb" of uuid_gen). */
export function randomHostNqn(): string {
  const h = [...crypto.getRandomValues(new Uint8Array(16))].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `nqn.2014-08.org.nvmexpress:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * nvmet_alloc_ctrl for a PCI endpoint controller on `portName`: the subsystem must be linked to
 * the port (else "connect request for invalid subsystem"), the random host allowed. Returns the
 * controller or undefined (the caller logs "Failed to create target controller", -ENOMEM).
 */
export function allocCtrl(k: KernelContext, st: NvmetState, portName: string, nqn: string): NvmetCtrlRef | undefined {
  const p = st.ports[portName]!;
  const s = Object.values(p.subsystems).includes(nqn) ? st.subsystems[nqn] : undefined;
  if (!s) {
    k.printk.log(KERN_WARNING, `nvmet: connect request for invalid subsystem ${nqn}!`);
    return undefined;
  }
  const host = randomHostNqn();
  if (!s.allowAnyHost) {
    // [source] core.c nvmet_host_allowed fails: the random host NQN is never in allowed_hosts.
    k.printk.log(KERN_INFO, `nvmet: connect by host ${host} for subsystem ${nqn} not allowed`);
    return undefined;
  }
  let cntlid = s.cntlidMin;
  while (s.cntlids.includes(cntlid)) cntlid++;
  if (cntlid > s.cntlidMax) return undefined;
  s.cntlids.push(cntlid);
  k.printk.log(KERN_INFO, `nvmet: Created nvm controller ${cntlid} for subsystem ${nqn} for NQN ${host}.`);
  return { subsys: nqn, port: portName, cntlid };
}

/** nvmet_ctrl_put → nvmet_ctrl_free: the controller id goes back to the subsystem's ida. */
export function freeCtrl(st: NvmetState, c: NvmetCtrlRef): void {
  const s = st.subsystems[c.subsys];
  if (s) s.cntlids = s.cntlids.filter((x) => x !== c.cntlid);
}

/** The enabled nvmet port with this portid (nvmet_pci_epf_find_port: ports of its add_port). */
export function findPciPort(st: NvmetState, portid: number): string | undefined {
  return Object.keys(st.ports).find((name) => {
    const r = kstrtou(name, 16);
    const p = st.ports[name]!;
    return r.ok && Number(r.value) === portid && p.trtype === 'pci' && Object.keys(p.subsystems).length > 0;
  });
}
