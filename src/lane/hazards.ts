// The one home of "keep clear of what oopses the kernel" for differential Op lists
// (observed 7.3.4 oopses; e85a2d783762's unlink; c7a1d2620a29 is the executor's settle). An oops kills the calling
// thread and hangs the guest, so neither the generator nor the shrinker may emit such a list.
// The rules only use the Ops, never their results, and are closed under removing Ops: every
// sub-list of an admitted list is admitted (the shrinker relies on it).
//
// Kernel facts behind the rules:
// - pci-epf-core.c pci_epf_bind() sets epf->is_bound and nothing clears it; a later failing bind
//   unbinds a function that was not set up (H1, H3). So a function is linked (by any route) at
//   most once per name here, and a VF link needs a VF that was never linked.
// - pci-epf-vntb.c: a vNTB linked only through secondary/ cannot be unlinked (H2): no vNTB or
//   NTB-less secondary/ links except pci_epf_test, whose secondary bind always fails (EINVAL).
// - pci-ep-cfs.c allow_link callbacks cast the target item without checking its type
//   (to_pci_epc_group / to_pci_epf_group): only well-typed link targets.
// - Before the fix of e85a2d783762's item order, unlink through primary/ or secondary/ can oops.
import type { Op } from './ops.js';

/** The version-dependent part of the hazard rules. */
export interface HazardProfile {
  /** KernelBehaviour.subLinkUnlinkSafe. */
  subLinkUnlinkSafe: boolean;
  /** KernelBehaviour.vntbRebindSafe; absent means safe (7.3.4). */
  vntbRebindSafe?: boolean;
}

/** A parsed link: which function it binds through which route, or a VF link. */
type LinkShape =
  /** In a directory without allow_link (pci_ep/, controllers/, functions/<entry>/): EPERM, nothing runs. */
  | { kind: 'none' }
  | { kind: 'epc'; fn: string; route: 'controllers' | 'primary' | 'secondary' }
  | { kind: 'vf'; pf: string; vf: string };

const NAME = /^[^/]+$/;

/** functions/<driver>/<name> → "<driver>/<name>"; undefined for anything else. */
function functionKey(rel: string): string | undefined {
  const p = rel.split('/');
  return p.length === 3 && p[0] === 'functions' && p.every((x) => NAME.test(x) && x !== '.' && x !== '..') ? `${p[1]}/${p[2]}` : undefined;
}

function isController(rel: string): boolean {
  const p = rel.split('/');
  return p.length === 2 && p[0] === 'controllers' && NAME.test(p[1]!) && p[1] !== '.' && p[1] !== '..';
}

/** The shape of a symlink Op, or undefined when it is not one of the well-typed forms. */
export function linkShape(path: string, target: string): LinkShape | undefined {
  const p = path.split('/');
  if (p.some((x) => x === '' || x === '.' || x === '..')) return undefined;
  if (p.length === 1 || (p.length === 2 && (p[0] === 'controllers' || p[0] === 'functions')) || (p.length === 3 && p[0] === 'functions')) return { kind: 'none' };
  if (p.length === 3 && p[0] === 'controllers') {
    const fn = functionKey(target);
    return fn ? { kind: 'epc', fn, route: 'controllers' } : undefined;
  }
  if (p.length === 5 && p[0] === 'functions' && (p[3] === 'primary' || p[3] === 'secondary')) {
    return isController(target) ? { kind: 'epc', fn: `${p[1]}/${p[2]}`, route: p[3] } : undefined;
  }
  if (p.length === 4 && p[0] === 'functions') {
    const vf = functionKey(target);
    return vf ? { kind: 'vf', pf: `${p[1]}/${p[2]}`, vf } : undefined;
  }
  return undefined;
}

/** Tracks a list as it grows and says why an Op would risk an oops. */
export class HazardGuard {
  /** Functions (driver/name) a link to an EPC was ever attempted for. */
  private readonly linked = new Set<string>();
  /** PF → the VFs a VF link was attempted with; and every function used as a VF or as a PF. */
  private readonly vfsOf = new Map<string, Set<string>>();
  private readonly vfs = new Set<string>();

  constructor(private readonly profile: HazardProfile) {}

  /** Why `op` must not run next, or undefined when it is safe. */
  refuse(op: Op): string | undefined {
    if (op.op === 'unlink') {
      const p = op.path.split('/');
      if (p.length === 5 && p[0] === 'functions' && (p[3] === 'primary' || p[3] === 'secondary')) {
        if (p[3] === 'secondary') return 'unlink through secondary/ (the vNTB epf_ntb_unbind oopses 7.3.4 there; never linked here)';
        if (!this.profile.subLinkUnlinkSafe) return 'unlink through primary/ on a kernel without the fix of the unlink arguments e85a2d783762 swapped (pci-ep-cfs.c)';
      }
      return undefined;
    }
    if (op.op !== 'symlink') return undefined;
    const s = linkShape(op.path, op.target);
    if (!s) return 'a link whose target is not the kind its directory expects (allow_link casts it unchecked)';
    if (s.kind === 'none') return undefined;
    if (s.kind === 'epc') {
      if (this.linked.has(s.fn)) return `${s.fn} was linked before: a failing re-bind runs unbind on it (pci_epf_test_unbind oopses 7.3.4)`;
      if ([...(this.vfsOf.get(s.fn) ?? [])].some((vf) => this.linked.has(vf))) return `${s.fn} holds a VF that was linked before (its unbind oopses 7.3.4)`;
      if (s.route === 'secondary' && !s.fn.startsWith('pci_epf_test/')) return 'secondary/ link of a function other than pci_epf_test (epf_ntb_unbind oopses 7.3.4)';
      if (this.profile.vntbRebindSafe === false && s.fn.startsWith('pci_epf_vntb/') && [...this.linked].some((f) => f.startsWith('pci_epf_vntb/')))
        return 'a second vNTB link in one boot on a kernel where it oopsed (KernelBehaviour.vntbRebindSafe)';
      return undefined;
    }
    if (s.pf === s.vf) return 'a function as its own VF';
    if (this.linked.has(s.vf)) return `${s.vf} was linked before and cannot be a VF (its unbind oopses 7.3.4)`;
    if (this.vfs.has(s.pf) || this.vfsOf.has(s.vf)) return 'VF links may not nest';
    return undefined;
  }

  /** Records `op` as part of the list. */
  admit(op: Op): void {
    if (op.op !== 'symlink') return;
    const s = linkShape(op.path, op.target);
    if (s?.kind === 'epc') this.linked.add(s.fn);
    else if (s?.kind === 'vf') {
      this.vfs.add(s.vf);
      const set = this.vfsOf.get(s.pf) ?? new Set<string>();
      set.add(s.vf);
      this.vfsOf.set(s.pf, set);
    }
  }
}

/** The first Op of `ops` the guard refuses, with the reason; undefined when the list is safe. */
export function firstHazard(ops: readonly Op[], profile: HazardProfile): { index: number; reason: string } | undefined {
  const g = new HazardGuard(profile);
  for (const [index, op] of ops.entries()) {
    const reason = g.refuse(op);
    if (reason) return { index, reason };
    g.admit(op);
  }
  return undefined;
}
