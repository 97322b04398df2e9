// The fake kernel's log ring (kernel/printk/printk.c as dmesg and /dev/kmsg show it) and
// the multi-line reports the kernel prints into it: WARN splats (lib/bug.c, kernel/panic.c
// __warn) and oopses (arch/arm64/mm/fault.c, arch/arm64/kernel/traps.c die), in the formats
// observed on 6.x and 7.3.4 (lib/bug.c, kernel/panic.c).
import type { KernelLogRecord } from './api.js';

export const KERN_ERR = 3;
export const KERN_WARNING = 4;
export const KERN_INFO = 6;

/** Taint flags in kernel/panic.c order; the position of each is fixed in "Tainted: G  …". */
const TAINT_ORDER = ['P', 'F', 'S', 'R', 'M', 'B', 'U', 'D', 'A', 'W', 'O', 'E', 'L', 'K', 'X', 'T', 'N', 'J', 'Q', 'V'];
const TAINT_NAMES: Record<string, string> = { D: 'DIE', W: 'WARN' };

/**
 * Offsets of call-trace frames: the ones observed on 7.3.4 (QEMU lane WARNs and oopses); any other
 * frame gets a stable made-up "+0x<n>/0x<m>" so the line keeps the kernel's shape. Tools
 * should match frames by function name only.
 */
const OBSERVED_FRAMES: Record<string, string> = {
  pci_epc_epf_unlink: '+0x14/0x44',
  pci_epf_test_unbind: '+0x24/0x7c',
  pci_unregister_driver: '+0x44/0x8c',
  pci_epf_test_cmd_handler: '+0x178/0x9c4',
};

export function frame(fn: string): string {
  if (fn.includes('+')) return fn;
  const known = OBSERVED_FRAMES[fn];
  if (known) return fn + known;
  let h = 0;
  for (const c of fn) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  const size = 0x40 + (h % 0x3c0);
  return `${fn}+0x${(((h >>> 10) % (size >> 2)) << 2).toString(16)}/0x${size.toString(16)}`;
}

export interface LogState {
  usec: number;
  records: KernelLogRecord[];
  taint: string[];
  warnOnce: string[];
}

/** Who made the call that the kernel reports on: the process comm and pid. */
export interface Caller {
  comm: string;
  pid: number;
}

export interface SplatContext {
  release: string;
  /** DT root `model` ("linux,dummy-virt"): the `Hardware name:` line. */
  hardware: string;
  newFormat: boolean;
  /** KernelBehaviour.splat: level of the cut-here line, end of the CPU line, " (P)" on the first frame. */
  cutHereLevel: number;
  cpuLineTail: string;
  firstFrameMark: boolean;
  taintFlags: number;
  /** The CPU line carries "UID: 0" (KernelBehaviour.dumpStackUid). */
  uid: boolean;
  caller: Caller;
}

export class Printk {
  constructor(readonly state: LogState, private readonly listeners = new Set<(r: KernelLogRecord) => void>()) {}

  /** Advance the modelled clock (each system call takes a little time). */
  tick(usec = 1000): void {
    this.state.usec += usec;
  }

  log(level: number, text: string): void {
    const record = { level, usec: this.state.usec, text };
    this.state.records.push(record);
    this.state.usec += 7;
    for (const l of this.listeners) l(record);
  }

  /** dev_err/dev_info on a device: "<driver> <device>: message". */
  dev(level: number, driver: string, device: string, text: string): void {
    this.log(level, `${driver} ${device}: ${text}`);
  }

