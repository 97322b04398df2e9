// FakeKernel: a simulated board behind the KernelPort interface. Ordinary sysfs/procfs files
// live in a memfs Volume; /sys/kernel/config is the modelled configfs (configfs.ts,
// pci-ep-cfs.ts); /proc/interrupts and /sys/kernel/irq come from the IRQ table; /dev/kmsg from
// the log ring. Calls run one at a time, as if every syscall held one big kernel lock.
import nodePath from 'node:path';
import { Volume } from 'memfs';
import type { BoardProfile, ControllerProfile, EpfDriverName } from '../boards/types.js';
import { CONFIGFS } from '../configfs/paths.js';
import { DeviceTree } from '../devicetree/tree.js';
import { DtParseError } from '../devicetree/decode.js';
import { deviceChain, resolveMsiMap } from '../devicetree/msi.js';
import { edmaRegisters, embeddedDoorbellAddress } from '../devicetree/dwc.js';
import { ITS_COMPATIBLE } from '../doorbell/rules.js';
import type { ErrnoCode } from '../kernel/errno.js';
import { isErrnoCode } from '../kernel/errno.js';
import { KernelError, KernelOops, type KernelOp } from '../kernel/errors.js';
import { kernelBehaviour, type KernelBehaviour } from '../kernel/behaviour.js';
import type { AccessWidth, CreateOptions, KernelStat, KmsgRecord, StreamOptions } from '../kernel/port.js';
import type { KernelVersion } from '../kernel/version.js';
import type { FakeHook, FakeKernel, FakeKernelState, FakeOp, FaultRule, KernelLogRecord, OpLogEntry } from './api.js';
import { Errno, Oops, type KernelContext, type MsiDomain, type IrqOps } from './context.js';
import { type CfsView, type CfsNode, kindOf, lookup, child, children, statOf, readlinkText, linkTarget, relPath } from './configfs.js';
import * as cfs from './pci-ep-cfs.js';
import { nullBlkDevices } from './nvmet-configfs.js';
import { KERNEL_MODULE_SYMBOL, MODULE_DEPENDS, isKernelModule, type KernelModule } from './modules.js';
import { armFault, takeFault } from './faults.js';
import { IrqTable, type IrqTableState } from './irq.js';
import type { Model } from './model.js';
import { KERN_INFO, Printk, kmsgLine, type SplatContext } from './printk.js';
import { buildBoard, syncEpfBus } from './sysfs.js';
import { procText, memfsPort, memfsStat, type ProcFile } from './procfs.js';
import { driverModel, isModelledDriver } from './functions/index.js';
import { EPF_DRIVER_SYMBOL } from '../procfs/kconfig.js';
import { EMBEDDED_DOORBELL_CHIP, PROC_INTERRUPTS } from '../procfs/interrupts.js';
import { PROC_MOUNTS } from '../procfs/mounts.js';
import { KALLSYMS, type DoorbellImplementation } from '../procfs/kallsyms.js';
import { KERNEL_IRQ } from '../sysfs/paths.js';
import { PhysicalBus } from './phys.js';
import { GITS_TRANSLATER_OFFSET, makeHost, rebuildRegions, type FakeHost } from './host.js';
import { debugfsParts, debugfsRead, debugfsReaddir, debugfsStat, type DebugfsView } from './debugfs.js';
import { FakeTracefs, type TracefsState } from './tracefs.js';
import { TRACEFS, DEBUGFS_TRACING } from '../tracefs/paths.js';

const MUTATING = new Set<FakeOp>(['write', 'create', 'rename', 'mkdir', 'rmdir', 'symlink', 'unlink']);
const SYSCALL: Record<FakeOp, KernelOp> = {
  read: 'open', write: 'write', create: 'open', rename: 'rename', mkdir: 'mkdir', rmdir: 'rmdir', symlink: 'symlink', unlink: 'unlink',
  readdir: 'scandir', readlink: 'readlink', stat: 'stat', lstat: 'lstat',
};

export interface FakeKernelSetup {
  board: BoardProfile;
  version: KernelVersion;
  config: ReadonlyMap<string, 'y' | 'm' | 'n'>;
  /** The overrides `config` was built with, kept in the saved state. */
  overrides: Readonly<Record<string, 'y' | 'm' | 'n'>>;
  configfsMounted: boolean;
  /** A saved model to continue from; a fresh boot when absent. */
  model?: Model;
}

type Route =
  | { fs: 'configfs'; parts: string[] }
  | { fs: 'proc'; file: 'interrupts' | ProcFile }
  | { fs: 'irq'; parts: string[] }
  | { fs: 'kmsg' }
  | { fs: 'debugfs'; parts: string[] }
  | { fs: 'tracefs'; parts: string[] }
  /** A block device node in devtmpfs (null_blk's /dev/nullb0). */
  | { fs: 'blockdev' }
  | { fs: 'memfs' };

