// The NVMe endpoint's half of a plan: what a function's `nvme` object needs in the nvmet tree
// (drivers/nvme/target/configfs.c) — a subsystem with allow_any_host and its namespaces, a
// `pci` port, the port → subsystem link — and the preflight the kernel does too late to help
// (nvmet_pci_epf_epc_init only logs; `ln -s` returns 0 either way). Pure, like plan.ts.
//
// The traps it plans around (drivers/nvme/target/configfs.c, pci-epf.c; observed on 7.3.4):
// - While an nvmet_pci_epf controller exists, writing attr_qid_max or unlinking the port →
//   subsystem link calls the fabrics ops' delete_ctrl, which nvmet_pci_epf does not have: a
//   NULL-pointer oops. So a subsystem or port in use is changed only after the function using
//   it is unlinked (its unbind destroys the controller).
// - attr_model, attr_serial, attr_firmware, attr_version and attr_ieee_oui refuse a new value
//   once a host has identified the controller (subsys_discovered), and the port's addr_*
//   refuse any write while a subsystem is linked (EACCES): a changed subsystem or port is
//   made again, never edited.
// - device_path is EBUSY while its namespace is enabled, and enable before device_path is EINVAL.
// - nvmet_pci_epf makes a random host NQN for its controller (create_ctrl: uuid_gen), so only
//   attr_allow_any_host = 1 lets it connect ("connect by host … not allowed").
import type { Config, FunctionConfig } from '../config/schema.js';
import type { BoardState } from '../probe/probe.js';
import type { ObservedFunction, PciEpState } from '../configfs/observe.js';
import { attributeText } from '../configfs/observe.js';
import { functionKey } from '../configfs/paths.js';
import {
  NULL_BLK_DEVICE,
  NVMET_NR_QUEUES,
  NVMET_SN_MAX_SIZE,
  NVMET,
  namespacePath,
  hostPath,
  isNvmetKey,
  nvmetKey,
  portPath,
  portSubsystemLink,
  subsystemPath,
  type NvmetState,
  type ObservedPort,
  type ObservedSubsystem,
} from '../configfs/nvmet.js';
import { readsAs, writeText, type DeclaredValue } from './attributes.js';
import type { PlanOp, Refusal } from './plan.js';

/** The port id when `nvme.port` is not given. */
export const DEFAULT_NVMET_PORT = 1;
/** PCI IDs, written in hex as the how-to writes them (kstrtou16 base 0 takes either). */
const HEX = new Set(['attr_vendor_id', 'attr_subsys_vendor_id']);

export interface NvmeWant {
  field: string;
  fc: FunctionConfig & { nvme: NonNullable<FunctionConfig['nvme']> };
  key: string;
  epc: string | null;
}

export interface NvmePlanInput {
  config: Config;
  board: BoardState;
  pciEp: PciEpState;
  nvmet: NvmetState;
  /** Owned keys (functions and nvmet objects). */
  owned: ReadonlySet<string>;
  /** Function keys plan.ts tears down already. */
  removed: ReadonlySet<string>;
  /** Whether each declared device path (and /dev/nullb0) exists, as converge saw it. */
  devices: ReadonlyMap<string, boolean>;
  force: boolean;
}

export interface NvmePlan {
  /** modprobe null_blk, when a namespace wants it and /dev/nullb0 is absent. */
  modules: PlanOp[];
  /** nvmet objects taken down (after the pci_ep teardowns: no controller uses them then). */
  teardown: PlanOp[];
  /** nvmet objects made or remade (before the pci_ep builds: the function's link needs them). */
  build: PlanOp[];
  /** Functions that must be unlinked and made again because their nvmet side changes under them. */
  rebuild: Map<string, string>;
  refusals: Refusal[];
  notes: string[];
  /** nvmet keys owned after the plan. */
  owned: string[];
}

/** What a subsystem, its namespaces and its port should read. */
interface Desired {
  want: NvmeWant;
  nqn: string;
  port: number;
  /** attr_* name → value, in the order the how-to writes them. */
  attributes: [string, DeclaredValue][];
  namespaces: { nsid: number; device: string; field: string }[];
}

