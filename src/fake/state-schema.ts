// The shape of a --mock-state file (FakeKernelState with its Model), checked before the fake
// kernel loads it: a hand-edited or truncated file is refused with the field that is wrong,
// never half-loaded into a kernel that then misbehaves. Mirrors api.ts, model.ts, printk.ts,
// faults.ts and irq.ts; a field added there is added here (the round-trip test catches a miss).
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { ERRNO, type ErrnoCode } from '../kernel/errno.js';
import { parseRelease } from '../kernel/version.js';
import type { FakeKernelState } from './api.js';
import { KERNEL_MODULES, type KernelModule } from './modules.js';

const driverName = z.enum(['pci_epf_test', 'pci_epf_vntb', 'pci_epf_ntb', 'pci_epf_mhi', 'nvmet_pci_epf']);
const errno = z.enum(Object.keys(ERRNO) as [ErrnoCode, ...ErrnoCode[]]);
const uint = z.int().check(z.nonnegative());
const name = z.string().check(z.minLength(1));
// A controller is one directory entry (controllers/<epc>, /sys/class/pci_epc/<epc>): one path
// component (fs/namei.c), never "." or "..".
const isEntry = (s: string): boolean => s.length > 0 && !s.includes('/') && !s.includes('\0') && s !== '.' && s !== '..';
const ENTRY = 'a kernel entry name: no "/" or NUL, not "." or ".."';
const entry = z.string().check(z.refine(isEntry, { message: ENTRY }));
const tristate = z.enum(['y', 'm', 'n']);

const header = z.strictObject({
  vendorid: uint,
  deviceid: uint,
  revid: uint,
  progif_code: uint,
  subclass_code: uint,
  baseclass_code: uint,
  cache_line_size: uint,
  subsys_vendor_id: uint,
  subsys_id: uint,
  interrupt_pin: uint,
});

const device = z.object({
  name,
  driver: driverName,
  index: uint,
  probed: z.boolean(),
  isBound: z.boolean(),
  isVf: z.boolean(),
  msiInterrupts: uint,
  msixInterrupts: uint,
  typeGroup: z.record(z.string(), z.union([z.number(), z.string()])),
  epc: z.optional(name),
  funcNo: z.optional(uint),
  secEpc: z.optional(name),
  secFuncNo: z.optional(uint),
  vfs: z.array(name),
  pf: z.optional(name),
  vfuncNo: z.optional(uint),
  doorbellVirqs: z.optional(z.array(uint)),
  doorbellEmbedded: z.optional(z.string()),
  dir: z.optional(name),
  nvmetCtrl: z.optional(z.object({ subsys: z.string(), port: z.string(), cntlid: uint })),
  host: z.optional(
    z.object({
      bars: z.record(z.string(), uint),
      mem: z.record(z.string(), z.record(z.string(), z.int().check(z.gte(0), z.lte(255)))),
      inbound: z.record(z.string(), z.string().check(z.refine((s) => s === 'cleared' || /^[0-9]+$/.test(s), { message: 'a physical address (decimal) or "cleared"' }))),
      cmdStopped: z.optional(z.boolean()),
    }),
  ),
});

const functionDir = z.object({
  driver: driverName,
  name,
  device: name,
  vfLinks: z.record(z.string(), name),
  primary: z.record(z.string(), name),
  secondary: z.record(z.string(), name),
});

const controller = z.object({
  name: entry,
  start: z.boolean(),
  links: z.record(z.string(), name),
  epfs: z.array(name),
  funcNos: z.array(uint),
  edmaDbVirq: z.optional(uint),
  hostLink: z.optional(z.enum(['up', 'down'])),
});

const log = z.object({
  usec: uint,
  records: z.array(z.object({ level: z.int().check(z.gte(0), z.lte(7)), usec: uint, text: z.string() })),
  taint: z.array(z.string()),
  warnOnce: z.array(z.string()),
});

const fault = z.object({
  op: z.enum(['read', 'write', 'create', 'rename', 'mkdir', 'rmdir', 'symlink', 'unlink', 'readdir', 'readlink', 'stat', 'lstat', 'epc_start', 'epf_bind', 'alloc_doorbell']),
  path: z.string(),
  errno,
  skip: uint,
});

const irqTable = z.object({
  release: name,
  cpus: z.int().check(z.positive()),
  nrIrqs: uint,
  chipWidth: uint,
  bootIrqs: z.array(uint),
  firstDynamic: uint,
  irqs: z.array(
    z.object({
      irq: uint,
      chip: z.string(),
      hwirq: z.optional(uint),
      trigger: z.enum(['Edge', 'Level']),
      descName: z.optional(z.string()),
      actions: z.array(z.string()),
      counts: z.array(uint),
    }),
  ),
  ipis: z.array(z.array(uint)),
  err: uint,
});

