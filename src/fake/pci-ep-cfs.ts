// The pci_ep configfs callbacks (drivers/pci/endpoint/pci-ep-cfs.c) under the generic
// configfs rules (fs/configfs/dir.c, file.c, symlink.c): make_group/drop_item for functions,
// show/store of attributes, allow_link/drop_link for controllers, primary/, secondary/ and VF
// links, and `start`. Every errno and log line is the one pci-ep-cfs.c gives (observed 6.12, 7.3.4).
import type { EpfDriverName } from '../boards/types.js';
import { type HeaderField } from '../configfs/header.js';
import { kstrtobool, kstrtou, formatHex4, formatDecimal, formatStart } from '../configfs/values.js';
import { Errno } from './context.js';
import { type CfsNode, type CfsView, kindOf, absPath, nvmetState } from './configfs.js';
import { nvmetMkdir, nvmetRmdir, nvmetShow, nvmetStore, nvmetSymlink, nvmetUnlink } from './nvmet-configfs.js';
import { driverModel } from './functions/index.js';
import { allocIndex, fnKey, type EpfDevice, type FunctionDir } from './model.js';
import { addEpf, removeEpf, bind, unbind, addVepf, removeVepf, type Interface } from './pci-epf-core.js';
import { KERN_ERR } from './printk.js';

/** fs/configfs/file.c: a store sees at most one page less its terminating NUL. */
const MAX_STORE = 4095;

const dev = (v: CfsView, fn: FunctionDir): EpfDevice => v.k.m.devices[fn.device]!;

/** show(): the bytes a read() returns. */
export function show(v: CfsView, n: CfsNode): string {
  const { k } = v;
  switch (n.t) {
    case 'start':
      return formatStart(k.m.controllers[n.epc]!.start);
    case 'fnAttr': {
      const d = dev(v, n.fn);
      if (n.attr.home === 'function') return formatDecimal(n.attr.name === 'msi_interrupts' ? d.msiInterrupts : d.msixInterrupts);
      return formatHex4(k.m.drivers[n.fn.driver]!.header[n.attr.name as HeaderField]);
    }
    case 'typeAttr':
      return driverModel(n.fn.driver).typeGroup(k)!.show(k, dev(v, n.fn), n.attr);
    case 'nvmet':
      if (n.kind !== 'file') throw new Errno('EISDIR');
      return nvmetShow(k, nvmetState(v), n.path);
    default:
      throw new Errno('EISDIR');
  }
}

/** store(): returns the count the write(2) returns. `bytes` is the raw buffer. */
export function store(v: CfsView, n: CfsNode, bytes: Uint8Array): number {
  const { k } = v;
  // fs/configfs/file.c: an empty write never reaches store() (observed 7.3.4: EFAULT).
  if (bytes.length === 0) throw new Errno('EFAULT');
  const count = Math.min(bytes.length, MAX_STORE);
  const text = Buffer.from(bytes.subarray(0, count)).toString('latin1');
  switch (n.t) {
    case 'start':
      storeStart(v, n.epc, text);
      return count;
    case 'fnAttr': {
      // pci-ep-cfs.c: every kstrtou8/kstrtou16 failure becomes EINVAL, value unchanged.
      const r = kstrtou(text, n.attr.bits);
      if (!r.ok) throw new Errno('EINVAL');
      const value = Number(r.value);
      const d = dev(v, n.fn);
      if (n.attr.name === 'msi_interrupts') d.msiInterrupts = value;
      else if (n.attr.name === 'msix_interrupts') d.msixInterrupts = value;
      else k.m.drivers[n.fn.driver]!.header[n.attr.name as HeaderField] = value;
      return count;
    }
    case 'typeAttr':
      driverModel(n.fn.driver).typeGroup(k)!.store(k, dev(v, n.fn), n.attr, text);
      return count;
    case 'nvmet':
      if (n.kind !== 'file') throw new Errno('EISDIR');
      nvmetStore(k, nvmetState(v), n.path, text);
      return count;
    default:
      throw new Errno('EISDIR');
  }
}

