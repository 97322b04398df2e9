// plan: pure. (what the board shows, the config, what epctl owns) → the configfs operations
// that converge the board, in the order the kernel needs, or the reasons it cannot. Nothing
// here reads or writes a board; apply is the only writer.
//
// Order (Documentation/PCI/endpoint/pci-endpoint-cfs.rst, pci-ep-cfs.c): mount and modprobe;
// stop the controllers whose links change (an unlink on a started EPC WARNs, pci-ep-cfs.c
// WARN_ON_ONCE(epc_group->start)); remove links; rmdir; mkdir; attributes (type-group writes
// are refused while attached on 7.3, so always before the link); link; start.
import { CONTROLLERS, FUNCTIONS, CONFIGFS, PCI_EP, functionKey } from '../configfs/paths.js';
import { HEADER_FIELDS, type HeaderField } from '../configfs/header.js';
import { driverFacts } from '../configfs/drivers.js';
import { attributeText, type AttributeRead, type ObservedFunction, type PciEpState } from '../configfs/observe.js';
import { isNvmetKey, type NvmetState } from '../configfs/nvmet.js';
import { DEFAULT_NVMET_PORT, nvmeGroup, planNvme, type NvmeWant } from './nvme.js';
import type { BoardState } from '../probe/probe.js';
import type { Config, FunctionConfig } from '../config/schema.js';
import type { KernelVersion } from '../kernel/version.js';
import { kernelBehaviour } from '../kernel/behaviour.js';
import { EPF_DRIVER_SYMBOL } from '../procfs/kconfig.js';
import { HAZARD_REASON, hazardRules } from './hazards.js';
import { readsAs, writeText, type DeclaredValue } from './attributes.js';
import { kstrtou } from '../configfs/values.js';
import { reservedBarFindings } from './bars.js';

export type PlanOp =
  | { kind: 'mount'; path: string }
  | {
      kind: 'modprobe';
      module: string;
      /** The function driver it registers (functions/<driver> appears), for an EPF module. */
      driver?: string;
      /** The path that must exist after it loaded (functions/<driver>, /dev/nullb0). */
      appears: string;
    }
  | { kind: 'start'; path: string; epc: string; value: boolean }
  | {
      kind: 'unlink';
      path: string;
      target: string;
      fn: string;
      epc: string | null;
      /** Why a rollback must not link it again (a rebind this kernel cannot take). */
      noRelink?: string;
    }
  | { kind: 'rmdir'; path: string; fn: string; reason: string; was: ObservedFunction }
  | { kind: 'mkdir'; path: string; fn: string; reason: string }
  | { kind: 'wait'; path: string; fn: string; /** Everything the delayed work makes: primary/ and secondary/. */ paths: string[] }
  | {
      kind: 'write';
      path: string;
      /** The bytes written. */
      value: string;
      declared: DeclaredValue;
      fn: string;
      /** What it reads now: known (undo writes it back), unknown (apply reads it first), or none needed (a new function's own attribute: rmdir undoes it). */
      before: { text: string } | 'read-first' | 'none';
      /** The exact read-back, where the kernel pads what it stores (nvmet attr_serial). */
      readBack?: string;
    }
  /** ln -s nvmet/subsystems/<nqn> nvmet/ports/<id>/subsystems/ (enables the port, nvmet_port_subsys_allow_link). */
  | { kind: 'nvmet-link'; path: string; target: string; owner: string }
  | { kind: 'nvmet-unlink'; path: string; target: string; owner: string }
  /** rmdir of an nvmet subsystem, namespace or port; `was` lets a rollback make it again. `owner`: the key it disowns (null for a namespace). */
  | { kind: 'nvmet-rmdir'; path: string; owner: string | null; was: { kind: 'subsystem' | 'namespace' | 'port'; attributes: Record<string, AttributeRead> } }
  | {
      kind: 'link';
      path: string;
      target: string;
      fn: string;
      epc: string;
      doorbell: boolean;
      /** vNTB with doorbells: the rows on chip ITS-pMSI-<epc> its bind must leave (db_count); vNTB falls back to polling silently. */
      doorbellRows?: number;
      /** Why this link cannot be taken off again on this kernel (a rollback leaves it and says so). */
      noUndo?: string;
      /** nvmet_pci_epf: the subsystem whose controller the bind must make ("New PCI ctrl" in the log: epc_init failures are only logged). */
      nvme?: { nqn: string; port: number };
    };

