// apply: the only writer. Carries out a plan one operation at a time, reads every write back
// in the kernel's own format, checks every link after it is made (since ≈6.11 a bind whose
// epc_init fails still returns 0 and only logs, drivers/pci/endpoint/pci-epc-core.c), and
// keeps an undo log: on the first failure it undoes what it did, newest first, and reports
// the errno, the path and what the kernel printed meanwhile. A partial apply never reads as
// success.
import { type KernelPort, type KmsgRecord, readText, joinPath } from '../kernel/port.js';
import { isKernelError, KernelOops } from '../kernel/errors.js';
import { lastSeq, kmsgAfter } from '../kernel/kmsg.js';
import { formatStart } from '../configfs/values.js';
import { CONTROLLERS, FUNCTIONS } from '../configfs/paths.js';
import { HAZARD_REASON } from './hazards.js';
import { FUNCTION_ATTRIBUTES } from '../configfs/header.js';
import { driverFacts } from '../configfs/drivers.js';
import type { AttributeRead, ObservedFunction } from '../configfs/observe.js';
import { readsAs } from './attributes.js';
import { DOORBELL_ACTION, PROC_INTERRUPTS, doorbellChip, parseInterrupts } from '../procfs/interrupts.js';
import { doorbellRows, doorbellsWithHandler } from '../doorbell/irqs.js';
import { TYPE_GROUP, type Plan, type PlanOp } from './plan.js';
import { RESTORE_ORDER } from './nvme.js';
import { NVME_HEADER_FROM_SUBSYSTEM, NVMET_PORTS } from '../configfs/nvmet.js';

export interface ApplyHooks {
  /** Called before a function is made (owned: true) and after one is removed (false), so a kill leaves the record right. */
  own?(fn: string, owned: boolean): Promise<void>;
  /** Told of each operation as it completes (for a progress view). */
  progress?(op: PlanOp, outcome: 'done' | 'already'): void;
  /** How long to wait for primary/ after mkdir on kernels that make it from delayed work. */
  subGroupTimeoutMs?: number;
  /** Aborting it (Ctrl-C) stops before the next operation and rolls back. */
  signal?: AbortSignal;
}

export interface ApplyFailure {
  op: PlanOp;
  /** The errno, or "LOGGED" when the call returned 0 but the kernel logged a failure. */
  code: string;
  message: string;
  path: string;
  /** Kernel log lines printed since the apply started. */
  kernelLog: string[];
}

export interface ApplyResult {
  ok: boolean;
  /** Operations carried out (before any rollback), in order. */
  done: { op: PlanOp; outcome: 'done' | 'already' }[];
  failure?: ApplyFailure;
  /** Present after a failure: how many undo steps ran, and the ones that failed. */
  rollback?: { undone: number; errors: { step: string; message: string }[] };
  /** Everything the kernel logged during the apply (and its rollback). */
  kernelLog: string[];
  /** What this apply could not check, and why. */
  warnings: string[];
}

/** A failure the kernel did not report as an errno (a read-back mismatch, a logged bind failure). */
class StepFailed extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

const KNOWN_ATTRIBUTES = new Set([...FUNCTION_ATTRIBUTES.map((a) => a.name), 'primary', 'secondary']);