export class FakeKernelImpl implements FakeKernel, KernelContext {
  readonly backend = 'fake';
  readonly origin: string;
  readonly board: BoardProfile;
  readonly release: string;
  readonly v: KernelVersion;
  readonly b: KernelBehaviour;
  readonly m: Model;
  readonly printk: Printk;
  readonly irq: IrqOps;
  readonly opLog: OpLogEntry[] = [];
  /** 'changes': reads are not kept in opLog (a long-running watch polls every few ms). */
  private logMode: 'all' | 'changes' = 'all';
  /** A call changed the board outside tracefs instances (what --mock-state must keep): a configfs change, a host or devmem write, an oops. */
  private changed = false;
  private irqTable: IrqTable;
  private tracefs: FakeTracefs;
  private readonly vol = new Volume();
  private readonly cfg: ReadonlyMap<string, 'y' | 'm' | 'n'>;
  private readonly overrides: Readonly<Record<string, 'y' | 'm' | 'n'>>;
  private configfsMounted: boolean;
  private readonly modules: Set<string>;
  private readonly domains = new Map<string, MsiDomain>();
  private readonly booted: Promise<void>;
  /** What busybox devmem reaches through /dev/mem. */
  readonly phys = new PhysicalBus();
  /** The simulated root complex at the other end of the link (src/fake/host.ts). */
  readonly host: FakeHost;
  private queue: Promise<unknown> = Promise.resolve();
  private seq = 0;

  constructor(setup: FakeKernelSetup) {
    this.board = setup.board;
    this.v = setup.version;
    this.release = setup.version.release;
    this.b = kernelBehaviour(setup.version);
    this.cfg = setup.config;
    this.overrides = setup.overrides;
    this.configfsMounted = setup.configfsMounted;
    this.origin = `mock:${setup.board.name}`;
    // Drivers built as modules (CONFIG_<symbol>=m), by module name: they get the `module` link.
    this.modules = new Set(setup.board.functionDrivers.filter((d) => isModelledDriver(d) && setup.config.get(EPF_DRIVER_SYMBOL[d]) === 'm'));
    this.m = setup.model ?? this.boot();
    this.printk = new Printk(this.m.log);
    this.irqTable = this.m.irq ? IrqTable.fromJSON(this.m.irq as IrqTableState) : IrqTable.fromBoard(this.board.irqs, this.board.cpus, this.v);
    // Every change of the IRQ table is a change of the board (--mock-state keeps it).
    const changing = <A extends unknown[], R>(fn: (...a: A) => R) => (...a: A): R => {
      this.changed = true;
      return fn(...a);
    };
    this.irq = {
      request: changing((chip: string, hwirq: number, trigger: 'Edge' | 'Level', action: string) => this.irqTable.request({ chip, hwirq, trigger, action })),
      free: changing((virq: number) => this.irqTable.free(virq)),
      requestEmbedded: changing((epc: string, action: string) => {
        const c = this.m.controllers[epc]!;
        c.edmaDbVirq ??= this.irqTable.alloc([{ chip: EMBEDDED_DOORBELL_CHIP, trigger: 'Level' }]);
        this.irqTable.addAction(c.edmaDbVirq, action);
        return c.edmaDbVirq;
      }),
      freeAction: changing((virq: number, action: string) => this.irqTable.removeAction(virq, action)),
      fire: changing((virq: number, cpu: number) => this.fireIrq(virq, cpu)),
    };
    const host = makeHost(this, (fn) => this.serial(fn));
    // A host write changes the board (registers, counts): --mock-state must keep it.
    this.host = {
      ...host,
      barWrite: async (...args: Parameters<FakeHost['barWrite']>) => {
        await host.barWrite(...args);
        this.changed = true;
      },
    };
    this.tracefs = new FakeTracefs(this.m.tracefs as TracefsState | undefined, this.board.cpus);
    buildBoard(this.vol, this.board, { release: this.release, config: this.cfg, configfs: this.cfg.get('CONFIGFS_FS') !== 'n', modules: this.modules });
    syncEpfBus(this.vol, this.m, this.modules);
    this.booted = this.resolveDomains();
  }

  /** A fresh model: built-in drivers registered, controllers probed, boot log written. */
  private boot(): Model {
    const m: Model = { drivers: {}, devices: {}, functions: {}, controllers: {}, log: { usec: 0, records: [], taint: [], warnOnce: [] }, faults: [], irq: undefined };
    const printk = new Printk(m.log);
    printk.tick(0);
    printk.log(6, `Booting Linux on physical CPU 0x0000000000 [0x410fd034]`);
    printk.log(5, `Linux version ${this.release} (epctl@fake) #1 SMP PREEMPT`);
    for (const c of this.board.controllers) {
      for (const line of c.probeLog ?? []) printk.log(6, line);
      m.controllers[c.name] = { name: c.name, start: false, links: {}, epfs: [], funcNos: [] };
    }
    if (this.cfg.get('PCI_ENDPOINT_CONFIGFS') !== 'n')
      for (const d of this.board.functionDrivers)
        // A driver built as a module (CONFIG_…=m) is not registered until modprobe.
        if (isModelledDriver(d) && (this.cfg.get(EPF_DRIVER_SYMBOL[d]) ?? 'n') === 'y')
          m.drivers[d] = { loaded: true, builtin: true, header: { ...driverModel(d).defaultHeader } };
    m.log.usec = 1_500_000;
    return m;
  }