/** A config entry the board cannot take, with why and what to do. */
export interface Refusal {
  /** The config field or board path it is about. */
  where: string;
  reason: string;
  fix: string;
}

export interface Plan {
  ops: PlanOp[];
  /** Things a reader should know: recreated functions and why, foreign functions left alone. */
  notes: string[];
  refusals: Refusal[];
  /** What epctl owns after the plan is applied: function keys (`driver/name`) and nvmet keys (`nvmet/subsystems/<nqn>`, `nvmet/ports/<id>`). */
  owned: string[];
}

export interface PlanInput {
  config: Config;
  board: BoardState;
  pciEp: PciEpState;
  /** What epctl created (state file): functions as `driver/name`, nvmet objects as `nvmet/…`. */
  owned: ReadonlySet<string>;
  /** The nvmet tree (absent: nvmet not loaded, or nothing read). */
  nvmet?: NvmetState;
  /** Whether each block device or file an NVMe namespace names exists (and /dev/nullb0). */
  devices?: ReadonlyMap<string, boolean>;
  release: KernelVersion | null;
  /** `clear --all`: foreign functions go too. */
  removeForeign?: boolean;
  /** Controllers an earlier apply stopped and was killed before starting again (state file). */
  pendingRestarts?: readonly string[];
  /**
   * --force: the doorbell preflight (the verdict from the device tree and kernel, vNTB's
   * release) becomes notes saying what was skipped. Kernel-enforced rules (one doorbell owner,
   * the first function linked) stay refusals, and apply still proves a vNTB's doorbell rows.
   */
  force?: boolean;
}

export const functionPath = (key: string): string => `${FUNCTIONS}/${key}`;
const startPath = (epc: string): string => `${CONTROLLERS}/${epc}/start`;

interface Want {
  field: string;
  fc: FunctionConfig;
  key: string;
  /** The EPC bound through the primary interface, and how the link is made. */
  epc: string | null;
  via: 'controllers' | 'primary';
  secondary: string | null;
}

const text = attributeText;


