// The configfs side of the fake kernel (fs/configfs/): how the pci_ep tree looks to path
// lookup, readdir, stat and readlink. Directories, attributes and symlinks are views of the
// model, not stored files, as configfs shows items and show() output rather than disk data.
import type { EpfDriverName } from '../boards/types.js';
import { FUNCTION_ATTRIBUTES, type FunctionAttribute } from '../configfs/header.js';
import { CONFIGFS } from '../configfs/paths.js';
import type { KernelStat } from '../kernel/port.js';
import { Errno, type KernelContext } from './context.js';
import { driverModel } from './functions/index.js';
import { fnKey, type FunctionDir } from './model.js';
import { emptyNvmet, nvmetChildren, nvmetLinkTarget, type NvmetKind, type NvmetState } from './nvmet-configfs.js';

export type CfsNode =
  | { t: 'root' }
  | { t: 'pci_ep' }
  | { t: 'functions' }
  | { t: 'controllers' }
  | { t: 'driver'; driver: EpfDriverName }
  | { t: 'function'; fn: FunctionDir }
  | { t: 'fnAttr'; fn: FunctionDir; attr: FunctionAttribute }
  | { t: 'sub'; fn: FunctionDir; which: 'primary' | 'secondary' }
  | { t: 'subLink'; fn: FunctionDir; which: 'primary' | 'secondary'; link: string; epc: string }
  | { t: 'typeGroup'; fn: FunctionDir }
  | { t: 'typeAttr'; fn: FunctionDir; attr: string }
  | { t: 'vfLink'; fn: FunctionDir; link: string; vf: FunctionDir }
  | { t: 'controller'; epc: string }
  | { t: 'start'; epc: string }
  | { t: 'ctrlLink'; epc: string; link: string; fn: FunctionDir }
  /** Anything below nvmet/ (drivers/nvme/target/configfs.c): its path components and kind. */
  | { t: 'nvmet'; path: string[]; kind: NvmetKind };

export type CfsKind = 'dir' | 'file' | 'symlink';

export function kindOf(n: CfsNode): CfsKind {
  switch (n.t) {
    case 'fnAttr': case 'typeAttr': case 'start':
      return 'file';
    case 'subLink': case 'vfLink': case 'ctrlLink':
      return 'symlink';
    case 'nvmet':
      return n.kind;
    default:
      return 'dir';
  }
}

/** The configfs state a lookup needs beyond the model: is pci_ep registered at all. */
export interface CfsView {
  k: KernelContext;
  /** CONFIG_PCI_ENDPOINT_CONFIGFS: the pci_ep subsystem exists. */
  pciEp: boolean;
  /** CONFIG_NVME_TARGET=y: the nvmet subsystem exists. */
  nvmet: boolean;
}

/** The nvmet tree's state (made on first use, so older saved states load). */
export function nvmetState(v: CfsView): NvmetState {
  return (v.k.m.nvmet ??= emptyNvmet());
}

function deviceOf(v: CfsView, fn: FunctionDir) {
  return v.k.m.devices[fn.device]!;
}

/** The function directory whose device is `device`. */
function dirOfDevice(v: CfsView, device: string): FunctionDir | undefined {
  const dir = v.k.m.devices[device]?.dir;
  return dir === undefined ? undefined : v.k.m.functions[dir];
}

export function typeGroupName(v: CfsView, fn: FunctionDir): string | undefined {
  const tg = driverModel(fn.driver).typeGroup(v.k);
  return tg ? groupDirName(fn) : undefined;
}

/** The type group's directory name: `<driver>.<N>` (the EPF device), or the driver's own (nvmet_pci_epf: `nvme`). */
export function groupDirName(fn: FunctionDir): string {
  return driverModel(fn.driver).groupName ?? fn.device;
}