  /** What pci-ep-msi.c will find for each EPC: msi-map for ID 0 → an ITS (src/devicetree/msi.ts). */
  private async resolveDomains(): Promise<void> {
    const tree = new DeviceTree(memfsPort(this.vol, this.origin));
    for (const c of this.board.controllers) {
      // pcie-designware.c: only DesignWare drivers look for the eDMA registers.
      const edma = c.dwc ? await edmaRegisters(tree, c.dtPath) : 'none';
      const edmaDoorbell = c.dwc ? await embeddedDoorbellAddress(tree, c.dtPath) : undefined;
      let domain: MsiDomain = { found: false, immutable: false, edma, ...(edmaDoorbell === undefined ? {} : { edmaDoorbell }) };
      try {
        const r = await resolveMsiMap(tree, await deviceChain(tree, c.dtPath), 0);
        if (r.kind === 'mapped') {
          const compat = await tree.compatible(r.target);
          const its = compat.includes(ITS_COMPATIBLE) && this.config('ARM_GIC_V3_ITS') === 'y';
          domain = { found: its || (await tree.flag(r.target, 'msi-controller')), immutable: its, deviceId: r.deviceId, edma, ...(edmaDoorbell === undefined ? {} : { edmaDoorbell }) };
          // GITS_TRANSLATER = the ITS's reg base + 0x10040 (include/linux/irqchip/arm-gic-v3.h GITS_TRANSLATER; QEMU virt: 0x08090040).
          const reg = its ? (await tree.reg(r.target))[0] : undefined;
          if (reg) domain.its = { node: r.target, translater: reg.address + GITS_TRANSLATER_OFFSET };
        }
      } catch (e) {
        // A malformed msi-map: of_map_id logs an error and finds no domain.
        if (!(e instanceof DtParseError)) throw e;
      }
      // The hardware's stream ID for the controller, as the RC node beside it records it.
      const unit = c.dtPath.slice(c.dtPath.lastIndexOf('@') + 1);
      const rcPath = `${c.dtPath.slice(0, c.dtPath.lastIndexOf('/'))}/pcie@${unit}`;
      try {
        const rc = (await tree.exists(rcPath)) ? await resolveMsiMap(tree, [rcPath], 0) : undefined;
        if (rc?.kind === 'mapped') domain.wireDeviceId = rc.deviceId;
      } catch (e) {
        if (!(e instanceof DtParseError)) throw e;
      }
      this.domains.set(c.name, domain);
    }
    rebuildRegions(this);
  }

  /** The doorbell code this kernel carries: the board's vendor backport, else by release and config. */
  get doorbellImplementation(): DoorbellImplementation {
    return this.board.vendorKernel?.doorbell ?? (this.b.doorbell && this.cfg.get('PCI_ENDPOINT_MSI_DOORBELL') === 'y' ? 'merged' : 'none');
  }

  // ---- KernelContext ---------------------------------------------------------------------

  get tainted(): boolean {
    return this.printk.tainted;
  }
  splat(): SplatContext {
    const model = this.board.dt.props['model'];
    const hardware = model?.kind === 'strings' ? model.values[0]! : this.board.title;
    return { release: this.release, hardware, newFormat: this.b.newWarnFormat, ...this.b.splat, uid: this.b.dumpStackUid, caller: { comm: 'node', pid: process.pid } };
  }
  hook(op: FakeHook, path: string): ErrnoCode | undefined {
    return takeFault(this.m.faults, op, path);
  }
  config(symbol: string): 'y' | 'm' | 'n' {
    return this.cfg.get(symbol) ?? 'n';
  }
  inode(path: string): 'block' | 'char' | 'dir' | 'file' | 'other' | null {
    const p = normalize(path);
    const r = this.route(p);
    if (r.fs === 'blockdev') return 'block';
    if (r.fs === 'kmsg') return 'char';
    try {
      const st = this.statRoute(p, r, true);
      return st.kind === 'dir' || st.kind === 'file' ? st.kind : 'other';
    } catch (e) {
      if (e instanceof Errno || isErrnoCode((e as { code?: unknown }).code)) return null;
      throw e;
    }
  }

  moduleReady(module: KernelModule): boolean {
    const built = this.config(KERNEL_MODULE_SYMBOL[module]);
    return built === 'y' || (built === 'm' && (this.m.modules ?? []).includes(module));
  }
  msiDomain(epc: string): MsiDomain {
    return this.domains.get(epc) ?? { found: false, immutable: false, edma: 'none' };
  }
  controller(epc: string): ControllerProfile {
    return this.board.controllers.find((c) => c.name === epc)!;
  }
  functionPath(dev: { dir?: string }): string {
    return dev.dir === undefined ? '' : `${CONFIGFS}/pci_ep/functions/${dev.dir}`;
  }

  // ---- FakeKernel controls ------------------------------------------------------------------

  kernelLog(): readonly KernelLogRecord[] {
    return this.m.log.records;
  }
  dmesg(): string[] {
    return this.m.log.records.map((r) => r.text);
  }
  injectFault(rule: FaultRule): void {
    this.m.faults.push(armFault(rule));
  }
  modprobe(driver: EpfDriverName): void {
    // What it depends on first; kernelConfig (index.ts) keeps a dependency at least =m where its user is =m.
    for (const dep of MODULE_DEPENDS[driver] ?? []) this.insmod(dep);
    cfs.loadDriver(this.view(), driver);
    this.modules.add(driver);
    syncEpfBus(this.vol, this.m, this.modules);
  }
  rmmod(driver: EpfDriverName): void {
    try {
      cfs.unloadDriver(this.view(), driver);
    } catch (e) {
      if (e instanceof Errno) throw new KernelError({ code: e.code, syscall: 'unlink', path: `/sys/module/${driver}`, hint: 'unlink its functions from every controller first' });
      throw e;
    }
    syncEpfBus(this.vol, this.m, this.modules);
  }
  toState(): FakeKernelState {
    this.m.irq = this.irqTable.toJSON();
    this.m.tracefs = this.tracefs.toJSON();
    return {
      format: 'epctl-fake-kernel',
      version: 1,
      board: this.board.name,
      release: this.release,
      config: { ...this.overrides },
      configfsMounted: this.configfsMounted,
      model: structuredClone(this.m),
    };
  }