  subscribe(fn: (r: KernelLogRecord) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get tainted(): boolean {
    return this.state.taint.length > 0;
  }

  private taintLine(ctx: SplatContext): string {
    // kernel/panic.c print_tainted(): "Not tainted", or "Tainted: " and one column per flag
    // ("G" when not proprietary); with W alone: "Tainted: G        W           7.3.4" (observed).
    const flags = TAINT_ORDER.slice(0, ctx.taintFlags).map((f, i) => (this.state.taint.includes(f) ? f : i === 0 ? 'G' : ' ')).join('');
    const taint = this.state.taint.length === 0 ? 'Not tainted' : `Tainted: ${flags}`;
    const uid = ctx.uid ? ' UID: 0' : '';
    // The end of the line by version (KernelBehaviour.splat, observed by the differential).
    return `CPU: 0${uid} PID: ${ctx.caller.pid} Comm: ${ctx.caller.comm} ${taint} ${ctx.release} #1${ctx.cpuLineTail}`;
  }

  private taintNames(): string | undefined {
    const set = TAINT_ORDER.filter((f) => this.state.taint.includes(f));
    return set.length === 0 ? undefined : `Tainted: ${set.map((f) => `[${f}]=${TAINT_NAMES[f] ?? f}`).join(', ')}`;
  }

  private addTaint(flag: string): void {
    if (!this.state.taint.includes(flag)) this.state.taint.push(flag);
  }

  /**
   * WARN_ON_ONCE at `site` ("drivers/pci/endpoint/pci-ep-cfs.c:251"): prints the splat the
   * first time per boot and taints W. Returns whether it printed.
   */
  warnOnce(site: string, fn: string, trace: readonly string[], ctx: SplatContext): boolean {
    if (this.state.warnOnce.includes(site)) return false;
    this.state.warnOnce.push(site);
    this.log(ctx.cutHereLevel, '------------[ cut here ]------------');
    const w = ctx.newFormat
      ? `WARNING: ${site} at ${frame(fn)}, CPU#0: ${ctx.caller.comm}/${ctx.caller.pid}`
      : `WARNING: CPU: 0 PID: ${ctx.caller.pid} at ${site} ${frame(fn)}`;
    this.log(KERN_WARNING, w);
    this.log(KERN_WARNING, 'Modules linked in:');
    this.log(KERN_WARNING, this.taintLine(ctx));
    const names = this.taintNames();
    if (names) this.log(KERN_WARNING, names);
    this.log(KERN_WARNING, `Hardware name: ${ctx.hardware} (DT)`);
    this.log(KERN_WARNING, `pc : ${frame(fn)}`);
    this.log(KERN_WARNING, 'Call trace:');
    trace.forEach((f, i) => this.log(KERN_WARNING, ` ${frame(f)}${i === 0 && ctx.firstFrameMark ? ' (P)' : ''}`));
    this.log(KERN_WARNING, '---[ end trace 0000000000000000 ]---');
    this.addTaint('W');
    return true;
  }

  /** A NULL-pointer oops inside a call (observed 7.3.4); taints D. */
  oops(address: string, trace: readonly string[], ctx: SplatContext, extra: readonly string[] = [], workqueue?: string): string[] {
    const start = this.state.records.length;
    this.log(KERN_ERR, `Unable to handle kernel NULL pointer dereference at virtual address ${address}`);
    this.log(KERN_ERR, 'Mem abort info:');
    this.log(KERN_ERR, '  ESR = 0x0000000096000006');
    this.log(KERN_ERR, 'Internal error: Oops: 0000000096000006 [#1]  SMP');
    this.log(KERN_WARNING, 'Modules linked in:');
    this.log(KERN_WARNING, this.taintLine(ctx));
    const names = this.taintNames();
    if (names) this.log(KERN_WARNING, names);
    this.log(KERN_WARNING, `Hardware name: ${ctx.hardware} (DT)`);
    // lib/dump_stack.c print_worker_info: an oops inside a work item names its workqueue.
    if (workqueue !== undefined) this.log(KERN_WARNING, `Workqueue: ${workqueue}`);
    this.log(KERN_WARNING, `pc : ${frame(trace[0]!)}`);
    this.log(KERN_WARNING, 'Call trace:');
    trace.forEach((f, i) => this.log(KERN_WARNING, ` ${frame(f)}${i === 0 && ctx.firstFrameMark ? ' (P)' : ''}`));
    this.log(KERN_WARNING, 'Code: ');
    this.log(KERN_WARNING, '---[ end trace 0000000000000000 ]---');
    // arch/arm64/kernel/traps.c die(): TAINT_DIE is added after the report is printed.
    this.addTaint('D');
    for (const line of extra) this.log(KERN_WARNING, line);
    return this.state.records.slice(start).map((r) => r.text);
  }
}

/** A record as /dev/kmsg serves it: "<level>,<seq>,<usec>,-;<text>". */
export function kmsgLine(r: KernelLogRecord, seq: number): string {
  return `${r.level},${seq},${r.usec},-;${kmsgEscape(r.text)}`;
}

/**
 * /dev/kmsg writes a record's text with every byte below ' ', from 127 up, and '\\' as
 * "\\xNN" (kernel/printk/printk.c msg_add_ext_text); observed 7.3.4: nvmet's
 * "Invalid value 'nonsense\\x0a' for trtype".
 */
export function kmsgEscape(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\xff\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