/** The type-group values plan.ts writes into the function's nvme/ group. */
export function nvmeGroup(n: NonNullable<FunctionConfig['nvme']>): Record<string, DeclaredValue> {
  return { portid: n.port ?? DEFAULT_NVMET_PORT, subsysnqn: n.nqn, ...(n.mdts_kb !== undefined ? { mdts_kb: n.mdts_kb } : {}) };
}

/** The exact read-back of attr_serial for S (configfs.c: "%.*s\n" of a field memcpy_and_pad filled with blanks). */
const serialReadBack = (s: string): string => `${s.padEnd(NVMET_SN_MAX_SIZE, ' ')}\n`;

function desired(w: NvmeWant, subsystemAttrs: readonly string[] | undefined): Desired {
  const n = w.fc.nvme;
  const attributes: [string, DeclaredValue][] = [['attr_allow_any_host', true]];
  if (n.model !== undefined) attributes.push(['attr_model', n.model]);
  if (n.serial !== undefined) attributes.push(['attr_serial', n.serial]);
  if (n.vendor_id !== undefined) attributes.push(['attr_vendor_id', n.vendor_id]);
  if (n.subsys_vendor_id !== undefined) attributes.push(['attr_subsys_vendor_id', n.subsys_vendor_id]);
  if (n.queue_pairs !== undefined) attributes.push(['attr_qid_max', n.queue_pairs]);
  // pci-epf.c create_ctrl: "Protection information (PI) is not supported" (ENOTSUPP).
  if (subsystemAttrs?.includes('attr_pi_enable')) attributes.push(['attr_pi_enable', false]);
  return {
    want: w,
    nqn: n.nqn,
    port: n.port ?? DEFAULT_NVMET_PORT,
    attributes,
    namespaces: n.namespaces.map((ns, i) => ({ nsid: ns.nsid ?? i + 1, device: ns.device ?? NULL_BLK_DEVICE, field: `${w.field}.nvme.namespaces.${i}` })),
  };
}

/** Whether attribute NAME reads as VALUE. */
function attrReads(readBack: string | undefined, name: string, value: DeclaredValue): boolean {
  if (readBack === undefined) return false;
  if (name === 'attr_serial') return readBack === serialReadBack(String(value));
  return readsAs(readBack, value);
}

/** Why the observed subsystem differs from D, or undefined when it matches. */
function subsystemDiff(s: ObservedSubsystem, d: Desired): string | undefined {
  for (const [name, value] of d.attributes) {
    const now = attributeText(s.attributes[name]);
    if (!attrReads(now, name, value)) return `${name} reads ${JSON.stringify(now?.trimEnd() ?? '(absent)')}, the config wants ${JSON.stringify(String(value))}`;
  }
  const want = new Map(d.namespaces.map((n) => [n.nsid, n.device]));
  for (const ns of s.namespaces) {
    const dev = want.get(ns.nsid);
    if (dev === undefined) return `namespace ${ns.nsid} is not in the config`;
    const path = attributeText(ns.attributes['device_path'])?.trimEnd();
    if (path !== dev) return `namespace ${ns.nsid} serves ${path ?? '(nothing)'}, the config wants ${dev}`;
    if (attributeText(ns.attributes['enable']) !== '1\n') return `namespace ${ns.nsid} is not enabled`;
  }
  for (const nsid of want.keys()) if (!s.namespaces.some((ns) => ns.nsid === nsid)) return `namespace ${nsid} is missing`;
  return undefined;
}

/** Why the observed port is not a pci port, or undefined. */
function portDiff(p: ObservedPort): string | undefined {
  const t = attributeText(p.attributes['addr_trtype'])?.trimEnd();
  return t === 'pci' ? undefined : `its addr_trtype is ${JSON.stringify(t ?? '(unreadable)')}, not "pci"`;
}

/** The nvme/ group of an observed nvmet_pci_epf function: the port and subsystem it names. */
export function functionNvme(f: ObservedFunction): { port: number; nqn: string } | undefined {
  if (f.driver !== 'nvmet_pci_epf' || !f.typeGroup) return undefined;
  const port = Number(attributeText(f.typeGroup.attributes['portid'])?.trim());
  const nqn = attributeText(f.typeGroup.attributes['subsysnqn'])?.replace(/\n$/, '');
  return Number.isInteger(port) && nqn !== undefined ? { port, nqn } : undefined;
}