export function plan(input: PlanInput): Plan {
  const { config, board, pciEp } = input;
  const rules = hazardRules(input.release);
  const behaviour = input.release ? kernelBehaviour(input.release) : null;
  const refusals: Refusal[] = [];
  const notes: string[] = [];
  const refuse = (where: string, reason: string, fix: string): void => void refusals.push({ where, reason, fix });

  const pre: PlanOp[] = [];
  const stops = new Set<string>();
  /** Per function torn down: its unlinks then its rmdir, so a failure leaves at most one function half done. */
  const teardowns: { fn: string; holdsVfs: boolean; ops: PlanOp[] }[] = [];
  const builds: PlanOp[] = [];
  const links: (PlanOp & { kind: 'link' })[] = [];
  const owned = new Set(input.owned);

  // ---- the framework itself ----
  if (!board.configfs.mounted) {
    if (board.kernel.config['CONFIGFS_FS'] === 'n') refuse(CONFIGFS, 'the kernel was built without CONFIG_CONFIGFS_FS', 'use a kernel with CONFIG_CONFIGFS_FS=y and CONFIG_PCI_ENDPOINT_CONFIGFS=y');
    else pre.push({ kind: 'mount', path: CONFIGFS });
  } else if (!pciEp.present) refuse(PCI_EP, 'configfs is mounted but has no pci_ep: the kernel lacks CONFIG_PCI_ENDPOINT_CONFIGFS', 'use a kernel with CONFIG_PCI_ENDPOINT_CONFIGFS=y');

  const controllerNames = [...new Set([...board.controllers.map((c) => c.name), ...pciEp.controllers.map((c) => c.name)])].sort();
  const resolveEpc = (name: string, where: string): string | null => {
    if (name === 'auto') {
      if (controllerNames.length === 1) return controllerNames[0]!;
      refuse(where, controllerNames.length === 0 ? '"auto" needs exactly one endpoint controller and the board has none' : `"auto" needs exactly one endpoint controller and the board has ${controllerNames.length}: ${controllerNames.join(', ')}`, 'name the controller');
      return null;
    }
    if (controllerNames.includes(name)) return name;
    refuse(where, `the board has no endpoint controller ${name}${controllerNames.length ? ` (it has ${controllerNames.join(', ')})` : ''}`, 'use one of the names `epctl probe` lists');
    return null;
  };

  // ---- what the config wants ----
  const wants: Want[] = [];
  (config.functions ?? []).forEach((declared, i) => {
    const field = `functions.${i}`;
    // The NVMe endpoint's nvme/ group is written like any type group (portid, subsysnqn, mdts_kb).
    const fc: FunctionConfig = declared.nvme ? { ...declared, type: nvmeGroup(declared.nvme) } : declared;
    if (fc.driver === 'nvmet_pci_epf' && behaviour && !behaviour.nvmetPciEpf)
      refuse(`${field}.driver`, `the NVMe endpoint target nvmet_pci_epf arrived in Linux 6.14 (drivers/nvme/target/pci-epf.c); ${input.release!.release} does not have it`, 'run Linux 6.14 or newer');
    const facts = driverFacts(fc.driver);
    const epcName = fc.controller ?? fc.primary;
    const epc = epcName === undefined ? null : resolveEpc(epcName, `${field}.${fc.controller !== undefined ? 'controller' : 'primary'}`);
    const secondary = fc.secondary === undefined ? null : resolveEpc(fc.secondary, `${field}.secondary`);
    if (fc.controller !== undefined && !facts.routes.includes('controller'))
      refuse(`${field}.controller`, `${fc.driver} binds through primary/ and secondary/, not controllers/`, 'give primary and secondary instead of controller');
    if (secondary !== null && !facts.routes.includes('secondary'))
      refuse(`${field}.secondary`, fc.driver === 'pci_epf_vntb' ? HAZARD_REASON.vntbSecondary : `${fc.driver} binds through one controller; a secondary/ link fails to bind (pci-epf-test.c WARN_ON_ONCE(!epc)) and can crash a kernel where the function was bound before`, 'drop secondary');
    if (facts.needsSecondary && epc !== null && secondary === null) refuse(`${field}.secondary`, `${fc.driver} joins two controllers: it needs primary and secondary`, 'give secondary');
    if (epc !== null && secondary !== null && epc === secondary) refuse(`${field}.secondary`, 'primary and secondary name the same controller', 'give two different controllers');
    if (epc !== null) {
      for (const a of facts.requiredFunctionAttributes)
        if ((fc as Record<string, unknown>)[a] === undefined)
          refuse(`${field}.${a}`, `${fc.driver} fails to bind without ${a} (it starts at 0 and the link's epc_init rejects 0)`, `give ${a}`);
      for (const a of facts.requiredForLink)
        if (fc.type?.[a] === undefined) refuse(`${field}.type.${a}`, `${fc.driver} fails to bind while ${a} is 0 (its default)`, `give type.${a}`);
    }
    if (!pciEp.drivers.includes(fc.driver) && !pre.some((o) => o.kind === 'modprobe' && o.driver === fc.driver)) {
      const symbol = (EPF_DRIVER_SYMBOL as Record<string, string>)[fc.driver];
      if (symbol && board.kernel.config[symbol] === 'n') refuse(`${field}.driver`, `the kernel was built without CONFIG_${symbol}`, `use a kernel with CONFIG_${symbol}=y or =m`);
      else pre.push({ kind: 'modprobe', module: facts.module || fc.driver, driver: fc.driver, appears: `${FUNCTIONS}/${fc.driver}` });
    }
    const via = epc !== null && (fc.controller !== undefined || (secondary === null && rules.linkPrimaryThroughControllers)) ? 'controllers' : 'primary';
    if (via === 'primary' && rules.refuseSubGroupUnlink)
      notes.push(`${functionKey(fc.driver, fc.name)}: linked through primary/${secondary !== null ? ' and secondary/' : ''}; on this kernel epctl cannot unlink it again (${HAZARD_REASON.swappedUnlink}): removing it takes a reboot`);
    if (fc.primary !== undefined && secondary === null && via === 'controllers')
      notes.push(`${functionKey(fc.driver, fc.name)}: linked through controllers/${epc}/ rather than primary/ (the same binding): ${HAZARD_REASON.swappedUnlink}`);
    wants.push({ field, fc, key: functionKey(fc.driver, fc.name), epc, via, secondary });
  });

  // ---- doorbells: the verdict from probe, one owner per controller (pci-ep-msi.c) ----
  for (const w of wants) {
    if (!w.fc.doorbell) continue;
    if (w.epc === null) {
      refuse(`${w.field}.doorbell`, 'doorbells are allocated when the function is linked to a controller', 'give controller (or primary)');
      continue;
    }
    // The preflight: what the device tree and the kernel say before anything is touched.
    const preflight = (reason: string, fix: string): void =>
      input.force ? void notes.push(`--force: skipped the doorbell preflight for ${w.key} on ${w.epc}: ${reason}`) : refuse(`${w.field}.doorbell`, reason, fix);
    const verdict = board.controllers.find((c) => c.name === w.epc)?.doorbell;
    const dtFix = (v: NonNullable<typeof verdict>): string => (v.fix ? `change the device tree:\n${v.fix}` : (v.fixMissing ?? 'see `epctl probe`'));
    if (verdict && !verdict.capable) preflight(verdict.reason, dtFix(verdict));
    else if (verdict?.ringLost) preflight(`the kernel would allocate the doorbell on ${w.epc}, but a host ring would never arrive: ${verdict.warnings[0] ?? verdict.reason}`, dtFix(verdict));
    if (w.fc.driver === 'pci_epf_vntb' && behaviour && !behaviour.vntbDoorbell)
      preflight(`vNTB MSI doorbells arrived in Linux 6.19 (dc693d606644); ${input.release!.release} polls its doorbell registers`, 'drop doorbell, or run 6.19 or newer');
    const rivals = wants.filter((o) => o !== w && o.fc.doorbell && o.epc === w.epc);
    if (rivals.length && wants.indexOf(rivals[0]!) > wants.indexOf(w))
      refuse(`${rivals[0]!.field}.doorbell`, `only the first function linked to ${w.epc} can own doorbells (pci_epf_alloc_doorbell: "Doorbell doesn't support multiple EPF"), and ${w.key} asks too`, 'keep doorbell on one function per controller');
  }

  // ---- BARs the controller reserves for its DMA registers (plan/bars.ts) ----
  for (const w of wants) {
    if (w.epc === null) continue;
    const verdict = board.controllers.find((c) => c.name === w.epc)?.doorbell;
    for (const f of reservedBarFindings(w.fc, w.epc, verdict, behaviour, input.release?.release ?? null)) {
      // Like the doorbell preflight: what rests on the verdict's doorbell mode yields to --force.
      if (f.preflight && input.force) notes.push(`--force: skipped the doorbell preflight for ${w.key} on ${w.epc}: ${f.reason}`);
      else refuse(`${w.field}.${f.field}`, f.reason, f.fix);
    }
  }

  // ---- the shared header each driver shows now (pci-ep-cfs.c: one struct per driver) ----
  const header = new Map<string, Map<HeaderField, string | undefined>>();
  const headerOf = (driver: string): Map<HeaderField, string | undefined> => {
    let h = header.get(driver);
    if (!h) {
      const seen = pciEp.functions.find((f) => f.driver === driver);
      h = new Map(HEADER_FIELDS.map((a) => [a.name as HeaderField, seen ? text(seen.attributes[a.name]) : undefined]));
      header.set(driver, h);
    }
    return h;
  };

  /** The writes that bring FN's attributes to W; `fresh`: a function just made (rmdir undoes its own attributes). */
  const writesFor = (w: Want, observed: ObservedFunction | undefined, fresh: boolean): PlanOp[] => {
    const ops: PlanOp[] = [];
    const path = functionPath(w.key);
    const h = headerOf(w.fc.driver);
    // In struct pci_epf_header order (HEADER_FIELDS), as the how-tos write them.
    for (const a of HEADER_FIELDS) {
      const field = a.name;
      const v = w.fc.header?.[field];
      if (v === undefined) continue;
      const now = h.get(a.name as HeaderField);
      if (now !== undefined && readsAs(now, v)) continue;
      ops.push({ kind: 'write', path: `${path}/${a.name}`, value: writeText(v, true), declared: v, fn: w.key, before: now === undefined ? 'read-first' : { text: now } });
      h.set(a.name as HeaderField, `0x${v.toString(16).padStart(4, '0')}\n`);
    }
    for (const name of ['msi_interrupts', 'msix_interrupts'] as const) {
      const v = w.fc[name];
      if (v === undefined) continue;
      const now = fresh ? undefined : text(observed?.attributes[name]);
      if (now !== undefined && readsAs(now, v)) continue;
      ops.push({ kind: 'write', path: `${path}/${name}`, value: writeText(v), declared: v, fn: w.key, before: fresh ? 'none' : now === undefined ? 'read-first' : { text: now } });
    }
    const facts = driverFacts(w.fc.driver);
    const typeAttrs = Object.entries(w.fc.type ?? {}).sort(([a], [b]) => rank(facts.writeFirst, a) - rank(facts.writeFirst, b));
    const group = observed?.typeGroup ?? null;
    for (const [name, v] of typeAttrs) {
      // The group is found by listing after mkdir (`<driver>.<N>` or `nvme`): apply resolves it.
      const now = fresh || !group ? undefined : text(group.attributes[name]);
      if (now !== undefined && readsAs(now, v)) continue;
      ops.push({ kind: 'write', path: `${path}/${fresh || !group ? TYPE_GROUP : group.name}/${name}`, value: writeText(v), declared: v, fn: w.key, before: fresh ? 'none' : now === undefined ? 'read-first' : { text: now } });
    }
    return ops;
  };

  // Type-group attributes this kernel offers, where a function of the driver shows them.
  for (const w of wants) {
    const sample = pciEp.functions.find((f) => f.driver === w.fc.driver && f.typeGroup);
    for (const name of Object.keys(w.fc.type ?? {})) {
      if (!sample) break;
      if (!(name in sample.typeGroup!.attributes))
        refuse(`${w.field}.type.${name}`, `this kernel's ${w.fc.driver} has no ${name} (its ${sample.typeGroup!.name}/ offers ${Object.keys(sample.typeGroup!.attributes).sort().join(', ')})`, 'use one of those names, or drop it');
    }
    if (w.fc.type && Object.keys(w.fc.type).length && pciEp.functions.some((f) => f.driver === w.fc.driver && !f.typeGroup))
      refuse(`${w.field}.type`, `this kernel's ${w.fc.driver} functions have no type group, so there is nowhere to write ${Object.keys(w.fc.type).join(', ')}`, 'drop type');
  }

  // ---- teardown of a function on the board ----
  const started = (epc: string): boolean => text(pciEp.controllers.find((c) => c.name === epc)?.files['start']) === '1\n';
  const removed = new Set<string>();
  const teardown = (f: ObservedFunction, reason: string): boolean => {
    const key = functionKey(f.driver, f.name);
    const where = functionPath(key);
    if (f.secondary !== null && f.primary === null && f.driver === 'pci_epf_vntb') {
      refuse(where, HAZARD_REASON.secondaryOnly, 'reboot the board; epctl will not touch it');
      return false;
    }
    if ((f.links.primary || f.links.secondary) && rules.refuseSubGroupUnlink) {
      refuse(where, `it is linked through ${f.links.primary ? 'primary/' : 'secondary/'}, and ${HAZARD_REASON.swappedUnlink}`, 'reboot the board to remove it, or run Linux 7.3 or newer');
      return false;
    }
    const ops: PlanOp[] = [];
    const noRelink = f.driver === 'pci_epf_vntb' && rules.vntbBindOncePerBoot ? { noRelink: HAZARD_REASON.vntbRebind } : {};
    for (const c of pciEp.controllers)
      for (const l of c.links)
        if (l.function === key) {
          if (started(c.name)) stops.add(c.name);
          ops.push({ kind: 'unlink', path: `${CONTROLLERS}/${c.name}/${l.name}`, target: where, fn: key, epc: c.name, ...noRelink });
        }
    for (const which of ['primary', 'secondary'] as const) {
      const l = f.links[which];
      if (!l) continue;
      if (started(l.controller)) stops.add(l.controller);
      ops.push({ kind: 'unlink', path: `${where}/${which}/${l.name}`, target: `${CONTROLLERS}/${l.controller}`, fn: key, epc: l.controller, ...noRelink });
    }
    for (const v of f.links.virtualFunctions) ops.push({ kind: 'unlink', path: `${where}/${v.name}`, target: functionPath(v.function), fn: key, epc: null });
    if (f.driver === 'pci_epf_vntb' && linked(f) && behaviour && !behaviour.vntbRemovesBus)
      notes.push(`${key}: on this kernel its virtual PCI bus outlives the unlink, and 6.12.117 then oopses at power-off (__list_del_entry in device_shutdown, seen in the real-kernel lane): expect it at the next reboot`);
    ops.push({ kind: 'rmdir', path: where, fn: key, reason, was: f });
    teardowns.push({ fn: key, holdsVfs: f.links.virtualFunctions.length > 0, ops });
    removed.add(key);
    return true;
  };

  // ---- the shared header (one per driver, pci-ep-cfs.c): a change reaches a linked function only at its next bind ----
  const headerChanges = new Set<string>();
  for (const w of wants) {
    const seen = pciEp.functions.find((f) => f.driver === w.fc.driver);
    if (!seen) continue;
    for (const [field, v] of Object.entries(w.fc.header ?? {})) {
      const now = text(seen.attributes[field]);
      if (v !== undefined && now !== undefined && !readsAs(now, v)) headerChanges.add(w.fc.driver);
    }
  }

  // ---- the NVMe endpoints' nvmet side (nvme.ts): before the functions, which it may rebuild ----
  const leaving = new Set(
    pciEp.functions.map((f) => functionKey(f.driver, f.name)).filter((k) => !wants.some((w) => w.key === k) && (input.owned.has(k) || input.removeForeign)),
  );
  const nvmeWants = wants.filter((w): w is Want & NvmeWant => w.fc.nvme !== undefined);
  const nvme = planNvme(
    { config, board, pciEp, nvmet: input.nvmet ?? { present: false, subsystems: [], ports: [] }, owned: input.owned, removed: leaving, devices: input.devices ?? new Map(), force: input.force === true },
    nvmeWants,
  );
  refusals.push(...nvme.refusals);
  notes.push(...nvme.notes);

  // ---- converge each wanted function ----
  const attachedTo = (f: ObservedFunction): { epc: string | null; secondary: string | null } => ({
    epc: f.primary ?? (pciEp.controllers.find((c) => c.links.some((l) => l.function === functionKey(f.driver, f.name)))?.name ?? null),
    secondary: f.secondary,
  });
  const linked = (f: ObservedFunction): boolean => attachedTo(f).epc !== null || f.secondary !== null;

  for (const w of wants) {
    const observed = pciEp.functions.find((f) => f.driver === w.fc.driver && f.name === w.fc.name);
    owned.add(w.key);
    const create = (reason: string): void => {
      builds.push({ kind: 'mkdir', path: functionPath(w.key), fn: w.key, reason });
      if (rules.waitForSubGroups)
        builds.push({ kind: 'wait', path: `${functionPath(w.key)}/primary`, fn: w.key, paths: ['primary', 'secondary'].map((g) => `${functionPath(w.key)}/${g}`) });
      builds.push(...writesFor(w, undefined, true));
      if (w.epc !== null) addLinks(w);
    };
    if (!observed) {
      create('new');
      continue;
    }
    const at = attachedTo(observed);
    const routeRight = at.epc === w.epc && at.secondary === w.secondary;
    const headerBefore = new Map(headerOf(w.fc.driver));
    const writes = writesFor(w, observed, false);
    const staleHeader = headerChanges.has(w.fc.driver) && linked(observed);
    const nvmeWhy = nvme.rebuild.get(w.key);
    if (routeRight && writes.length === 0 && !staleHeader && nvmeWhy === undefined) continue;
    if (!linked(observed) && w.epc === null) {
      builds.push(...writes);
      continue;
    }
    // Rebuilt instead: the new function reads the shared header as it is now (rmdir keeps it).
    header.set(w.fc.driver, headerBefore);
    const why = linked(observed)
      ? nvmeWhy !== undefined && routeRight && writes.length === 0 && !staleHeader
        ? `${nvmeWhy}, which must not happen under its live controller, and ${HAZARD_REASON.rebind}`
        : routeRight
        ? `${writes.length ? describe(writes) : `the ${w.fc.driver} header it shares`} changes reach the controller only at the next bind, and ${HAZARD_REASON.rebind}`
        : `it must move to ${w.epc ?? 'no controller'}, and ${HAZARD_REASON.rebind}`
      : `it must be linked, it may have been bound before, and ${HAZARD_REASON.rebind}`;
    if (w.fc.driver === 'pci_epf_vntb' && rules.vntbBindOncePerBoot && linked(observed)) {
      refuse(functionPath(w.key), `it must be bound again to change (${why.split(', and ')[0]}), and ${HAZARD_REASON.vntbRebind}`, 'reboot the board, then apply: a fresh boot binds it once with the new values');
      continue;
    }
    notes.push(`${w.key}: recreated: ${why}`);
    if (teardown(observed, why)) {
      // The shared header as the rebuilt function will read it: whatever it reads now.
      create(why);
    }
  }

  // ---- functions the config no longer names ----
  for (const f of pciEp.functions) {
    const key = functionKey(f.driver, f.name);
    if (wants.some((w) => w.key === key)) continue;
    if (input.owned.has(key) || input.removeForeign) {
      teardown(f, input.owned.has(key) ? 'epctl made it and the config no longer names it' : 'clear --all');
      owned.delete(key);
    } else notes.push(`${key}: left alone: epctl did not make it (\`epctl clear --all\` removes it)`);
  }
  for (const key of input.owned) if (!pciEp.functions.some((f) => functionKey(f.driver, f.name) === key) && !wants.some((w) => w.key === key)) owned.delete(key);
  for (const f of pciEp.functions) {
    const key = functionKey(f.driver, f.name);
    if (headerChanges.has(f.driver) && !removed.has(key) && !wants.some((w) => w.key === key) && linked(f))
      notes.push(`${key}: keeps the old ${f.driver} header in its config space until it is bound again (the header is shared by the driver's functions)`);
  }
  // A virtual function goes only with its physical function, or after that link is gone (configfs: EBUSY).
  for (const t of teardowns) {
    const pf = pciEp.functions.find((o) => o.virtualFunctions.includes(t.fn));
    if (pf && !removed.has(functionKey(pf.driver, pf.name)))
      refuse(functionPath(t.fn), `it is a virtual function of ${functionKey(pf.driver, pf.name)}, which stays`, `unlink ${functionPath(functionKey(pf.driver, pf.name))}/${pf.links.virtualFunctions.find((v) => v.function === t.fn)?.name ?? t.fn.split('/')[1]} first`);
  }

  function addLinks(w: Want): void {
    const target = functionPath(w.key);
    const doorbell = w.fc.doorbell === true;
    const db = w.fc.type?.['db_count'];
    const dbCount = typeof db === 'number' ? db : typeof db === 'string' ? kstrtou(db, 32) : undefined;
    const rows = doorbell && w.fc.driver === 'pci_epf_vntb' && dbCount !== undefined ? (typeof dbCount === 'number' ? { doorbellRows: dbCount } : dbCount.ok ? { doorbellRows: Number(dbCount.value) } : {}) : {};
    const noUndo = rules.refuseSubGroupUnlink ? { noUndo: `${HAZARD_REASON.swappedUnlink}; reboot to remove it` } : {};
    const nvmeCtrl = w.fc.nvme ? { nvme: { nqn: w.fc.nvme.nqn, port: w.fc.nvme.port ?? DEFAULT_NVMET_PORT } } : {};
    if (w.via === 'controllers') links.push({ kind: 'link', path: `${CONTROLLERS}/${w.epc}/${linkName(w)}`, target, fn: w.key, epc: w.epc!, doorbell, ...rows, ...nvmeCtrl });
    else links.push({ kind: 'link', path: `${target}/primary/${w.epc}`, target: `${CONTROLLERS}/${w.epc}`, fn: w.key, epc: w.epc!, doorbell, ...rows, ...noUndo, ...nvmeCtrl });
    if (w.secondary !== null) links.push({ kind: 'link', path: `${target}/secondary/${w.secondary}`, target: `${CONTROLLERS}/${w.secondary}`, fn: w.key, epc: w.secondary, doorbell: false, ...noUndo });
  }
  /** The link name in controllers/<epc>/: the function's name, unless two linked there share it. */
  function linkName(w: Want): string {
    const clash = wants.some((o) => o !== w && o.epc === w.epc && o.via === 'controllers' && o.fc.name === w.fc.name);
    const taken = pciEp.controllers.find((c) => c.name === w.epc)?.links.some((l) => l.name === w.fc.name && !removed.has(l.function));
    return clash || taken ? `${w.fc.driver}.${w.fc.name}` : w.fc.name;
  }

  // Doorbell owners link first on their controller: only the first EPF may own doorbells.
  const doorbellFirst = [...links].sort((a, b) => Number(b.doorbell) - Number(a.doorbell));
  for (const w of wants) {
    if (!w.fc.doorbell || w.epc === null) continue;
    const first = pciEp.controllers.find((c) => c.name === w.epc)?.links.find((l) => !removed.has(l.function) && l.function !== w.key);
    const kept = first ?? pciEp.functions.find((f) => f.primary === w.epc && !removed.has(functionKey(f.driver, f.name)) && functionKey(f.driver, f.name) !== w.key);
    if (kept && links.some((l) => l.fn === w.key))
      refuse(`${w.field}.doorbell`, `${'function' in kept ? kept.function : functionKey(kept.driver, kept.name)} is already linked to ${w.epc}, and only the first function linked there can own doorbells (pci-ep-msi.c)`, 'remove that function from the controller first');
  }

  // Documentation/nvme/nvme-pci-endpoint-target.rst: the host finds the controller when it enumerates.
  for (const l of links)
    if (l.nvme)
      notes.push(`${l.fn}: the host sees the NVMe controller (class 01:08:02) when it enumerates the endpoint: power the host on after apply, or rescan it (echo 1 > /sys/bus/pci/rescan) where its slot can take a device that comes later`);

  // ---- one vNTB bound at a time (H-one-vntb) ----
  const vntbBound = [
    ...new Set([
      ...links.filter((l) => l.fn.startsWith('pci_epf_vntb/')).map((l) => l.fn),
      ...pciEp.functions.filter((f) => f.driver === 'pci_epf_vntb' && linked(f) && !removed.has(functionKey(f.driver, f.name))).map((f) => functionKey(f.driver, f.name)),
    ]),
  ];
  if (vntbBound.length > 1) refuse('functions', `${vntbBound.join(' and ')} would be bound at once, but ${HAZARD_REASON.oneVntb}`, 'link one vNTB function; one function can carry several memory windows and up to 32 doorbells');

  // ---- controllers: stop what changes, start what should run ----
  const wantStart = new Map<string, boolean>();
  for (const [name, c] of Object.entries(config.controllers ?? {})) {
    const epc = resolveEpc(name, `controllers.${name}`);
    if (epc !== null && c.start !== undefined) wantStart.set(epc, c.start);
  }
  for (const [epc, on] of wantStart) if (!on && started(epc)) stops.add(epc);
  const linkedAfter = (epc: string): boolean =>
    links.some((l) => l.epc === epc) ||
    pciEp.controllers.some((c) => c.name === epc && c.links.some((l) => !removed.has(l.function))) ||
    pciEp.functions.some((f) => (f.primary === epc || f.secondary === epc) && !removed.has(functionKey(f.driver, f.name)));
  const starts: PlanOp[] = [];
  for (const epc of controllerNames) {
    const want = wantStart.get(epc);
    const runningAfterStops = started(epc) && !stops.has(epc);
    if (want === true && !runningAfterStops) starts.push({ kind: 'start', path: startPath(epc), epc, value: true });
    else if (want === undefined && (stops.has(epc) || (!started(epc) && input.pendingRestarts?.includes(epc))) && linkedAfter(epc))
      starts.push({ kind: 'start', path: startPath(epc), epc, value: true });
  }

  const ops: PlanOp[] = [
    ...pre,
    ...[...stops].sort().map((epc): PlanOp => ({ kind: 'start', path: startPath(epc), epc, value: false })),
    // Physical functions first: their VF links must go before a VF's rmdir.
    ...[...teardowns].sort((a, b) => Number(b.holdsVfs) - Number(a.holdsVfs)).flatMap((t) => t.ops),
    // nvmet objects go once no controller uses them, and come before the functions that bind to them.
    ...nvme.teardown,
    ...nvme.build,
    ...builds,
    ...doorbellFirst,
    ...starts,
  ];
  const ownedAfter = [...[...owned].filter((k) => !isNvmetKey(k)), ...nvme.owned];
  return { ops: [...ops.slice(0, pre.length), ...nvme.modules, ...ops.slice(pre.length)], notes, refusals, owned: ownedAfter.sort() };
}

/** Placeholder for the type-group directory in planned paths; apply finds the real one by listing. */
export const TYPE_GROUP = '<type-group>';

function rank(first: readonly string[], name: string): number {
  const i = first.indexOf(name);
  return i < 0 ? first.length : i;
}

function describe(writes: PlanOp[]): string {
  const names = writes.flatMap((w) => (w.kind === 'write' ? [w.path.split('/').pop()!] : []));
  return names.length ? `${names.join(', ')}` : 'its';
}