/** pci_epc_start_store. */
function storeStart(v: CfsView, epcName: string, text: string): void {
  const { k } = v;
  const epc = k.m.controllers[epcName]!;
  const r = kstrtobool(text);
  if (!r.ok) throw new Errno('EINVAL');
  if (k.b.startEalready && r.value === epc.start) throw new Errno('EALREADY');
  if (!r.value) {
    epc.start = false; // pci_epc_stop() cannot fail
    return;
  }
  if (k.hook('epc_start', absPath({ t: 'start', epc: epcName }))) {
    k.printk.dev(KERN_ERR, 'pci_epc', epcName, 'failed to start endpoint controller');
    throw new Errno('EINVAL');
  }
  epc.start = true;
}

/** mkdir: only functions/<driver>/ has make_group (pci_epf_make). */
export function mkdir(v: CfsView, parent: CfsNode, name: string): void {
  if (parent.t === 'nvmet') return nvmetMkdir(v.k, nvmetState(v), parent.path, name);
  if (parent.t !== 'driver') throw new Errno('EPERM');
  const { k } = v;
  const driver = parent.driver;
  const index = allocIndex(k.m);
  const model = driverModel(driver);
  const device: EpfDevice = {
    name: `${driver}.${index}`,
    driver,
    index,
    probed: true,
    isBound: false,
    isVf: false,
    msiInterrupts: 0,
    msixInterrupts: 0,
    typeGroup: { ...(model.typeGroup(k)?.defaults ?? {}) },
    vfs: [],
    dir: fnKey(driver, name),
  };
  k.m.devices[device.name] = device;
  k.m.functions[fnKey(driver, name)] = { driver, name, device: device.name, vfLinks: {}, primary: {}, secondary: {} };
  model.probe(k, device);
}

/** rmdir: configfs_rmdir — default groups EPERM, link targets EBUSY, held links ENOTEMPTY. */
export function rmdir(v: CfsView, n: CfsNode): void {
  if (kindOf(n) !== 'dir') throw new Errno('ENOTDIR');
  if (n.t === 'nvmet') return nvmetRmdir(v.k, nvmetState(v), n.path);
  if (n.t !== 'function') throw new Errno('EPERM');
  const { m } = v.k;
  const key = fnKey(n.fn.driver, n.fn.name);
  const target =
    Object.values(m.controllers).some((c) => Object.values(c.links).includes(key)) ||
    Object.values(m.functions).some((f) => Object.values(f.vfLinks).includes(n.fn.device));
  if (target) throw new Errno('EBUSY');
  const holds = Object.keys(n.fn.primary).length + Object.keys(n.fn.secondary).length + Object.keys(n.fn.vfLinks).length;
  if (holds > 0) throw new Errno('ENOTEMPTY');
  // pci_epf_release: idr_remove + pci_epf_destroy; the device leaves the pci-epf bus.
  delete m.functions[key];
  delete m.devices[n.fn.device];
}

/** symlink in a configfs directory: the parent item's allow_link decides. */
export function symlink(v: CfsView, parent: CfsNode, name: string, target: CfsNode): void {
  const { k } = v;
  switch (parent.t) {
    case 'nvmet':
      return nvmetSymlink(k, nvmetState(v), parent.path, name, target.t === 'nvmet' ? target.path : undefined);
    case 'controller': {
      if (target.t !== 'function') throw new Errno('EINVAL');
      attach(v, parent.epc, target.fn, 'primary', ['pci_epc_epf_link', ...k.b.syscallFrames.symlink]);
      k.m.controllers[parent.epc]!.links[name] = fnKey(target.fn.driver, target.fn.name);
      return;
    }
    case 'sub': {
      if (target.t !== 'controller') throw new Errno('EINVAL');
      const fnName = parent.which === 'primary' ? 'pci_primary_epc_epf_link' : 'pci_secondary_epc_epf_link';
      attach(v, target.epc, parent.fn, parent.which, [fnName, ...k.b.syscallFrames.symlink]);
      parent.fn[parent.which][name] = target.epc;
      return;
    }
    case 'function': {
      if (target.t !== 'function') throw new Errno('EINVAL');
      addVepf(k, dev(v, parent.fn), dev(v, target.fn));
      parent.fn.vfLinks[name] = target.fn.device;
      return;
    }
    default:
      throw new Errno('EPERM');
  }
}