  // ---- KernelPort ---------------------------------------------------------------------------

  read(path: string): Promise<Uint8Array> {
    return this.run('read', path, {}, (p, r) => {
      switch (r.fs) {
        case 'configfs': {
          const n = lookup(this.view(), r.parts, true);
          return Buffer.from(cfs.show(this.view(), n), 'latin1');
        }
        case 'proc':
          return Buffer.from(r.file === 'interrupts' ? this.irqTable.procInterrupts() : procText(r.file, { taint: this.m.log.taint, configfs: this.cfg.get('CONFIGFS_FS') !== 'n', configfsMounted: this.configfsMounted, doorbell: this.doorbellImplementation, embeddedDoorbell: this.b.doorbellRefactored, ftrace: this.config('FTRACE') !== 'n', tracefsMounted: this.tracefs.mounted }));
        case 'irq':
          return Buffer.from(this.irqFile(r.parts));
        case 'blockdev':
          // Not an attribute: a reader streams it (src/kernel/real.ts refuses special files with ENXIO).
          throw new Errno('ENXIO');
        case 'kmsg':
          throw new Errno('EAGAIN');
        case 'debugfs':
          return Buffer.from(debugfsRead(this.debugfs(), r.parts));
        case 'tracefs':
          return Buffer.from(this.tracefs.read(r.parts), 'latin1');
        case 'memfs':
          return this.vol.readFileSync(p) as Buffer;
      }
    });
  }