export async function apply(port: KernelPort, plan: Plan, hooks: ApplyHooks = {}): Promise<ApplyResult> {
  // /dev/kmsg may be unreadable (dmesg_restrict without CAP_SYSLOG): apply still runs, without log lines.
  const logStart = await port.kmsg().then(lastSeq, () => null);
  /** The kernel log records after SEQ (none when the log is not readable). */
  const recordsAfter = async (seq: number | null): Promise<KmsgRecord[]> => (seq === null ? [] : kmsgAfter(await port.kmsg().catch(() => []), seq));
  const log = async (seq: number | null): Promise<string[]> => (await recordsAfter(seq)).map((r) => r.text);

  /** What undoes each step done; `unlinks` names the controller an undo removes a link from (stopped first: an unlink on a started EPC WARNs). */
  const undo: { step: string; run: () => Promise<void>; unlinks?: string }[] = [];
  /** Functions whose rmdir the rollback undid: new EPF devices, safe to bind (hazards.ts H-bound). */
  const recreated = new Set<string>();
  const warnings: string[] = [];
  if (logStart === null)
    warnings.push('the kernel log (/dev/kmsg) is not readable here, so a bind that fails without an errno (epc_init errors are only logged since about 6.11) cannot be noticed: run epctl as root, or set kernel.dmesg_restrict=0');
  const done: ApplyResult['done'] = [];
  const groups = new Map<string, string>();

  /** The function's type-group directory, found by listing (`<driver>.<N>`, `nvme`). */
  const typeGroup = async (fnPath: string): Promise<string> => {
    const cached = groups.get(fnPath);
    if (cached) return cached;
    // Before 7.0 the group comes from the same delayed work as primary/ (c7a1d2620a29): give it the same time.
    const end = Date.now() + (hooks.subGroupTimeoutMs ?? 2000);
    for (;;) {
      for (const name of await port.readdir(fnPath)) {
        if (KNOWN_ATTRIBUTES.has(name)) continue;
        if ((await port.lstat(joinPath(fnPath, name))).kind === 'dir') {
          groups.set(fnPath, name);
          return name;
        }
      }
      if (Date.now() > end) throw new StepFailed('ENOENT', `${fnPath} has no driver type group, so its type attributes cannot be written`, fnPath);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const resolve = async (path: string): Promise<string> => {
    const i = path.indexOf(`/${TYPE_GROUP}/`);
    if (i < 0) return path;
    const fnPath = path.slice(0, i);
    return `${fnPath}/${await typeGroup(fnPath)}/${path.slice(i + TYPE_GROUP.length + 2)}`;
  };

  const recreate = async (was: ObservedFunction): Promise<void> => {
    groups.delete(was.path);
    await port.mkdir(was.path);
    for (const g of ['primary', 'secondary']) await waitFor(port, `${was.path}/${g}`, hooks.subGroupTimeoutMs ?? 2000);
    for (const name of ['msi_interrupts', 'msix_interrupts']) {
      const a = was.attributes[name];
      if (a && 'text' in a && a.text !== (await readText(port, `${was.path}/${name}`))) await port.write(`${was.path}/${name}`, a.text);
    }
    if (was.typeGroup) {
      const group = await typeGroup(was.path);
      const first = driverFacts(was.driver).writeFirst;
      const names = Object.keys(was.typeGroup.attributes).sort((a, b) => Number(!first.includes(a)) - Number(!first.includes(b)));
      for (const name of names) {
        const a = was.typeGroup.attributes[name]!;
        const path = `${was.path}/${group}/${name}`;
        if ('text' in a && a.text !== (await readText(port, path))) await port.write(path, a.text);
      }
    }
  };

  const step = async (op: PlanOp): Promise<'done' | 'already'> => {
    switch (op.kind) {
      case 'mount':
        // Left mounted on rollback: mounting configfs changes nothing a later run depends on.
        await port.mountConfigfs();
        return 'done';
      case 'modprobe':
        // Left loaded on rollback: the module registers only its functions/ entry (or null_blk's device).
        await port.loadModule(op.module);
        if (!(await port.exists(op.appears))) throw new StepFailed('ENOENT', `modprobe ${op.module} succeeded, but ${op.appears} did not appear`, op.appears);
        return 'done';
      case 'start': {
        try {
          await port.write(op.path, formatStart(op.value));
        } catch (e) {
          // 6.5+: writing the cached value again is EALREADY (pci_epc_start_store): already so.
          if (isKernelError(e, 'EALREADY')) return 'already';
          throw e;
        }
        undo.push({ step: `write ${formatStart(!op.value).trim()} to ${op.path}`, run: async () => void (await port.write(op.path, formatStart(!op.value))) });
        const back = await readText(port, op.path);
        if (back !== formatStart(op.value)) throw new StepFailed('MISMATCH', `wrote ${formatStart(op.value).trim()} to ${op.path}, but it reads back ${JSON.stringify(back.trimEnd())}`, op.path);
        return 'done';
      }
      case 'unlink':
        await port.unlink(op.path);
        undo.push({
          step: `ln -s ${op.target} ${op.path}`,
          run: async () => {
            // A VF link binds nothing; a controller link binds, and only a new EPF device may be bound again.
            if (op.noRelink !== undefined) throw new Error(`left unlinked: ${op.noRelink}; reboot, then run \`epctl apply\` again`);
            if (op.epc !== null && !recreated.has(op.fn))
              throw new Error(`left unlinked: ${op.fn} was bound before and still is the same EPF device, and ${HAZARD_REASON.rebind}; run \`epctl apply\` again, which recreates it`);
            await port.symlink(op.target, op.path);
          },
        });
        return 'done';
      case 'rmdir':
        await port.rmdir(op.path);
        groups.delete(op.path);
        undo.push({
          step: `recreate ${op.path}`,
          run: async () => {
            await recreate(op.was);
            recreated.add(op.fn);
          },
        });
        return 'done';
      case 'mkdir':
        await hooks.own?.(op.fn, true);
        groups.delete(op.path);
        await port.mkdir(op.path);
        undo.push({ step: `rmdir ${op.path}`, run: () => port.rmdir(op.path) });
        return 'done';
      case 'wait':
        for (const path of op.paths) await waitFor(port, path, hooks.subGroupTimeoutMs ?? 2000);
        return 'done';
      case 'write': {
        const path = await resolve(op.path);
        const before = op.before === 'read-first' ? await readText(port, path) : op.before === 'none' ? undefined : op.before.text;
        try {
          await port.write(path, op.value);
        } catch (e) {
          if (isKernelError(e, 'ENOENT') && op.path.includes(TYPE_GROUP)) {
            const group = path.slice(0, path.lastIndexOf('/'));
            const offered = await port.readdir(group).catch(() => []);
            throw new StepFailed('ENOENT', `this kernel's ${group.split('/').slice(-3, -2)[0]} has no ${path.split('/').pop()} (its ${group.split('/').pop()}/ offers ${offered.join(', ')})`, path);
          }
          throw e;
        }
        if (before !== undefined) undo.push({ step: `write ${JSON.stringify(before.trimEnd())} to ${path}`, run: async () => void (await port.write(path, before)) });
        const back = await readText(port, path);
        if (op.readBack !== undefined ? back !== op.readBack : !readsAs(back, op.declared))
          throw new StepFailed('MISMATCH', `wrote ${JSON.stringify(op.value.trimEnd())} to ${path}, but it reads back ${JSON.stringify(back.trimEnd())}: the kernel stores this attribute in a narrower field or adjusts it`, path);
        return 'done';
      }
      case 'nvmet-link':
        await port.symlink(op.target, op.path);
        undo.push({ step: `rm ${op.path}`, run: () => port.unlink(op.path) });
        return 'done';
      case 'nvmet-unlink':
        await port.unlink(op.path);
        undo.push({ step: `ln -s ${op.target} ${op.path}`, run: () => port.symlink(op.target, op.path) });
        return 'done';
      case 'nvmet-rmdir':
        await port.rmdir(op.path);
        undo.push({ step: `recreate ${op.path}`, run: () => restoreNvmet(port, op.path, op.was) });
        return 'done';
      case 'link': {
        const since = logStart === null ? null : await port.kmsg().then(lastSeq, () => null);
        // nvmet_pci_epf's epc_init copies the subsystem's vendor IDs into the header all its
        // functions share (pci-epf.c): a rollback puts them back after the unlink.
        if (op.nvme !== undefined)
          for (const name of NVME_HEADER_FROM_SUBSYSTEM) {
            const path = `${op.target}/${name}`;
            const was = await readText(port, path);
            undo.push({ step: `write ${JSON.stringify(was.trimEnd())} to ${path}`, run: async () => void (await port.write(path, was)) });
          }
        await port.symlink(op.target, op.path);
        undo.push(
          op.noUndo === undefined
            ? { step: `rm ${op.path}`, run: () => port.unlink(op.path), unlinks: op.epc }
            : { step: `rm ${op.path}`, run: () => Promise.reject(new Error(`left linked: ${op.noUndo}`)) },
        );
        if ((await port.lstat(op.path)).kind !== 'symlink') throw new StepFailed('EIO', `${op.path} is not a link after ln -s`, op.path);
        // Doorbell lines decide nothing by themselves: a vNTB's rows below do (the MSI path logs
        // "Can't find MSI domain for EPC" before an embedded fallback succeeds, pci-ep-msi.c).
        if (op.nvme !== undefined) await expectNvmeController(op.nvme, op.fn, op.path, await recordsAfter(since));
        const failed = (await recordsAfter(since)).filter((r) => r.level <= 3 && !isBindNoise(r.text) && !(isDoorbellNoise(r.text) && (!op.doorbell || op.doorbellRows !== undefined)));
        if (failed.length)
          throw new StepFailed('LOGGED', `ln -s returned 0, but the kernel logged a failure while binding ${op.fn} to ${op.epc}: ${failed.map((r) => r.text).join(' / ')}`, op.path);
        if (op.doorbellRows !== undefined) {
          // pci-epf-vntb.c epf_ntb_db_bar_init: a failed doorbell allocation falls back to polling without an error.
          // One row per doorbell on ITS-pMSI-<epc>, or the embedded doorbell's one shared row.
          const parsed = parseInterrupts(await readText(port, PROC_INTERRUPTS));
          const rows = { length: doorbellsWithHandler(doorbellRows(parsed, op.epc, { embedded: true }), DOORBELL_ACTION.pci_epf_vntb, op.doorbellRows) };
          if (rows.length < op.doorbellRows) {
            const said = (await recordsAfter(since)).map((r) => r.text).filter(isDoorbellNoise);
            throw new StepFailed(
              'NODOORBELL',
              `${op.fn} is bound, but ${PROC_INTERRUPTS} shows ${rows.length} of its ${op.doorbellRows} doorbell rows on chip ${doorbellChip(op.epc)}: vNTB fell back to polling its doorbell registers${said.length ? ` (the kernel logged: ${said.join(' / ')})` : ''}; see \`epctl probe\` for the controller's doorbell verdict`,
              op.path,
            );
          }
        }
        return 'done';
      }
    }
  };

  for (const op of plan.ops) {
    try {
      if (hooks.signal?.aborted) throw new StepFailed('EINTR', `interrupted before ${op.kind} ${'path' in op ? op.path : ''}: rolling back`, 'path' in op ? op.path : '');
      const outcome = await step(op);
      done.push({ op, outcome });
      hooks.progress?.(op, outcome);
      if (op.kind === 'rmdir') await hooks.own?.(op.fn, false);
      if (op.kind === 'nvmet-rmdir' && op.owner !== null) await hooks.own?.(op.owner, false);
    } catch (e) {
      if (e instanceof KernelOops) throw e;
      if (!(e instanceof StepFailed) && !isKernelError(e)) throw e;
      const failure: ApplyFailure = { op, code: e.code, message: e.message, path: e.path, kernelLog: await log(logStart) };
      const rollback = { undone: 0, errors: [] as { step: string; message: string }[] };
      const attempt = async (step: string, run: () => Promise<unknown>): Promise<boolean> => {
        try {
          await run();
          return true;
        } catch (err) {
          if (err instanceof KernelOops) throw err;
          rollback.errors.push({ step, message: (err as Error).message });
          return false;
        }
      };
      // Controllers the rollback stops before taking a link off them, started again at the end.
      const restart: string[] = [];
      for (const u of undo.reverse()) {
        if (u.unlinks !== undefined && !restart.includes(u.unlinks)) {
          const start = `${CONTROLLERS}/${u.unlinks}/start`;
          if ((await readText(port, start).catch(() => '')) === formatStart(true)) {
            if (!(await attempt(`echo 0 > ${start}`, () => port.write(start, formatStart(false))))) continue;
            restart.push(u.unlinks);
          }
        }
        if (await attempt(u.step, u.run)) rollback.undone++;
      }
      for (const epc of restart) await attempt(`echo 1 > ${CONTROLLERS}/${epc}/start`, () => port.write(`${CONTROLLERS}/${epc}/start`, formatStart(true)));
      return { ok: false, done, failure, rollback, warnings, kernelLog: await log(logStart) };
    }
  }
  return { ok: true, done, warnings, kernelLog: await log(logStart) };
}

/**
 * Error-level lines a successful bind prints on every EPC without a DMA engine: pci-epf-test.c
 * pci_epf_test_init_dma_chan falls back to memcpy (observed on the real 7.3.4 lane kernel:
 * "Failed to get DMA channel" is dev_err).
 */
function isBindNoise(text: string): boolean {
  return /: Failed to get (private DMA rx channel|DMA channel)\b/.test(text);
}

/** pci-ep-msi.c: a function that did not ask for doorbells may log failing to get one and go on polling. */
function isDoorbellNoise(text: string): boolean {
  return /Failed to allocate doorbell|Can't find MSI domain for EPC|Mutable MSI controller not supported|Failed to allocate MSI|doesn't support multiple EPF/.test(text);
}


/**
 * After an nvmet_pci_epf link: its epc_init made a controller, or only logged why not
 * (drivers/nvme/target/pci-epf.c; since ≈6.11 pci-epc-core.c does not pass the error back, so
 * `ln -s` returned 0). Success is its own line, `New PCI ctrl "<nqn>", N I/O queues, mdts M B`;
 * each known failure line is turned into what to do.
 */
async function expectNvmeController(want: { nqn: string; port: number }, fn: string, path: string, records: KmsgRecord[]): Promise<void> {
  const lines = records.map((r) => r.text);
  const made = lines.find((l) => l.includes(`New PCI ctrl "${want.nqn}"`));
  if (made) return;
  const said = lines.filter((l) => /nvmet|nvme|null_blk/i.test(l));
  const has = (re: RegExp): string | undefined => said.find((l) => re.test(l));
  const fix = has(/Port not found/)
    ? `nvmet port ${want.port} is missing or has no subsystem linked (a port is enabled only by its subsystems/ link): check ${NVMET_PORTS}/${want.port}/subsystems/, then apply again`
    : has(/Invalid maximum number of queues/)
      ? 'give the function at least 2 interrupt vectors (msix_interrupts, or msi_interrupts where the controller has no MSI-X)'
      : has(/not allowed/)
        ? 'set attr_allow_any_host to 1 on the subsystem: nvmet_pci_epf connects with a random host NQN'
        : has(/connect request for invalid subsystem|Failed to create target controller/)
          ? `nvme/subsysnqn does not name an existing subsystem (a write without its trailing newline loses the last character): it must read ${want.nqn}`
          : has(/Protection information/)
            ? 'turn protection information off on the subsystem (attr_pi_enable 0)'
            : has(/BAR 0/)
              ? 'nvmet_pci_epf needs BAR 0 free and 64-bit on this controller; it cannot serve NVMe here'
              : 'see the kernel log lines below, and `epctl status`';
  throw new StepFailed(
    'LOGGED',
    `ln -s returned 0, but nvmet_pci_epf made no NVMe controller for ${fn} (no "New PCI ctrl \"${want.nqn}\"" in the kernel log${said.length ? `; it logged: ${said.join(' / ')}` : ''}); fix: ${fix}`,
    path,
  );
}

/** Makes an nvmet subsystem, namespace or port again from what was read before its rmdir (a rollback). */
async function restoreNvmet(port: KernelPort, path: string, was: { kind: 'subsystem' | 'namespace' | 'port'; attributes: Record<string, AttributeRead> }): Promise<void> {
  await port.mkdir(path);
  for (const name of RESTORE_ORDER[was.kind]) {
    const a = was.attributes[name];
    if (!a || !('text' in a)) continue;
    const now = await readText(port, `${path}/${name}`).catch(() => undefined);
    if (now === a.text) continue;
    // An unset device_path reads "(null)", an unset port address reads empty: nothing to restore.
    if ((name === 'device_path' && a.text === '(null)\n') || a.text === '\n') continue;
    await port.write(`${path}/${name}`, a.text);
  }
}

/** Polls until PATH exists (primary/ made by delayed work before 7.0, c7a1d2620a29). */
async function waitFor(port: KernelPort, path: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await port.exists(path)) return;
    if (Date.now() > end) throw new StepFailed('ETIMEDOUT', `${path} did not appear within ${timeoutMs} ms after mkdir`, path);
    await new Promise((r) => setTimeout(r, 10));
  }
}