/** Children of a directory node, in `ls` order. */
export function children(v: CfsView, n: CfsNode): [string, CfsNode][] {
  const m = v.k.m;
  const out: [string, CfsNode][] = [];
  switch (n.t) {
    case 'root':
      if (v.nvmet) out.push(['nvmet', { t: 'nvmet', path: [], kind: 'dir' }]);
      if (v.pciEp) out.push(['pci_ep', { t: 'pci_ep' }]);
      break;
    case 'nvmet':
      for (const [name, kind] of nvmetChildren(v.k.m.nvmet ?? emptyNvmet(), n.path, v.k.b.nvmetPciEpf) ?? []) out.push([name, { t: 'nvmet', path: [...n.path, name], kind }]);
      break;
    case 'pci_ep':
      out.push(['controllers', { t: 'controllers' }], ['functions', { t: 'functions' }]);
      break;
    case 'functions':
      for (const [driver, st] of Object.entries(m.drivers)) if (st.loaded) out.push([driver, { t: 'driver', driver: driver as EpfDriverName }]);
      break;
    case 'driver':
      for (const fn of Object.values(m.functions)) if (fn.driver === n.driver) out.push([fn.name, { t: 'function', fn }]);
      break;
    case 'function': {
      for (const attr of FUNCTION_ATTRIBUTES) out.push([attr.name, { t: 'fnAttr', fn: n.fn, attr }]);
      out.push(['primary', { t: 'sub', fn: n.fn, which: 'primary' }], ['secondary', { t: 'sub', fn: n.fn, which: 'secondary' }]);
      const tg = typeGroupName(v, n.fn);
      if (tg) out.push([tg, { t: 'typeGroup', fn: n.fn }]);
      for (const [link, vfDev] of Object.entries(n.fn.vfLinks)) {
        const vf = dirOfDevice(v, vfDev);
        if (vf) out.push([link, { t: 'vfLink', fn: n.fn, link, vf }]);
      }
      break;
    }
    case 'sub':
      for (const [link, epc] of Object.entries(n.fn[n.which])) out.push([link, { t: 'subLink', fn: n.fn, which: n.which, link, epc }]);
      break;
    case 'typeGroup':
      for (const attr of driverModel(n.fn.driver).typeGroup(v.k)?.attributes ?? []) out.push([attr, { t: 'typeAttr', fn: n.fn, attr }]);
      break;
    case 'controllers':
      for (const epc of Object.keys(m.controllers)) out.push([epc, { t: 'controller', epc }]);
      break;
    case 'controller':
      out.push(['start', { t: 'start', epc: n.epc }]);
      for (const [link, key] of Object.entries(m.controllers[n.epc]!.links)) {
        const fn = m.functions[key];
        if (fn) out.push([link, { t: 'ctrlLink', epc: n.epc, link, fn }]);
      }
      break;
    default:
      break;
  }
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function child(v: CfsView, n: CfsNode, name: string): CfsNode | undefined {
  return children(v, n).find(([c]) => c === name)?.[1];
}

/** The directory a symlink points at. */
export function linkTarget(n: CfsNode, v?: CfsView): CfsNode {
  switch (n.t) {
    case 'nvmet':
      if (n.kind !== 'symlink' || !v) return n;
      return { t: 'nvmet', path: nvmetLinkTarget(nvmetState(v), n.path), kind: 'dir' };
    case 'subLink':
      return { t: 'controller', epc: n.epc };
    case 'vfLink':
      return { t: 'function', fn: n.vf };
    case 'ctrlLink':
      return { t: 'function', fn: n.fn };
    default:
      return n;
  }
}

/** Path of a node below the configfs root ("pci_ep/functions/pci_epf_test/func1"). */
export function relPath(n: CfsNode): string {
  switch (n.t) {
    case 'root': return '';
    case 'pci_ep': return 'pci_ep';
    case 'functions': return 'pci_ep/functions';
    case 'controllers': return 'pci_ep/controllers';
    case 'driver': return `pci_ep/functions/${n.driver}`;
    case 'function': return `pci_ep/functions/${fnKey(n.fn.driver, n.fn.name)}`;
    case 'fnAttr': return `${relPath({ t: 'function', fn: n.fn })}/${n.attr.name}`;
    case 'sub': return `${relPath({ t: 'function', fn: n.fn })}/${n.which}`;
    case 'subLink': return `${relPath({ t: 'function', fn: n.fn })}/${n.which}/${n.link}`;
    case 'typeGroup': return `${relPath({ t: 'function', fn: n.fn })}/${groupDirName(n.fn)}`;
    case 'typeAttr': return `${relPath({ t: 'function', fn: n.fn })}/${groupDirName(n.fn)}/${n.attr}`;
    case 'vfLink': return `${relPath({ t: 'function', fn: n.fn })}/${n.link}`;
    case 'controller': return `pci_ep/controllers/${n.epc}`;
    case 'start': return `pci_ep/controllers/${n.epc}/start`;
    case 'ctrlLink': return `pci_ep/controllers/${n.epc}/${n.link}`;
    case 'nvmet': return ['nvmet', ...n.path].join('/');
  }
}

export const absPath = (n: CfsNode): string => (relPath(n) ? `${CONFIGFS}/${relPath(n)}` : CONFIGFS);

/**
 * readlink text: fs/configfs/symlink.c configfs_get_target_path climbs from the link's
 * directory to the configfs root ("../" per level) and descends to the target.
 */
export function readlinkText(n: CfsNode, v?: CfsView): string {
  const depth = relPath(n).split('/').length - 1;
  return '../'.repeat(depth) + relPath(linkTarget(n, v));
}

export interface Resolved {
  node: CfsNode;
}

/**
 * Walks `parts` (components below the configfs root) from the root, following symlinks in
 * the middle always and at the end when `follow` is set. Throws Errno ENOENT / ENOTDIR.
 */
export function lookup(v: CfsView, parts: readonly string[], follow: boolean): CfsNode {
  let node: CfsNode = { t: 'root' };
  for (let i = 0; i < parts.length; i++) {
    if (kindOf(node) !== 'dir') throw new Errno('ENOTDIR');
    const name = parts[i]!;
    let next: CfsNode | undefined;
    if (name === '.') next = node;
    else if (name === '..') next = parentOf(v, node);
    else next = child(v, node, name);
    if (!next) throw new Errno('ENOENT');
    if (kindOf(next) === 'symlink' && (i < parts.length - 1 || follow)) next = linkTarget(next, v);
    node = next;
  }
  return node;
}

function parentOf(v: CfsView, n: CfsNode): CfsNode {
  const rel = relPath(n).split('/').slice(0, -1);
  return rel.length === 0 || rel[0] === '' ? { t: 'root' } : lookup(v, rel, true);
}

/** lstat of a configfs entry (fs/configfs/inode.c, observed 7.3.4). */
export function statOf(v: CfsView, n: CfsNode): KernelStat {
  switch (kindOf(n)) {
    case 'file':
      // CONFIGFS_ATTR_WO (nvmet's revalidate_size) is 0200 [source].
      return { kind: 'file', mode: n.t === 'nvmet' && n.path.at(-1) === 'revalidate_size' ? 0o200 : 0o644, size: 4096, nlink: 1, uid: 0, gid: 0 };
    case 'symlink':
      return { kind: 'symlink', mode: 0o777, size: 0, nlink: 1, uid: 0, gid: 0 };
    default: {
      const subdirs = children(v, n).filter(([, c]) => kindOf(c) === 'dir').length;
      return { kind: 'dir', mode: 0o755, size: 0, nlink: 2 + subdirs, uid: 0, gid: 0 };
    }
  }
}