  write(path: string, data: string | Uint8Array): Promise<number> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    return this.run('write', path, { data: Buffer.from(bytes).toString('latin1') }, (p, r) => {
      if (r.fs === 'configfs') {
        const n = lookup(this.view(), r.parts, true);
        if (kindOf(n) === 'dir') throw new Errno('EISDIR');
        return cfs.store(this.view(), n, bytes);
      }
      if (r.fs === 'tracefs') return this.tracefs.write(r.parts, Buffer.from(bytes).toString('latin1'));
      if (r.fs !== 'memfs') throw new Errno('EACCES');
      const st = this.vol.statSync(p);
      if (st.isDirectory()) throw new Errno('EISDIR');
      if ((st.mode & 0o200) === 0) throw new Errno('EACCES');
      this.vol.writeFileSync(p, bytes);
      return bytes.length;
    });
  }

  create(path: string, opts: CreateOptions = {}): Promise<void> {
    return this.run('create', path, {}, (p, r) => {
      if (r.fs === 'configfs') {
        const { parent, name } = this.parentOf(r, 'EISDIR');
        const existing = child(this.view(), parent, name);
        // fs/namei.c lookup_open: a new name needs the directory's ->create, which configfs's
        // directory inode_operations (fs/configfs/dir.c) lack: EACCES.
        if (!existing) throw new Errno('EACCES');
        if (opts.exclusive) throw new Errno('EEXIST');
        // do_open: O_CREAT follows a trailing link; a directory (or a link to one) is EISDIR.
        const node = kindOf(existing) === 'symlink' ? linkTarget(existing, this.view()) : existing;
        if (kindOf(node) === 'dir') throw new Errno('EISDIR');
        // O_TRUNC reaches configfs_setattr only; the attribute's value is its show(), unchanged,
        // and configfs drops the dentry at close, so the next lookup shows size PAGE_SIZE again.
        return;
      }
      if (r.fs === 'tracefs') {
        // tracefs has no ->create (a new name is EACCES); an existing file opens, `trace` is emptied.
        this.tracefs.stat(r.parts.slice(0, -1));
        try {
          this.tracefs.stat(r.parts);
        } catch (e) {
          if (e instanceof Errno && e.code === 'ENOENT') throw new Errno('EACCES');
          throw e;
        }
        if (opts.exclusive) throw new Errno('EEXIST');
        return this.tracefs.create(r.parts);
      }
      const exists = this.memfsExists(p) || r.fs !== 'memfs';
      // kernfs and procfs have no ->create either.
      if (!exists) throw new Errno('EACCES');
      if (opts.exclusive) throw new Errno('EEXIST');
      if (r.fs !== 'memfs') throw new Errno('EACCES');
      const st = this.vol.statSync(p);
      if (st.isDirectory()) throw new Errno('EISDIR');
      if ((st.mode & 0o200) === 0) throw new Errno('EACCES');
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.run('rename', from, { dest: to }, (_p, r) => {
      const tr = this.route(normalize(to));
      // fs/namei.c do_renameat2: both parents resolved, the source must exist, same mount.
      if (r.fs !== 'configfs') throw new Errno(r.fs === 'memfs' && !this.memfsExists(normalize(from)) ? 'ENOENT' : 'EPERM');
      const { parent: oldDir, name: oldName } = this.parentOf(r, 'EBUSY');
      // The mount check comes before the names are looked up.
      if (tr.fs !== 'configfs') throw new Errno('EXDEV');
      const { parent: newDir, name: newName } = this.parentOf(tr, 'EBUSY');
      const source = child(this.view(), oldDir, oldName);
      if (!source) throw new Errno('ENOENT');
      const target = child(this.view(), newDir, newName);
      const isDir = kindOf(source) === 'dir';
      const src = relPath(source);
      // lock_rename's trap: the source may not be an ancestor of the new name's directory (EINVAL),
      // nor the target one of the source's (ENOTEMPTY).
      const newDirPath = relPath(newDir);
      if (isDir && (newDirPath === src || newDirPath.startsWith(src + '/'))) throw new Errno('EINVAL');
      if (target && kindOf(target) === 'dir' && src.startsWith(relPath(target) + '/')) throw new Errno('ENOTEMPTY');
      // vfs_rename: the same inode is a no-op; then may_delete on an existing target.
      if (target && relPath(target) === src) return;
      if (target && isDir && kindOf(target) !== 'dir') throw new Errno('ENOTDIR');
      if (target && !isDir && kindOf(target) === 'dir') throw new Errno('EISDIR');
      // configfs directories have no ->rename (fs/configfs/dir.c): EPERM.
      throw new Errno('EPERM');
    });
  }

  mkdir(path: string): Promise<void> {
    return this.run('mkdir', path, {}, (_p, r) => {
      if (r.fs === 'tracefs') return this.tracefs.mkdir(r.parts);
      const { parent, name } = this.parentOf(r);
      // VFS: an existing name is EEXIST before the filesystem is asked.
      if (children(this.view(), parent).some(([c]) => c === name)) throw new Errno('EEXIST');
      cfs.mkdir(this.view(), parent, name);
    });
  }

  rmdir(path: string): Promise<void> {
    return this.run('rmdir', path, {}, (_p, r) => {
      if (r.fs === 'tracefs') return this.tracefs.rmdir(r.parts);
      if (r.fs !== 'configfs') throw new Errno('EPERM');
      cfs.rmdir(this.view(), lookup(this.view(), r.parts, false));
    });
  }

  symlink(target: string, path: string): Promise<void> {
    return this.run('symlink', path, { dest: target }, (_p, r) => {
      const { parent, name } = this.parentOf(r);
      if (children(this.view(), parent).some(([c]) => c === name)) throw new Errno('EEXIST');
      // fs/configfs/symlink.c: only items whose type has allow_link take links (else EPERM),
      // then the target is looked up from the caller's cwd ("/" here), must be a configfs dir.
      // nvmet: ports/<id>/subsystems/ and subsystems/<nqn>/allowed_hosts/ (drivers/nvme/target/configfs.c).
      const nvmetLinkDir = parent.t === 'nvmet' && parent.path.length === 3 && ((parent.path[0] === 'ports' && parent.path[2] === 'subsystems') || (parent.path[0] === 'subsystems' && parent.path[2] === 'allowed_hosts'));
      if (!['controller', 'sub', 'function'].includes(parent.t) && !nvmetLinkDir) throw new Errno('EPERM');
      const abs = nodePath.posix.resolve('/', target);
      const tr = this.route(abs);
      if (tr.fs !== 'configfs') throw new Errno(this.memfsExists(abs) ? 'EPERM' : 'ENOENT');
      const tnode = lookup(this.view(), tr.parts, true);
      if (kindOf(tnode) !== 'dir') throw new Errno('ENOTDIR');
      cfs.symlink(this.view(), parent, name, tnode);
    });
  }

  unlink(path: string): Promise<void> {
    return this.run('unlink', path, {}, (_p, r) => {
      if (r.fs !== 'configfs') throw new Errno('EPERM');
      cfs.unlink(this.view(), lookup(this.view(), r.parts, false));
    });
  }

  readdir(path: string): Promise<string[]> {
    return this.run('readdir', path, {}, (p, r) => {
      switch (r.fs) {
        case 'configfs': {
          const n = lookup(this.view(), r.parts, true);
          if (kindOf(n) !== 'dir') throw new Errno('ENOTDIR');
          return children(this.view(), n).map(([c]) => c);
        }
        case 'irq':
          if (r.parts.length === 0) return this.irqTable.virqs().map(String);
          if (r.parts.length === 1 && this.irqTable.get(Number(r.parts[0]))) return Object.keys(this.irqTable.sysfsAttributes(Number(r.parts[0]))!).sort();
          throw new Errno(r.parts.length === 1 ? 'ENOENT' : 'ENOTDIR');
        case 'debugfs':
          return debugfsReaddir(this.debugfs(), r.parts);
        case 'tracefs':
          return this.tracefs.readdir(r.parts);
        case 'memfs':
          return (this.vol.readdirSync(p) as string[]).sort();
        default:
          throw new Errno('ENOTDIR');
      }
    });
  }

  readlink(path: string): Promise<string> {
    return this.run('readlink', path, {}, (p, r) => {
      if (r.fs === 'configfs') {
        const n = lookup(this.view(), r.parts, false);
        if (kindOf(n) !== 'symlink') throw new Errno('EINVAL');
        return readlinkText(n, this.view());
      }
      if (r.fs !== 'memfs') throw new Errno('EINVAL');
      return String(this.vol.readlinkSync(p));
    });
  }

  stat(path: string): Promise<KernelStat> {
    return this.run('stat', path, {}, (p, r) => this.statRoute(p, r, true));
  }

  lstat(path: string): Promise<KernelStat> {
    return this.run('lstat', path, {}, (p, r) => this.statRoute(p, r, false));
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this.stat(path);
      return true;
    } catch (e) {
      if (e instanceof KernelError) return false;
      throw e;
    }
  }

  async *lines(path: string, opts: StreamOptions = {}): AsyncIterable<string> {
    await this.booted;
    const route = this.route(normalize(path));
    if (route.fs === 'tracefs') {
      try {
        yield* this.tracefs.pipe(route.parts, opts.signal);
      } catch (e) {
        if (e instanceof Errno) throw new KernelError({ code: e.code, syscall: 'open', path });
        throw e;
      }
      return;
    }
    if (route.fs !== 'kmsg') throw new KernelError({ code: 'ENOENT', syscall: 'open', path });
    const pending: string[] = this.m.log.records.map((r, i) => kmsgLine(r, i));
    let wake: (() => void) | undefined;
    const unsubscribe = this.printk.subscribe((r) => {
      pending.push(kmsgLine(r, this.m.log.records.length - 1));
      wake?.();
    });
    const onAbort = (): void => wake?.();
    opts.signal?.addEventListener('abort', onAbort);
    try {
      while (!opts.signal?.aborted) {
        const line = pending.shift();
        if (line !== undefined) yield line;
        else await new Promise<void>((res) => (wake = res));
      }
    } finally {
      unsubscribe();
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  async kmsg(): Promise<KmsgRecord[]> {
    await this.booted;
    return this.m.log.records.map((r, seq) => ({ level: r.level, seq, usec: r.usec, text: r.text }));
  }

  /**
   * modprobe: 0 for a loaded or built-in module, after loading what it depends on (modules.ts
   * MODULE_DEPENDS); a module the board does not ship is not found.
   */
  loadModule(module: string): Promise<void> {
    return this.serial(() => {
      const notFound = (): KernelError =>
        new KernelError({ code: 'ENOENT', syscall: 'modprobe', path: `/lib/modules/${this.release}`, hint: `modprobe: FATAL: Module ${module} not found in directory /lib/modules/${this.release}` });
      if (isKernelModule(module)) {
        if (this.config(KERNEL_MODULE_SYMBOL[module]) === 'n') throw notFound();
        this.insmod(module);
        return;
      }
      if (isModelledDriver(module) && this.m.drivers[module]?.loaded) return;
      if (!isModelledDriver(module) || !this.board.functionDrivers.includes(module) || this.cfg.get(EPF_DRIVER_SYMBOL[module]) !== 'm') throw notFound();
      this.modprobe(module);
      this.changed = true;
    });
  }

  /** Loads one of the modules.ts modules: nothing when built in or loaded already. */
  private insmod(module: KernelModule): void {
    if (this.moduleReady(module)) return;
    if (this.config(KERNEL_MODULE_SYMBOL[module]) !== 'm') throw new Error(`the fake kernel cannot load ${module}: CONFIG_${KERNEL_MODULE_SYMBOL[module]} is not =m`);
    this.printk.tick();
    (this.m.modules ??= []).push(module);
    this.changed = true;
    // nvmet_init (drivers/nvme/target/core.c) prints nothing when it succeeds; its
    // nvmet_init_configfs (configfs.c) registers the nvmet subsystem: /sys/kernel/config/nvmet
    // appears (view(), moduleReady). null_init (drivers/block/null_blk/main.c) creates
    // nr_devices (default 1) disks, null_add_dev printing "disk nullb<N> created" for each, then
    // "module loaded"; pr_info with pr_fmt "null_blk: ".
    if (module === 'null_blk') {
      for (const dev of nullBlkDevices(this)) this.printk.log(KERN_INFO, `null_blk: disk ${dev.slice('/dev/'.length)} created`);
      this.printk.log(KERN_INFO, 'null_blk: module loaded');
    }
  }

  /** mount -t configfs: EBUSY when mounted, ENODEV without CONFIG_CONFIGFS_FS. */
  mountConfigfs(): Promise<void> {
    return this.serial(() => {
      if (this.cfg.get('CONFIGFS_FS') === 'n')
        throw new KernelError({ code: 'ENODEV', syscall: 'mount', path: CONFIGFS, hint: "mount: unknown filesystem type 'configfs': the kernel was built without CONFIG_CONFIGFS_FS" });
      if (this.configfsMounted) throw new KernelError({ code: 'EBUSY', syscall: 'mount', path: CONFIGFS, hint: `mount: ${CONFIGFS}: none already mounted` });
      this.configfsMounted = true;
    });
  }

  peek(addr: bigint, width: AccessWidth): Promise<bigint> {
    return this.serial(() => {
      const hit = this.physAccess(addr, width);
      return hit.region.read(hit.offset, width);
    });
  }

  poke(addr: bigint, width: AccessWidth, value: bigint): Promise<void> {
    return this.serial(() => {
      const hit = this.physAccess(addr, width);
      hit.region.write(hit.offset, width, value & ((1n << BigInt(width)) - 1n));
      this.changed = true;
    });
  }

  private physAccess(addr: bigint, width: AccessWidth): ReturnType<PhysicalBus['find']> & object {
    const hit = this.phys.find(addr, width);
    if (hit) return hit;
    // An access nothing answers: an external abort, and devmem is killed by SIGBUS.
    throw new KernelError({ code: 'EIO', syscall: 'devmem', path: '/dev/mem', hint: `Bus error: nothing answers at 0x${addr.toString(16)} on ${this.origin}` });
  }

  // ---- IRQs and tracefs ---------------------------------------------------------------------

  /**
   * One interrupt on CPU: the count (irq.ts), then irq_handler_entry/exit for every action of
   * the virq into every trace array that wants them (kernel/irq/handle.c
   * __handle_irq_event_percpu). Under QEMU TCG the handler runs in the context of the process
   * whose write rang the doorbell (observed 7.3.4: "devmem-275 [000] d.h.."); the fake names
   * that writer devmem with this process's pid.
   */
  private fireIrq(virq: number, cpu: number): void {
    this.irqTable.fire(virq, cpu);
    const names = this.irqTable.get(virq)?.actions ?? [];
    if (this.config('FTRACE') === 'n' || names.length === 0) return;
    this.printk.tick(3);
    // The trace clock is the host's CLOCK_MONOTONIC (process.hrtime), shared by every process
    // on the --mock-state board and by `doorbell watch`'s own clock: one time base per stream.
    this.tracefs.record({ usec: Number(process.hrtime.bigint() / 1000n), irq: virq, cpu, names, comm: 'devmem', pid: process.pid });
  }

  /**
   * Takes the simulated board another process saved (the same --mock-state file): its model,
   * IRQ table and tracefs, keeping the tracefs instances made here (FakeTracefs.adopt).
   */
  adopt(state: FakeKernelState): Promise<void> {
    return this.serial(() => {
      const model = structuredClone(state.model) as Model;
      // Printk holds m.log: update it in place; the rest is replaced.
      Object.assign(this.m.log, model.log);
      for (const k of Object.keys(model) as (keyof Model)[]) if (k !== 'log') (this.m as unknown as Record<string, unknown>)[k] = model[k];
      this.irqTable = this.m.irq ? IrqTable.fromJSON(this.m.irq as IrqTableState) : IrqTable.fromBoard(this.board.irqs, this.board.cpus, this.v);
      if (this.m.tracefs) this.tracefs.adopt(this.m.tracefs as TracefsState);
      syncEpfBus(this.vol, this.m, this.modules);
      // The physical bus follows the model (BAR memory, inbound windows).
      rebuildRegions(this);
    });
  }

  /** Keep every call in opLog ('all', the default), or only the ones that change something. */
  keepOpLog(mode: 'all' | 'changes'): void {
    this.logMode = mode;
  }

  /** True once a call changed the board outside tracefs instances (what --mock-state must keep). */
  changedBoard(): boolean {
    return this.changed;
  }

  /** Mount or unmount tracefs at /sys/kernel/tracing (debugfs's automount stays). */
  setTracefsMounted(mounted: boolean): void {
    this.tracefs.setMounted(mounted);
  }

  /** The tracefs instances that exist now. */
  traceInstances(): string[] {
    return this.tracefs.instanceNames();
  }

  // ---- internals ----------------------------------------------------------------------------

  /** Runs FN after every earlier call, as one more system call under the big lock. */
  private serial<T>(fn: () => T): Promise<T> {
    const call = async (): Promise<T> => {
      await this.booted;
      return fn();
    };
    const result = this.queue.then(call, call);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private view(): CfsView {
    return { k: this, pciEp: this.cfg.get('PCI_ENDPOINT_CONFIGFS') !== 'n', nvmet: this.moduleReady('nvmet') };
  }

  private route(p: string): Route {
    // A `..` that climbs out of the configfs mount is resolved by name (/sys/kernel/config/pci_ep/../../../../dev/x).
    if (p.startsWith(CONFIGFS + '/') && escapesRoot(p.slice(CONFIGFS.length))) return this.route(nodePath.posix.resolve(p));
    if (this.configfsMounted && this.cfg.get('CONFIGFS_FS') !== 'n' && (p === CONFIGFS || p.startsWith(CONFIGFS + '/')))
      return { fs: 'configfs', parts: p.slice(CONFIGFS.length).split('/').filter(Boolean) };
    if (p === PROC_INTERRUPTS) return { fs: 'proc', file: 'interrupts' };
    if (p === PROC_MOUNTS || p === '/proc/self/mounts') return { fs: 'proc', file: 'mounts' };
    if (p === '/proc/sys/kernel/tainted') return { fs: 'proc', file: 'tainted' };
    if (p === '/proc/filesystems') return { fs: 'proc', file: 'filesystems' };
    if (p === KALLSYMS) return { fs: 'proc', file: 'kallsyms' };
    if (p === KERNEL_IRQ || p.startsWith(KERNEL_IRQ + '/')) return { fs: 'irq', parts: p.slice(KERNEL_IRQ.length).split('/').filter(Boolean) };
    if (p === '/dev/kmsg') return { fs: 'kmsg' };
    if (nullBlkDevices(this).includes(p)) return { fs: 'blockdev' };
    // tracefs (CONFIG_FTRACE): at /sys/kernel/tracing while mounted there, and automounted
    // under debugfs at /sys/kernel/debug/tracing (kernel/trace/trace.c tracer_init_tracefs).
    if (this.config('FTRACE') !== 'n')
      for (const root of this.tracefs.mounted ? [TRACEFS, DEBUGFS_TRACING] : [DEBUGFS_TRACING])
        if (p === root || p.startsWith(root + '/')) return { fs: 'tracefs', parts: p.slice(root.length).split('/').filter(Boolean) };
    const debugfs = debugfsParts(p);
    if (debugfs) return { fs: 'debugfs', parts: debugfs };
    return { fs: 'memfs' };
  }

  /** DesignWare debugfs (./debugfs.ts): from 6.15, with CONFIG_DEBUG_FS, on `dwc` controllers. */
  private debugfs(): DebugfsView {
    const dir = '/sys/kernel/debug';
    return {
      board: this.board,
      m: this.m,
      enabled: this.b.dwcLtssmDebugfs && this.config('DEBUG_FS') !== 'n',
      memfsChildren: () => (this.vol.existsSync(dir) ? (this.vol.readdirSync(dir) as string[]) : []),
    };
  }

  /** The directory and last name of a configfs path; `atRoot` is the errno for the mount point itself. */
  private parentOf(r: Route, atRoot: ErrnoCode = 'EEXIST'): { parent: CfsNode; name: string } {
    // kernfs (sysfs) and procfs have no mkdir/symlink operations: EPERM.
    if (r.fs !== 'configfs') throw new Errno('EPERM');
    if (r.parts.length === 0) throw new Errno(atRoot);
    const parent = lookup(this.view(), r.parts.slice(0, -1), true);
    if (kindOf(parent) !== 'dir') throw new Errno('ENOTDIR');
    return { parent, name: r.parts[r.parts.length - 1]! };
  }

  private memfsExists(p: string): boolean {
    return this.vol.existsSync(p);
  }

  private statRoute(p: string, r: Route, follow: boolean): KernelStat {
    switch (r.fs) {
      case 'configfs':
        return statOf(this.view(), lookup(this.view(), r.parts, follow));
      case 'proc':
        return { kind: 'file', mode: 0o444, size: 0, nlink: 1, uid: 0, gid: 0 };
      case 'kmsg':
        return { kind: 'other', mode: 0o644, size: 0, nlink: 1, uid: 0, gid: 0 };
      case 'blockdev':
        // brw------- root root (observed 7.3.4: lstat /dev/nullb0 mode 0600, size 0).
        return { kind: 'other', mode: 0o600, size: 0, nlink: 1, uid: 0, gid: 0 };
      case 'tracefs': {
        const st = this.tracefs.stat(r.parts);
        return { kind: st.kind, mode: st.mode, size: 0, nlink: st.kind === 'dir' ? 2 : 1, uid: 0, gid: 0 };
      }
      case 'irq': {
        if (r.parts.length === 0) return { kind: 'dir', mode: 0o755, size: 0, nlink: 2 + this.irqTable.virqs().length, uid: 0, gid: 0 };
        if (!this.irqTable.get(Number(r.parts[0]))) throw new Errno('ENOENT');
        if (r.parts.length === 1) return { kind: 'dir', mode: 0o755, size: 0, nlink: 2, uid: 0, gid: 0 };
        if (r.parts.length === 2 && r.parts[1]! in this.irqTable.sysfsAttributes(Number(r.parts[0]))!) return { kind: 'file', mode: 0o444, size: 4096, nlink: 1, uid: 0, gid: 0 };
        throw new Errno('ENOENT');
      }
      case 'debugfs':
        return debugfsStat(this.debugfs(), r.parts);
      case 'memfs':
        return memfsStat(this.vol, p, follow);
    }
  }

  private irqFile(parts: string[]): string {
    if (parts.length !== 2) throw new Errno(parts.length < 2 ? 'EISDIR' : 'ENOENT');
    const attrs = this.irqTable.sysfsAttributes(Number(parts[0]));
    const v = attrs?.[parts[1] as keyof typeof attrs];
    if (v === undefined) throw new Errno('ENOENT');
    return v;
  }

  /** One system call: serialised, logged, fault-checked, errors shaped like node:fs. */
  private run<T>(op: FakeOp, path: string, extra: { data?: string; dest?: string }, fn: (p: string, r: Route) => T): Promise<T> {
    const call = async (): Promise<T> => {
      await this.booted;
      const p = normalize(path);
      const entry: OpLogEntry = { seq: ++this.seq, op, path: p, ...extra, result: 'ok' };
      const mutating = MUTATING.has(op);
      if (mutating || this.logMode === 'all') this.opLog.push(entry);
      this.printk.tick();
      const logStart = this.m.log.records.length;
      const fail = (code: ErrnoCode, cause?: unknown): KernelError => {
        entry.result = code;
        const log = this.m.log.records.slice(logStart).map((r) => r.text);
        return new KernelError({ code, syscall: SYSCALL[op], path, ...(extra.dest === undefined ? {} : { dest: extra.dest }), log, cause });
      };
      const injected = takeFault(this.m.faults, op, p);
      if (injected) throw fail(injected);
      try {
        const route = this.route(p);
        const result = fn(p, route);
        if (mutating && route.fs !== 'tracefs') this.changed = true;
        return result;
      } catch (e) {
        if (e instanceof Errno) throw fail(e.code);
        if (e instanceof Oops) {
          entry.result = 'oops';
          this.changed = true;
          throw new KernelOops({ syscall: SYSCALL[op], path, ...(extra.dest === undefined ? {} : { dest: extra.dest }), log: e.lines });
        }
        const code = (e as { code?: unknown }).code;
        if (isErrnoCode(code)) throw fail(code, e);
        throw e;
      } finally {
        if (MUTATING.has(op)) {
          syncEpfBus(this.vol, this.m, this.modules);
          rebuildRegions(this);
        }
      }
    };
    const result = this.queue.then(call, call);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/** Whether `..` components climb above the start of `rel` ("/pci_ep/../.." does). */
function escapesRoot(rel: string): boolean {
  let depth = 0;
  for (const c of rel.split('/').filter(Boolean)) {
    if (c === '..') depth--;
    else if (c !== '.') depth++;
    if (depth < 0) return true;
  }
  return false;
}

/** An absolute path without a trailing slash or doubled slashes ("." and ".." kept for lookup). */
function normalize(path: string): string {
  const p = ('/' + path).replace(/\/+/g, '/');
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}
