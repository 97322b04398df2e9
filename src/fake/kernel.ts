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
import { ITS_COMPATIBLE } from '../doorbell/rules.js';
import type { ErrnoCode } from '../kernel/errno.js';
import { isErrnoCode } from '../kernel/errno.js';
import { KernelError, KernelOops, type KernelOp } from '../kernel/errors.js';
import { kernelBehaviour, type KernelBehaviour } from '../kernel/behaviour.js';
import type { KernelStat, StreamOptions } from '../kernel/port.js';
import type { KernelVersion } from '../kernel/version.js';
import type { FakeHook, FakeKernel, FakeKernelState, FakeOp, FaultRule, KernelLogRecord, OpLogEntry } from './api.js';
import { Errno, Oops, type KernelContext, type MsiDomain, type IrqOps } from './context.js';
import { type CfsView, type CfsNode, kindOf, lookup, children, statOf, readlinkText } from './configfs.js';
import * as cfs from './pci-ep-cfs.js';
import { armFault, takeFault } from './faults.js';
import { IrqTable, type IrqTableState } from './irq.js';
import type { Model } from './model.js';
import { Printk, kmsgLine, type SplatContext } from './printk.js';
import { buildBoard, syncEpfBus } from './sysfs.js';
import { procText, memfsPort, memfsStat, type ProcFile } from './procfs.js';
import { driverInRelease, driverModel, isModelledDriver } from './functions/index.js';
import { EPF_DRIVER_SYMBOL } from '../procfs/kconfig.js';
import { PROC_INTERRUPTS } from '../procfs/interrupts.js';
import { PROC_MOUNTS } from '../procfs/mounts.js';
import { KERNEL_IRQ } from '../sysfs/paths.js';