const traceEvent = z.object({ enable: z.boolean(), filter: z.optional(z.string()), filterError: z.optional(z.string()) });
const traceArray = z.object({
  on: z.boolean(),
  events: z.object({ irq_handler_entry: traceEvent, irq_handler_exit: traceEvent }),
  buffer: z.array(z.object({ seq: uint, line: z.string() })),
  written: uint,
  lost: uint,
  clock: z.optional(z.string()),
});
const tracefs = z.object({
  mounted: z.boolean(),
  top: traceArray,
  instances: z.record(z.string().check(z.refine(isEntry, { message: ENTRY })), traceArray),
  seq: uint,
  fires: z.array(z.object({ seq: uint, usec: uint, irq: uint, cpu: uint, names: z.array(z.string()), comm: z.string(), pid: uint })),
});

/** src/fake/nvmet-configfs.ts NvmetState. */
const nvmetNamespace = z.object({ devicePath: z.nullable(z.string()), enabled: z.boolean(), bufferedIo: z.boolean(), anaGrpid: uint, resvEnable: z.boolean() });
const nvmet = z.object({
  subsystems: z.record(
    z.string(),
    z.object({
      allowAnyHost: z.boolean(),
      vendorId: uint,
      subsysVendorId: uint,
      model: z.string(),
      qidMax: uint,
      cntlidMin: uint,
      cntlidMax: uint,
      ieeeOui: uint,
      serial: z.string(),
      namespaces: z.record(z.string(), nvmetNamespace),
      allowedHosts: z.record(z.string(), z.string()),
      cntlids: z.array(uint),
    }),
  ),
  ports: z.record(
    z.string(),
    z.object({
      trtype: z.string(),
      adrfam: z.string(),
      traddr: z.string(),
      trsvcid: z.string(),
      inlineDataSize: z.int(),
      maxQueueSize: z.int(),
      mdts: z.int(),
      subsystems: z.record(z.string(), z.string()),
    }),
  ),
  hosts: z.array(z.string()),
});

const model = z
  .object({
    drivers: z.partialRecord(driverName, z.object({ loaded: z.boolean(), builtin: z.boolean(), header })),
    devices: z.record(z.string(), device),
    functions: z.record(z.string(), functionDir),
    controllers: z.record(z.string(), controller),
    log,
    faults: z.array(fault),
    irq: z.optional(irqTable),
    tracefs: z.optional(tracefs),
    nvmet: z.optional(nvmet),
    modules: z.optional(z.array(z.enum(KERNEL_MODULES as [KernelModule, ...KernelModule[]]))),
  })
  .check(
    z.superRefine((m, ctx) => {
    // The model is a graph keyed by name: a reference to an entry that is not there would
    // surface later as a crash deep inside the fake kernel.
    for (const [key, f] of Object.entries(m.functions))
      if (!Object.hasOwn(m.devices, f.device)) ctx.addIssue({ code: 'custom', path: ['functions', key, 'device'], message: `names device "${f.device}", which is not in model.devices` });
    for (const [key, c] of Object.entries(m.controllers)) {
      if (!isEntry(key)) ctx.addIssue({ code: 'custom', path: ['controllers', key], message: ENTRY });
      if (c.name !== key) ctx.addIssue({ code: 'custom', path: ['controllers', key, 'name'], message: `is "${c.name}", but the controller is keyed "${key}"` });
      for (const [link, fn] of Object.entries(c.links))
        if (!Object.hasOwn(m.functions, fn)) ctx.addIssue({ code: 'custom', path: ['controllers', key, 'links', link], message: `names function "${fn}", which is not in model.functions` });
      for (const [i, d] of c.epfs.entries())
        if (!Object.hasOwn(m.devices, d)) ctx.addIssue({ code: 'custom', path: ['controllers', key, 'epfs', i], message: `names device "${d}", which is not in model.devices` });
    }
    }),
  );

// English messages ("expected number, received string"): zod/mini ships without a locale.
z.config(en());

/** Builds the schema for the boards this epctl knows. */
export function fakeStateSchema(boards: readonly string[]): z.ZodMiniType<FakeKernelState> {
  return z.object({
    format: z.literal('epctl-fake-kernel'),
    version: z.literal(1),
    board: z.string().check(z.refine((b) => boards.includes(b), { message: `not a built-in board (known: ${boards.join(', ')})` })),
    release: z.string().check(z.refine((r) => parseRelease(r) !== undefined, { message: 'not a kernel release such as 7.3.4' })),
    config: z.optional(z.record(z.string(), tristate)),
    configfsMounted: z.optional(z.boolean()),
    model,
  }) as unknown as z.ZodMiniType<FakeKernelState>;
}

/** model.devices["pci_epf_test.0"].index, model.irq.irqs[3]: keys with dots stay readable. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((k, i) => (typeof k === 'number' ? `[${k}]` : typeof k === 'string' && /^[A-Za-z_$][\w$]*$/.test(k) ? `${i ? '.' : ''}${k}` : `[${JSON.stringify(String(k))}]`))
    .join('');
}

/** "model.devices["pci_epf_test.0"].index: expected number, received string" for the first few issues. */
export function describeIssues(error: z.core.$ZodError, max = 3): string {
  const parts = error.issues.slice(0, max).map((i) => `${i.path.length ? fieldPath(i.path) : '(top level)'}: ${i.message}`);
  const more = error.issues.length - parts.length;
  return parts.join('; ') + (more > 0 ? `; and ${more} more` : '');
}
