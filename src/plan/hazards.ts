// The configfs sequences that crash a kernel, as rules the planner obeys (one home). Each
// rule names the kernel code or the observation behind it; the version-dependent facts come
// from src/kernel/behaviour.ts.
//
// H-bound: pci_epf_bind() (drivers/pci/endpoint/pci-epf-core.c) sets epf->is_bound after the
//   first successful bind and nothing clears it, so a later bind that FAILS runs
//   pci_epf_unbind() on a function that was not set up: NULL dereference in the driver's
//   unbind (observed 7.3.4 through secondary/ and through a PF holding such a VF). Nothing
//   in configfs shows whether a function was bound before, so epctl never binds an existing
//   function again: it recreates it (rmdir + mkdir gives a new EPF device).
// H-secondary-only: a vNTB function linked only through secondary/ binds as a no-op, and its
//   unlink crashes in epf_ntb_unbind → pci_unregister_driver (observed 7.3.4): epctl never
//   links secondary/ without primary/, and refuses to tear one down.
// H-swapped-unlink: before 7.3 the primary/ and secondary/ unlink handlers take their items
//   in the wrong order (e85a2d783762): epctl links one-controller functions through
//   controllers/ there and refuses a primary/ or secondary/ unlink.
// H-delayed-groups: before 7.0 primary/ and secondary/ appear from delayed work; a fast
//   mkdir + rmdir races it (c7a1d2620a29): epctl waits for them after every mkdir.
// H-vntb-rebind: on 6.12.117 the second vNTB function bound in one boot oopsed in dev_uevent
//   under pci_vntb_probe (observed by the differential; fine on 7.3.4): there epctl never binds
//   a vNTB function again in a boot (no recreate of a linked one, no re-link in a rollback).
// H-one-vntb: epf_ntb_bind registers the one PCI driver "pci-vntb" (pci-epf-vntb.c), so a second
//   vNTB function bound while one is fails with EBUSY (observed 7.3.4): one at a time.
import { kernelBehaviour } from '../kernel/behaviour.js';
import type { KernelVersion } from '../kernel/version.js';

export interface HazardRules {
  /** Link one-controller functions declared with `primary` through controllers/ instead. */
  linkPrimaryThroughControllers: boolean;
  /** Unlinking through primary/ or secondary/ may crash: refuse it. */
  refuseSubGroupUnlink: boolean;
  /** Wait for primary/ and secondary/ after mkdir, before anything else touches the function. */
  waitForSubGroups: boolean;
  /** A vNTB function may be bound once per boot (H-vntb-rebind). */
  vntbBindOncePerBoot: boolean;
}

export function hazardRules(v: KernelVersion | null): HazardRules {
  // An unknown release gets every precaution.
  const b = v ? kernelBehaviour(v) : undefined;
  const swapped = !(b?.subLinkUnlinkSafe ?? false);
  return {
    linkPrimaryThroughControllers: swapped,
    refuseSubGroupUnlink: swapped,
    waitForSubGroups: b?.subGroupsDelayed ?? true,
    vntbBindOncePerBoot: !(b?.vntbRebindSafe ?? false),
  };
}

export const HAZARD_REASON = {
  rebind: 'a function bound once keeps epf->is_bound (pci-epf-core.c), and if binding it again fails the kernel crashes in its unbind; epctl recreates it (rmdir + mkdir) instead',
  secondaryOnly: 'a vNTB function linked only through secondary/ crashes the kernel when unlinked (epf_ntb_unbind); reboot to remove it',
  vntbSecondary: 'vNTB binds through its primary controller only (pci-epf-vntb.c), and a vNTB function linked through secondary/ crashes the kernel when that link is removed (epf_ntb_unbind)',
  swappedUnlink: 'before Linux 7.3 the primary/ and secondary/ unlink handlers take their arguments in the wrong order (e85a2d783762) and can crash the kernel',
  vntbRebind: 'on this kernel a second vNTB bind in one boot crashes it (observed on 6.12.117: dev_uevent under pci_vntb_probe), and this one was bound before',
  oneVntb: 'only one vNTB function can be bound at a time: each registers the one PCI driver "pci-vntb" (pci-epf-vntb.c epf_ntb_bind), and a second fails with EBUSY',
} as const;