export function planNvme(input: NvmePlanInput, wants: readonly NvmeWant[]): NvmePlan {
  const { board, pciEp, nvmet } = input;
  const refusals: Refusal[] = [];
  const notes: string[] = [];
  const refuse = (where: string, reason: string, fix: string): void => void refusals.push({ where, reason, fix });
  /** A rule the kernel does not enforce (documented limits): --force turns it into a note. */
  const preflight = (where: string, reason: string, fix: string): void =>
    input.force ? void notes.push(`--force: skipped the NVMe preflight for ${where}: ${reason}`) : refuse(where, reason, fix);
  const modules: PlanOp[] = [];
  const teardown: PlanOp[] = [];
  const build: PlanOp[] = [];
  const rebuild = new Map<string, string>();
  // What epctl made and is still on the board; the declared objects join below, removed ones leave.
  const onBoard = new Set([...nvmet.subsystems.map((s) => nvmetKey(s.path)), ...nvmet.ports.map((p) => nvmetKey(p.path))]);
  const owned = new Set([...input.owned].filter((k) => isNvmetKey(k) && onBoard.has(k)));

  // ---- the configs themselves ----
  const subsysAttrs = nvmet.subsystems[0] ? Object.keys(nvmet.subsystems[0].attributes) : undefined;
  const all = wants.map((w) => desired(w, subsysAttrs));
  for (const [i, d] of all.entries()) {
    const other = all.slice(0, i).find((o) => o.nqn === d.nqn || o.port === d.port);
    if (other)
      refuse(
        `${d.want.field}.nvme.${other.nqn === d.nqn ? 'nqn' : 'port'}`,
        `${d.want.key} and ${other.want.key} both use ${other.nqn === d.nqn ? `subsystem ${d.nqn}` : `port ${d.port}`}`,
        'give each NVMe endpoint function its own nqn and port',
      );
  }

  // ---- preflight: the limits pci-epf.c and Documentation/nvme/nvme-pci-endpoint-target.rst set ----
  for (const d of all) {
    const { fc, field } = d.want;
    const n = fc.nvme;
    const vectors = fc.msix_interrupts ?? fc.msi_interrupts;
    const which = fc.msix_interrupts !== undefined ? 'msix_interrupts' : 'msi_interrupts';
    // epc_init: max queues = the vectors (MSI-X if the EPC has it, else MSI), and fewer than 2 is
    // "Invalid maximum number of queues"; the admin queue takes a vector too.
    if (vectors === undefined) refuse(`${field}.msix_interrupts`, 'nvmet_pci_epf needs interrupt vectors: one for the admin queue and one per I/O queue pair', `give msix_interrupts (or msi_interrupts where the controller has no MSI-X) of at least ${(n.queue_pairs ?? 1) + 1}`);
    else if (vectors < 2) refuse(`${field}.${which}`, `${vectors} vector leaves no I/O queue: nvmet_pci_epf_epc_init logs "Invalid maximum number of queues ${vectors}" and makes no controller`, `set ${which} to at least ${(n.queue_pairs ?? 1) + 1}`);
    else if (n.queue_pairs !== undefined && vectors < n.queue_pairs + 1)
      refuse(`${field}.${which}`, `${n.queue_pairs} I/O queue pairs and the admin queue need ${n.queue_pairs + 1} vectors, and ${which} gives ${vectors}: the host would get ${vectors - 1} I/O queues`, `set ${which} to ${n.queue_pairs + 1}, or queue_pairs to ${vectors - 1}`);
    const qp = n.queue_pairs ?? (vectors !== undefined ? Math.min(vectors, NVMET_NR_QUEUES) - 1 : undefined);
    if (qp !== undefined && board.onlineCpus !== null && qp > board.onlineCpus)
      preflight(`${field}.nvme.queue_pairs`, `${qp} I/O queue pairs on a board with ${board.onlineCpus} online CPUs: the NVMe target core limits I/O queues to the online CPUs (Documentation/nvme/nvme-pci-endpoint-target.rst)`, `set nvme.queue_pairs to ${board.onlineCpus} or fewer${n.queue_pairs === undefined ? ` (without it, the vectors give ${qp})` : ''}`);
    const ctrl = d.want.epc === null ? undefined : board.controllers.find((c) => c.name === d.want.epc);
    // pci-epf.c nvmet_pci_epf_configure_bar: the register BAR is the first free BAR and must be
    // BAR 0 ("BAR 0 is not free", -ENODEV at bind), set 64-bit.
    if (ctrl?.doorbell.reservedBar === 0)
      refuse(`${field}.controller`, `${ctrl.name} reserves BAR 0, and nvmet_pci_epf puts the NVMe registers in BAR 0 (its bind fails: "BAR 0 is not free")`, 'put the NVMe endpoint on another controller');
    const windows = ctrl?.outboundWindows ?? null;
    if (qp !== undefined && windows !== null && qp + 1 > windows - 2)
      preflight(`${field}.nvme.queue_pairs`, `${qp + 1} completion queues (the admin queue's and ${qp}) need ${qp + 3} outbound windows (one per completion queue, one for interrupts, one for MMIO), and ${d.want.epc} has ${windows}: PCI address mapping can fail under load (Documentation/nvme/nvme-pci-endpoint-target.rst)`, `set nvme.queue_pairs to ${Math.max(windows - 3, 1)} or fewer`);
  }

  // ---- null_blk ----
  const wantsNullBlk = all.some((d) => d.want.fc.nvme.namespaces.some((ns) => ns.null_blk));
  if (wantsNullBlk && !input.devices.get(NULL_BLK_DEVICE)) {
    if (board.kernel.config['BLK_DEV_NULL_BLK'] === 'n' || board.kernel.config['BLK_DEV_NULL_BLK'] === 'y')
      refuse(all.find((d) => d.want.fc.nvme.namespaces.some((ns) => ns.null_blk))!.want.field + '.nvme.namespaces', board.kernel.config['BLK_DEV_NULL_BLK'] === 'n' ? 'the kernel was built without CONFIG_BLK_DEV_NULL_BLK, so there is no null_blk test device' : `null_blk is built in but ${NULL_BLK_DEVICE} does not exist (booted with null_blk.nr_devices=0?)`, 'give a block device or file as device instead');
    else modules.push({ kind: 'modprobe', module: 'null_blk', appears: NULL_BLK_DEVICE });
  }
  for (const d of all)
    for (const [i, ns] of d.want.fc.nvme.namespaces.entries())
      if (ns.device !== undefined && input.devices.get(ns.device) === false)
        refuse(`${d.want.field}.nvme.namespaces.${i}.device`, `${ns.device} does not exist on the board, and nvmet_ns_enable would fail to open it`, 'give an existing block device or file (ls -l /dev/disk/by-id), or null_blk: true for a test device');

  // ---- who uses what: live controllers must be gone before their subsystem or port changes ----
  /** Linked nvmet_pci_epf functions that stay linked after plan.ts's teardowns, with what they use. */
  const live = pciEp.functions
    .filter((f) => f.driver === 'nvmet_pci_epf' && (f.controllers.length > 0 || f.primary !== null) && !input.removed.has(functionKey(f.driver, f.name)))
    .flatMap((f) => {
      const u = functionNvme(f);
      return u ? [{ key: functionKey(f.driver, f.name), ...u }] : [];
    });
  const declaredKeys = new Set(wants.map((w) => w.key));
  /** Frees subsystem NQN / port ID of live controllers: the config's own functions are rebuilt; a foreign one refuses. */
  const release = (what: { nqn?: string; port?: number }, why: string, where: string): boolean => {
    let ok = true;
    for (const l of live) {
      if (!(l.nqn === what.nqn || l.port === what.port)) continue;
      if (declaredKeys.has(l.key)) rebuild.set(l.key, why);
      else {
        refuse(where, `${why}, but ${l.key} (not in the config) has a controller on it, and changing it under a live nvmet_pci_epf controller oopses the kernel (no delete_ctrl in its fabrics ops)`, `unlink ${l.key} from its controller first, or leave ${what.nqn !== undefined ? `subsystem ${what.nqn}` : `port ${what.port}`} out of the config`);
        ok = false;
      }
    }
    return ok;
  };

  const takeDownSubsystem = (s: ObservedSubsystem, ops: PlanOp[]): void => {
    const key = nvmetKey(s.path);
    for (const p of nvmet.ports)
      for (const l of p.subsystems)
        if (l.nqn === s.nqn) ops.push({ kind: 'nvmet-unlink', path: `${p.path}/subsystems/${l.name}`, target: s.path, owner: key });
    // configfs_rmdir: a group that still holds links is ENOTEMPTY.
    for (const h of s.allowedHosts) ops.push({ kind: 'nvmet-unlink', path: `${s.path}/allowed_hosts/${h.name}`, target: hostPath(h.nqn), owner: key });
    for (const ns of s.namespaces) {
      if (attributeText(ns.attributes['enable']) === '1\n') ops.push({ kind: 'write', path: `${ns.path}/enable`, value: '0\n', declared: false, fn: key, before: { text: '1\n' } });
      ops.push({ kind: 'nvmet-rmdir', path: ns.path, owner: null, was: { kind: 'namespace', attributes: ns.attributes } });
    }
    ops.push({ kind: 'nvmet-rmdir', path: s.path, owner: key, was: { kind: 'subsystem', attributes: s.attributes } });
  };
  const takeDownPort = (p: ObservedPort, ops: PlanOp[], skipLinksTo: ReadonlySet<string>): void => {
    for (const l of p.subsystems) if (!skipLinksTo.has(l.nqn)) ops.push({ kind: 'nvmet-unlink', path: `${p.path}/subsystems/${l.name}`, target: subsystemPath(l.nqn), owner: nvmetKey(p.path) });
    ops.push({ kind: 'nvmet-rmdir', path: p.path, owner: nvmetKey(p.path), was: { kind: 'port', attributes: p.attributes } });
  };

  // ---- each declared endpoint: its subsystem, its port, the link ----
  const removedSubsystems = new Set<string>();
  for (const d of all) {
    const key = nvmetKey(subsystemPath(d.nqn));
    const portKey = nvmetKey(portPath(d.port));
    owned.add(key);
    owned.add(portKey);
    const s = nvmet.subsystems.find((x) => x.nqn === d.nqn);
    let makeSubsystem = !s;
    if (s) {
      const why = subsystemDiff(s, d);
      if (why !== undefined) {
        const foreignPorts = nvmet.ports.filter((p) => p.id !== d.port && p.subsystems.some((l) => l.nqn === d.nqn));
        if (foreignPorts.length)
          refuse(`${d.want.field}.nvme.nqn`, `subsystem ${d.nqn} must be made again (${why}), and it is also exported on port ${foreignPorts.map((p) => p.id).join(', ')}`, `remove those links (rm ${foreignPorts.map((p) => portSubsystemLink(p.name, d.nqn)).join(' ')}) or give this endpoint its own nqn`);
        else if (release({ nqn: d.nqn }, `subsystem ${d.nqn} changes (${why})`, `${d.want.field}.nvme`)) {
          notes.push(`${d.nqn}: made again: ${why} (model, serial and the queue count cannot change under a controller a host has seen)`);
          takeDownSubsystem(s, teardown);
          removedSubsystems.add(d.nqn);
          makeSubsystem = true;
        }
      }
    }
    if (makeSubsystem) {
      build.push({ kind: 'mkdir', path: subsystemPath(d.nqn), fn: key, reason: 'new' });
      for (const [name, value] of d.attributes) {
        if (name === 'attr_pi_enable') continue; // a new subsystem starts with PI off
        build.push({ kind: 'write', path: `${subsystemPath(d.nqn)}/${name}`, value: writeText(value, HEX.has(name)), declared: value, fn: key, before: 'none', ...(name === 'attr_serial' ? { readBack: serialReadBack(String(value)) } : {}) });
      }
      for (const ns of d.namespaces) {
        const p = namespacePath(d.nqn, ns.nsid);
        build.push({ kind: 'mkdir', path: p, fn: key, reason: 'new' });
        // device_path first: enable before it is EINVAL (observed 7.3.4).
        build.push({ kind: 'write', path: `${p}/device_path`, value: writeText(ns.device), declared: ns.device, fn: key, before: 'none' });
        build.push({ kind: 'write', path: `${p}/enable`, value: '1\n', declared: true, fn: key, before: 'none' });
      }
    }
    const p = nvmet.ports.find((x) => x.id === d.port);
    let makePort = !p;
    if (p) {
      const why = portDiff(p);
      const others = p.subsystems.filter((l) => l.nqn !== d.nqn);
      if (why !== undefined) {
        if (others.length) refuse(`${d.want.field}.nvme.port`, `port ${d.port} ${why}, and it also exports ${others.map((l) => l.nqn).join(', ')}`, 'give this endpoint a port of its own');
        else if (release({ port: d.port }, `port ${d.port} changes (${why})`, `${d.want.field}.nvme.port`)) {
          notes.push(`port ${d.port}: made again: ${why}`);
          takeDownPort(p, teardown, removedSubsystems);
          makePort = true;
        }
      } else if (others.length) notes.push(`port ${d.port} also exports ${others.map((l) => l.nqn).join(', ')}: left as it is`);
    }
    if (makePort) {
      build.push({ kind: 'mkdir', path: portPath(d.port), fn: portKey, reason: 'new' });
      build.push({ kind: 'write', path: `${portPath(d.port)}/addr_trtype`, value: 'pci\n', declared: 'pci', fn: portKey, before: 'none' });
    }
    const linked = !makePort && !makeSubsystem && p!.subsystems.some((l) => l.nqn === d.nqn);
    if (!linked) build.push({ kind: 'nvmet-link', path: portSubsystemLink(d.port, d.nqn), target: subsystemPath(d.nqn), owner: portKey });
  }

  // ---- nvmet objects epctl made that the config no longer names ----
  const wantedSubsystems = new Set(all.map((d) => d.nqn));
  const wantedPorts = new Set(all.map((d) => d.port));
  for (const s of nvmet.subsystems) {
    const key = nvmetKey(s.path);
    if (wantedSubsystems.has(s.nqn) || !input.owned.has(key)) continue;
    if (release({ nqn: s.nqn }, `subsystem ${s.nqn} is no longer in the config`, key)) {
      takeDownSubsystem(s, teardown);
      removedSubsystems.add(s.nqn);
      owned.delete(key);
    }
  }
  for (const p of nvmet.ports) {
    const key = nvmetKey(p.path);
    if (wantedPorts.has(p.id) || !input.owned.has(key)) continue;
    const others = p.subsystems.filter((l) => !removedSubsystems.has(l.nqn) && !input.owned.has(nvmetKey(subsystemPath(l.nqn))));
    if (others.length) {
      notes.push(`port ${p.id}: left: epctl made it, but it also exports ${others.map((l) => l.nqn).join(', ')}, which epctl did not make`);
      continue;
    }
    if (release({ port: p.id }, `port ${p.id} is no longer in the config`, key)) {
      takeDownPort(p, teardown, removedSubsystems);
      owned.delete(key);
    }
  }

  if (!nvmet.present && all.length && board.kernel.config['NVME_TARGET'] === 'n')
    refuse(all[0]!.want.field, `the kernel was built without CONFIG_NVME_TARGET, so ${NVMET} can never appear`, 'use a kernel with CONFIG_NVME_TARGET and CONFIG_NVME_TARGET_PCI_EPF (=y or =m)');
  // Port links unlinked before the subsystem or port they name goes: order within teardown is
  // per object already; links first across objects keeps a port's rmdir from ENOTEMPTY.
  const ordered = [...teardown.filter((o) => o.kind === 'nvmet-unlink'), ...teardown.filter((o) => o.kind !== 'nvmet-unlink')];
  return { modules, teardown: dedupe(ordered), build, rebuild, refusals, notes, owned: [...owned].sort() };
}

/** The same link unlinked twice (a subsystem and its port both taken down): once. */
function dedupe(ops: PlanOp[]): PlanOp[] {
  const seen = new Set<string>();
  return ops.filter((o) => {
    const id = `${o.kind} ${'path' in o ? o.path : ''}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** The attributes a rollback writes back into a subsystem, namespace or port it makes again, in the order the kernel takes them (device_path before enable). */
export const RESTORE_ORDER: Readonly<Record<'subsystem' | 'namespace' | 'port', readonly string[]>> = {
  subsystem: ['attr_allow_any_host', 'attr_model', 'attr_serial', 'attr_vendor_id', 'attr_subsys_vendor_id', 'attr_qid_max', 'attr_pi_enable'],
  namespace: ['device_path', 'enable'],
  port: ['addr_trtype', 'addr_adrfam', 'addr_traddr', 'addr_trsvcid', 'addr_treq'],
};