/** pci_epc_add_epf + pci_epf_bind, undone if bind fails; then the pending epc_init. */
function attach(v: CfsView, epcName: string, fn: FunctionDir, type: Interface, chain: readonly string[]): void {
  const { k } = v;
  const d = dev(v, fn);
  addEpf(k, epcName, d, type);
  try {
    bind(k, d, chain);
  } catch (e) {
    if (e instanceof Errno) removeEpf(k, epcName, d, type);
    throw e;
  }
  if (k.b.epcInitAfterBind && type === 'primary') driverModel(d.driver).epcInit?.(k, d);
}

/** unlink: drop_link for symlinks; attributes cannot be removed. */
export function unlink(v: CfsView, n: CfsNode): void {
  const { k } = v;
  const warnIfStarted = (epc: string, site: number, fnName: string): void => {
    if (k.m.controllers[epc]!.start)
      k.printk.warnOnce(`drivers/pci/endpoint/pci-ep-cfs.c:${site}`, fnName, [fnName, ...k.b.syscallFrames.unlink], k.splat());
  };
  switch (n.t) {
    case 'ctrlLink': {
      warnIfStarted(n.epc, k.b.warnLines.controllers, 'pci_epc_epf_unlink');
      const d = dev(v, n.fn);
      unbind(k, d, ['pci_epc_epf_unlink', ...k.b.syscallFrames.unlink]);
      removeEpf(k, n.epc, d, 'primary');
      delete k.m.controllers[n.epc]!.links[n.link];
      return;
    }
    case 'subLink': {
      const fnName = n.which === 'primary' ? 'pci_primary_epc_epf_unlink' : 'pci_secondary_epc_epf_unlink';
      warnIfStarted(n.epc, n.which === 'primary' ? k.b.warnLines.primary : k.b.warnLines.secondary, fnName);
      const d = dev(v, n.fn);
      unbind(k, d, [fnName, ...k.b.syscallFrames.unlink]);
      removeEpf(k, n.epc, d, n.which);
      delete n.fn[n.which][n.link];
      return;
    }
    case 'vfLink':
      removeVepf(dev(v, n.fn), dev(v, n.vf));
      delete n.fn.vfLinks[n.link];
      return;
    case 'nvmet':
      if (n.kind !== 'symlink') throw new Errno(n.kind === 'dir' ? 'EISDIR' : 'EPERM');
      return nvmetUnlink(k, nvmetState(v), n.path);
    default:
      throw new Errno(kindOf(n) === 'dir' ? 'EISDIR' : 'EPERM');
  }
}

/** rmmod: refused while a function of the driver is attached; otherwise its groups vanish. */
export function unloadDriver(v: CfsView, driver: EpfDriverName): void {
  const { m } = v.k;
  // delete_module(2) of a module that is not loaded (observed: rmmod says "No such file or directory").
  if (!m.drivers[driver]?.loaded) throw new Errno('ENOENT');
  const devices = Object.values(m.devices).filter((d) => d.driver === driver);
  // pci_epf_bind holds a module reference while linked.
  if (devices.some((d) => d.epc !== undefined || d.secEpc !== undefined)) throw new Errno('EBUSY');
  for (const [key, fn] of Object.entries(m.functions)) {
    if (fn.driver !== driver) continue;
    for (const vfDev of Object.values(fn.vfLinks)) removeVepf(m.devices[fn.device]!, m.devices[vfDev]!);
    for (const other of Object.values(m.functions))
      for (const [link, vfDev] of Object.entries(other.vfLinks))
        if (vfDev === fn.device) {
          removeVepf(m.devices[other.device]!, m.devices[vfDev]!);
          delete other.vfLinks[link];
        }
    delete m.functions[key];
  }
  // The devices leak on the bus with their IDR index (observed 6.12).
  for (const d of devices) {
    d.probed = false;
    delete d.dir;
  }
  m.drivers[driver]!.loaded = false;
}

/** insmod: the group is back, the shared header at its defaults, leaked devices re-bind. */
export function loadDriver(v: CfsView, driver: EpfDriverName): void {
  const { m } = v.k;
  const st = m.drivers[driver];
  if (st?.loaded) throw new Errno('EEXIST');
  m.drivers[driver] = { loaded: true, builtin: st?.builtin ?? false, header: { ...driverModel(driver).defaultHeader } };
  for (const d of Object.values(m.devices)) if (d.driver === driver) d.probed = true;
}