const MUTATING = new Set<FakeOp>(['write', 'mkdir', 'rmdir', 'symlink', 'unlink']);
const SYSCALL: Record<FakeOp, KernelOp> = {
  read: 'open', write: 'write', mkdir: 'mkdir', rmdir: 'rmdir', symlink: 'symlink', unlink: 'unlink',
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
  private readonly irqTable: IrqTable;
  private readonly vol = new Volume();
  private readonly cfg: ReadonlyMap<string, 'y' | 'm' | 'n'>;
  private readonly overrides: Readonly<Record<string, 'y' | 'm' | 'n'>>;
  private readonly configfsMounted: boolean;
  private readonly modules: Set<string>;
  private readonly domains = new Map<string, MsiDomain>();
  private readonly booted: Promise<void>;
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
    this.modules = new Set([...setup.config].filter(([, v]) => v === 'm').map(([k]) => k));
    this.m = setup.model ?? this.boot();
    this.printk = new Printk(this.m.log);
    this.irqTable = this.m.irq ? IrqTable.fromJSON(this.m.irq as IrqTableState) : IrqTable.fromBoard(this.board.irqs, this.board.cpus, this.v);
    this.irq = {
      request: (chip, hwirq, trigger, action) => this.irqTable.request({ chip, hwirq, trigger, action }),
      free: (virq) => this.irqTable.free(virq),
    };
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
        if (isModelledDriver(d) && driverInRelease(d, this.v) && this.cfg.get(EPF_DRIVER_SYMBOL[d]) !== 'm')
          m.drivers[d] = { loaded: true, builtin: true, header: { ...driverModel(d).defaultHeader } };
    m.log.usec = 1_500_000;
    return m;
  }

  /** What pci-ep-msi.c will find for each EPC: msi-map for ID 0 → an ITS (src/devicetree/msi.ts). */
  private async resolveDomains(): Promise<void> {
    const tree = new DeviceTree(memfsPort(this.vol, this.origin));
    for (const c of this.board.controllers) {
      let domain: MsiDomain = { found: false, immutable: false };
      try {
        const r = await resolveMsiMap(tree, await deviceChain(tree, c.dtPath), 0);
        if (r.kind === 'mapped') {
          const compat = await tree.compatible(r.target);
          const its = compat.includes(ITS_COMPATIBLE) && this.config('ARM_GIC_V3_ITS') === 'y';
          domain = { found: its || (await tree.flag(r.target, 'msi-controller')), immutable: its, deviceId: r.deviceId };
        }
      } catch (e) {
        // A malformed msi-map: of_map_id logs an error and finds no domain.
        if (!(e instanceof DtParseError)) throw e;
      }
      this.domains.set(c.name, domain);
    }
  }

  // ---- KernelContext ---------------------------------------------------------------------

  get tainted(): boolean {
    return this.printk.tainted;
  }
  splat(): SplatContext {
    const model = this.board.dt.props['model'];
    const hardware = model?.kind === 'strings' ? model.values[0]! : this.board.title;
    return { release: this.release, hardware, newFormat: this.b.newWarnFormat, uid: this.b.dumpStackUid, caller: { comm: 'node', pid: process.pid } };
  }
  hook(op: FakeHook, path: string): ErrnoCode | undefined {
    return takeFault(this.m.faults, op, path);
  }
  config(symbol: string): 'y' | 'm' | 'n' {
    return this.cfg.get(symbol) ?? 'n';
  }
  msiDomain(epc: string): MsiDomain {
    return this.domains.get(epc) ?? { found: false, immutable: false };
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
          return Buffer.from(r.file === 'interrupts' ? this.irqTable.procInterrupts() : procText(r.file, { taint: this.m.log.taint, configfs: this.cfg.get('CONFIGFS_FS') !== 'n', configfsMounted: this.configfsMounted }));
        case 'irq':
          return Buffer.from(this.irqFile(r.parts));
        case 'kmsg':
          throw new Errno('EAGAIN');
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
      if (r.fs !== 'memfs') throw new Errno('EACCES');
      const st = this.vol.statSync(p);
      if (st.isDirectory()) throw new Errno('EISDIR');
      if ((st.mode & 0o200) === 0) throw new Errno('EACCES');
      this.vol.writeFileSync(p, bytes);
      return bytes.length;
    });
  }

  mkdir(path: string): Promise<void> {
    return this.run('mkdir', path, {}, (_p, r) => {
      const { parent, name } = this.parentOf(r);
      // VFS: an existing name is EEXIST before the filesystem is asked.
      if (children(this.view(), parent).some(([c]) => c === name)) throw new Errno('EEXIST');
      cfs.mkdir(this.view(), parent, name);
    });
  }

  rmdir(path: string): Promise<void> {
    return this.run('rmdir', path, {}, (_p, r) => {
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
      if (!['controller', 'sub', 'function'].includes(parent.t)) throw new Errno('EPERM');
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
        return readlinkText(n);
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
    if (this.route(normalize(path)).fs !== 'kmsg') throw new KernelError({ code: 'ENOENT', syscall: 'open', path });
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

  // ---- internals ----------------------------------------------------------------------------

  private view(): CfsView {
    return { k: this, pciEp: this.cfg.get('PCI_ENDPOINT_CONFIGFS') !== 'n' };
  }

  private route(p: string): Route {
    if (this.configfsMounted && this.cfg.get('CONFIGFS_FS') !== 'n' && (p === CONFIGFS || p.startsWith(CONFIGFS + '/')))
      return { fs: 'configfs', parts: p.slice(CONFIGFS.length).split('/').filter(Boolean) };
    if (p === PROC_INTERRUPTS) return { fs: 'proc', file: 'interrupts' };
    if (p === PROC_MOUNTS || p === '/proc/self/mounts') return { fs: 'proc', file: 'mounts' };
    if (p === '/proc/sys/kernel/tainted') return { fs: 'proc', file: 'tainted' };
    if (p === '/proc/filesystems') return { fs: 'proc', file: 'filesystems' };
    if (p === KERNEL_IRQ || p.startsWith(KERNEL_IRQ + '/')) return { fs: 'irq', parts: p.slice(KERNEL_IRQ.length).split('/').filter(Boolean) };
    if (p === '/dev/kmsg') return { fs: 'kmsg' };
    return { fs: 'memfs' };
  }

  private parentOf(r: Route): { parent: CfsNode; name: string } {
    // kernfs (sysfs) and procfs have no mkdir/symlink operations: EPERM.
    if (r.fs !== 'configfs') throw new Errno('EPERM');
    if (r.parts.length === 0) throw new Errno('EEXIST');
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
        return { kind: 'file', mode: 0o444, size: 0, nlink: 1 };
      case 'kmsg':
        return { kind: 'other', mode: 0o644, size: 0, nlink: 1 };
      case 'irq': {
        if (r.parts.length === 0) return { kind: 'dir', mode: 0o755, size: 0, nlink: 2 + this.irqTable.virqs().length };
        if (!this.irqTable.get(Number(r.parts[0]))) throw new Errno('ENOENT');
        if (r.parts.length === 1) return { kind: 'dir', mode: 0o755, size: 0, nlink: 2 };
        if (r.parts.length === 2 && r.parts[1]! in this.irqTable.sysfsAttributes(Number(r.parts[0]))!) return { kind: 'file', mode: 0o444, size: 4096, nlink: 1 };
        throw new Errno('ENOENT');
      }
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
      this.opLog.push(entry);
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
        const result = fn(p, this.route(p));
        return result;
      } catch (e) {
        if (e instanceof Errno) throw fail(e.code);
        if (e instanceof Oops) {
          entry.result = 'oops';
          throw new KernelOops({ syscall: SYSCALL[op], path, ...(extra.dest === undefined ? {} : { dest: extra.dest }), log: e.lines });
        }
        const code = (e as { code?: unknown }).code;
        if (isErrnoCode(code)) throw fail(code, e);
        throw e;
      } finally {
        if (MUTATING.has(op)) syncEpfBus(this.vol, this.m, this.modules);
      }
    };
    const result = this.queue.then(call, call);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/** An absolute path without a trailing slash or doubled slashes ("." and ".." kept for lookup). */
function normalize(path: string): string {
  const p = ('/' + path).replace(/\/+/g, '/');
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}
