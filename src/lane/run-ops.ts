// The one executor of differential Ops: the guest runs it over the live kernel (RealKernel +
// /dev/kmsg) and the host over the fake kernel, so both sides issue exactly the same calls.
// It executes and reports; it never decides what is right.
import type { KernelPort } from '../kernel/port.js';
import { KernelOops } from '../kernel/errors.js';
import { PROC_INTERRUPTS } from '../procfs/interrupts.js';
import type { KernelLogTap } from './kmsg.js';
import { kernelPath, TYPE_GROUP, type Op, type OpResult } from './ops.js';

/** How a run behaves on this kernel and whom it tells as it goes. */
export interface RunOptions {
  /**
   * Kernels that create primary/ and secondary/ by delayed work (before 7.0, c7a1d2620a29
   * fixed it): after a successful function mkdir, wait until both exist, as a careful tool does.
   */
  settleSubGroups?: boolean;
  /** Told before each Op runs (the guest reports it, so a hang names its Op). */
  onStart?: (index: number, op: Op) => void;
  /** Told of each result as it comes. */
  onResult?: (index: number, result: OpResult) => void;
}

/** How long a settle waits for the delayed sub-groups before going on (they come within ms). */
const SETTLE_TRIES = 500;
const SETTLE_STEP_MS = 2;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `ops` in order; stops after an Op that oopsed (a real kernel never returns from it). */
export async function runOps(port: KernelPort, log: KernelLogTap, ops: readonly Op[], opts: RunOptions = {}): Promise<OpResult[]> {
  const results: OpResult[] = [];
  for (const [i, op] of ops.entries()) {
    opts.onStart?.(i, op);
    const r = await runOp(port, op, opts);
    r.log = log.drain();
    results.push(r);
    opts.onResult?.(i, r);
    if (r.ret === 'oops') break;
  }
  return results;
}

async function runOp(port: KernelPort, given: Op, opts: RunOptions): Promise<OpResult> {
  try {
    const op = await resolveTypeGroup(port, given);
    const r = await call(port, op);
    if (op.op === 'mkdir' && opts.settleSubGroups && isFunctionDir(op.path)) await settle(port, kernelPath(op.path));
    return r;
  } catch (e) {
    if (e instanceof KernelOops) return { ret: 'oops', log: [] };
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return { ret: code, log: [] };
    throw e;
  }
}

async function call(port: KernelPort, op: Op): Promise<OpResult> {
  const ok = (extra: Omit<OpResult, 'ret' | 'log'> = {}): OpResult => ({ ret: 'ok', ...extra, log: [] });
  switch (op.op) {
    case 'mkdir':
      await port.mkdir(kernelPath(op.path));
      return ok();
    case 'rmdir':
      await port.rmdir(kernelPath(op.path));
      return ok();
    case 'write':
      return ok({ count: await port.write(kernelPath(op.path), Buffer.from(op.data, 'latin1')) });
    case 'read':
      return ok({ data: Buffer.from(await port.read(kernelPath(op.path))).toString('latin1') });
    case 'readdir':
      return ok({ names: await port.readdir(kernelPath(op.path)) });
    case 'symlink':
      await port.symlink(kernelPath(op.target), kernelPath(op.path));
      return ok();
    case 'unlink':
      await port.unlink(kernelPath(op.path));
      return ok();
    case 'create':
      await port.create(kernelPath(op.path), op.exclusive ? { exclusive: true } : {});
      return ok();
    case 'rename':
      await port.rename(kernelPath(op.path), kernelPath(op.to));
      return ok();
    case 'lstat': {
      const s = await port.lstat(kernelPath(op.path));
      return ok({ stat: { kind: s.kind, mode: s.mode, size: s.size, nlink: s.nlink, uid: s.uid, gid: s.gid } });
    }
    case 'readlink':
      return ok({ link: await port.readlink(kernelPath(op.path)) });
    case 'interrupts': {
      const text = Buffer.from(await port.read(PROC_INTERRUPTS)).toString('latin1');
      return ok({ rows: text.split('\n').filter((l) => /\sITS-pMSI-\S/.test(l)) });
    }
  }
}

/**
 * `functions/<driver>/<name>/@group/...`: the type group is named after the EPF device
 * (`<driver>.<N>`, N from the IDR), which only the kernel knows, so it is found by listing the
 * function directory (nvmet_pci_epf names it nvme); when there is none the name stays and the call
 * fails as the kernel says.
 */
async function resolveTypeGroup(port: KernelPort, op: Op): Promise<Op> {
  if (!('path' in op) || !op.path.includes(`/${TYPE_GROUP}`)) return op;
  const parts = op.path.split('/');
  const at = parts.indexOf(TYPE_GROUP);
  if (at !== 3 || parts[0] !== 'functions') return op;
  let names: string[] = [];
  try {
    names = await port.readdir(kernelPath(parts.slice(0, 3).join('/')));
  } catch {
    return op;
  }
  const group = names.find((n) => n.startsWith(`${parts[1]}.`));
  return group === undefined ? op : { ...op, path: [...parts.slice(0, 3), group, ...parts.slice(4)].join('/') };
}

/** functions/<driver>/<name>: a function directory (where the delayed sub-groups appear). */
function isFunctionDir(rel: string): boolean {
  const parts = rel.split('/');
  return parts.length === 3 && parts[0] === 'functions';
}

async function settle(port: KernelPort, dir: string): Promise<void> {
  for (let i = 0; i < SETTLE_TRIES; i++) {
    if ((await port.exists(`${dir}/primary`)) && (await port.exists(`${dir}/secondary`))) return;
    await sleep(SETTLE_STEP_MS);
  }
}
