// What changed between kernel releases in the PCI endpoint userspace ABI: one entry per
// behaviour that differs by release, each with the kernel change that brought it. The fake kernel models a
// release through these flags; epctl's own code reads the same flags (e.g. to treat EALREADY
// from `start` as "already in that state"). The /proc/interrupts layout and IPI rows live with
// their renderer in src/fake/irq.ts (kernel/irq/proc.c).
import { atLeast, type KernelVersion } from './version.js';

export interface KernelBehaviour {
  /** pci-ep-cfs.c pci_epc_start_store: writing the cached value → EALREADY (v6.5). */
  startEalready: boolean;
  /**
   * pci-epc-core.c epc_init event (≈v6.11): a function's MSI/MSI-X/header setup runs after bind,
   * its errors are logged and `ln -s` succeeds. Before: inside bind, `ln -s` fails EINVAL.
   */
  epcInitAfterBind: boolean;
  /** pci-epf-test.c "Allow overriding default BAR sizes" (930e343cde6c): type group pci_epf_test.N/. Observed 7.3.4; first release not confirmed, modelled from 7.3. */
  testTypeGroup: boolean;
  /**
   * Observed 7.3.4 (first release not confirmed, modelled from 7.3): type-group writes → EOPNOTSUPP
   * while the function is attached; vNTB db_count range 3..32 at write; mwN > num_mws → ERANGE.
   */
  strictTypeGroups: boolean;
  /** drivers/pci/endpoint/pci-ep-msi.c: the RC-to-EP doorbell (v6.17, 1c3b002c6bf6). */
  doorbell: boolean;
  /**
   * pci-epf-test.c DISABLE_DOORBELL points the doorbell BAR back at its memory with
   * pci_epc_set_bar(&epf->bar[bar]) (v6.18, the RK3588 "works once" fix); v6.17 called
   * pci_epc_clear_bar(&epf_test->db_bar) instead, leaving the BAR without an inbound window.
   */
  testDoorbellRestoresBar: boolean;
  /**
   * pci-ep-msi.c refuses a domain that is not an MSI parent (ENODEV, silent) or not immutable
   * ("Mutable MSI controller not supported"): shipped with the core in v6.17 (1f2ed78e43ab).
   */
  doorbellImmutableCheck: boolean;
  /** pci_epf_alloc_doorbell() returns EBUSY when db_msg is already set: after v6.17, release not dated (modelled from 7.3). */
  doorbellBusyCheck: boolean;
  /**
   * pci_epf_alloc_doorbell() split into an MSI path and the embedded (DMA) doorbell fallback
   * (pci-ep-msi.c, pci-epc-core.c pci_epc_get_aux_resources(); in 7.3.4, first release not
   * dated): "Failed to allocate doorbell: %d", "Doorbell doesn't support multiple EPF", and an
   * EPC without auxiliary resources turns the MSI path's ENODEV into EOPNOTSUPP (-95).
   * The series (a3a079e5c5b7 "pci-ep-msi: Refactor doorbell allocation for new backends",
   * e4f26243953f "Add embedded doorbell fallback", ec2075cfc629 "dwc: ep: Expose integrated
   * eDMA resources via EPC aux-resource API") was in the PCI tree's next branch in May 2026,
   * which points at v7.2 [inferred]; still modelled from 7.3, the release observed.
   */
  doorbellRefactored: boolean;
  /**
   * include/linux/pci-epc.h struct pci_epc_bar_rsvd_region: a BAR_RESERVED BAR can describe what
   * sits behind it (PCI_EPC_BAR_RSVD_DMA_CTRL_MMIO: RK3588's BAR4, devicetree/dwc.ts), and
   * dw_pcie_ep_get_aux_resources() reports the embedded doorbell in that BAR. "PCI: endpoint:
   * Describe reserved subregions within BARs" (f51644eb40a7 in linux-next, March 2026, with
   * 7.1 material): v7.1 [inferred; mainline hash not checked]. Read in 7.3.4.
   */
  barRsvdRegions: boolean;
  /**
   * pcie-designware-ep.c dw_pcie_ep_set_bar() switches on the BAR's type and refuses any other
   * than fixed, programmable or resizable: a BAR_RESERVED BAR → dev_err "Invalid BAR type",
   * -EINVAL. From 3a3d4cabe681 ("PCI: dwc: ep: Allow EPF drivers to configure the size of
   * Resizable BARs", applied Feb 2025: v6.15 [inferred]); read in 7.3.4. 6.12.117's set_bar
   * has no type check and programs a reserved BAR like any other.
   */
  dwcSetBarChecksType: boolean;
  /** pci-epf-vntb.c MSI doorbells (v6.19, dc693d606644). */
  vntbDoorbell: boolean;
  /** vNTB type group ctrl_bar/db_bar/mwN_bar (v6.18.y and newer). */
  vntbBarAttributes: boolean;
  /** lib/bug.c splat format "WARNING: <file>:<line> at <func>, CPU#n: comm/pid" (observed 7.3.4; older: "WARNING: CPU: n PID: p at …"). */
  newWarnFormat: boolean;
  /** lib/dump_stack.c dump_stack_print_info prints "UID: %u" ("report process UID", Suren Baghdasaryan, June 2024, akpm tree: v6.11 [inferred release]). */
  dumpStackUid: boolean;
  /**
   * pci-ep-cfs.c: primary/ and secondary/ made by delayed work after mkdir, up to 6.19; in mkdir
   * itself from c7a1d2620a29 (likely v7.0). Before, a fast mkdir + rmdir can oops (c7a1d2620a29's reproducer).
   */
  subGroupsDelayed: boolean;
  /**
   * pci-ep-cfs.c pci_{primary,secondary}_epc_epf_unlink took (epc_item, epf_item) in the wrong
   * order since e85a2d783762 (v5.12); the fix is Cc stable, unlink through primary/ was harmless
   * on 7.3.4 [inferred fixed by 7.3]; before, such an unlink can oops (item order since e85a2d783762).
   */
  subLinkUnlinkSafe: boolean;
  /**
   * Call-trace frames below the configfs callback of symlink(2) and unlink(2) (arch/arm64 entry
   * and fs/namei.c). Observed 7.3.4 by the differential: filename_symlinkat/filename_unlinkat and
   * the el0 entry frames; older kernels keep the frames of the 7.3.4 oopses observed before [abbreviated].
   */
  syscallFrames: { symlink: readonly string[]; unlink: readonly string[] };
  /**
   * A second vNTB bind in one boot is harmless. Not on 6.12.117: the differential saw the second
   * vNTB function linked in a boot oops ("Unable to handle kernel paging request" in dev_uevent ←
   * device_add ← ntb_register_device ← pci_vntb_probe ← __pci_register_driver ← epf_ntb_bind);
   * the cause (re-registering pci-vntb after an unbind) is [inferred]. Observed fine on 7.3.4.
   */
  vntbRebindSafe: boolean;
  /** pci-epf-vntb.c db_count checked at bind against 1..32 ("DB count N out of range (1 - 32)"): observed 6.12.117 by the differential; 7.3 checks 3..32 at write (strictTypeGroups); 6.1 not observed. */
  vntbDbRangeAtBind: boolean;
  /** vNTB unbind removes its virtual PCI bus ("busn_res: [bus NN-ff] is released"): observed 7.3.4; not on 6.12.117 (differential). */
  vntbRemovesBus: boolean;
  /** drivers/nvme/target/pci-epf.c, the NVMe endpoint function nvmet_pci_epf (v6.14) [source]. */
  nvmetPciEpf: boolean;
  /**
   * drivers/pci/controller/dwc/pcie-designware-debugfs.c (v6.15, Hans Zhang): DesignWare
   * controllers get debugfs dwc_pcie_<dev>/ltssm_status, mode 0444, "%s (0x%02x)\n".
   */
  dwcLtssmDebugfs: boolean;
  /**
   * WARN splat details seen by the differential: "cut here" printed at level 6 on 7.3.4 and 4 on
   * 6.12.117; the CPU line ends in two spaces (7.3.4, after PREEMPTLAZY) or one (6.12.117); the first
   * frame is marked " (P)" on 7.3.4 only. 6.1 keeps the earlier model (no trailing space) [not observed].
   */
  splat: { cutHereLevel: number; cpuLineTail: string; firstFrameMark: boolean; taintFlags: number };
  /** Line of pci_epf_test_bind's WARN_ON_ONCE(!epc) (pci-epf-test.c): 1348 observed 7.3.4, 902 observed 6.12.117 (differential). */
  epfTestBindWarnLine: number;
  /** Line numbers of the WARN_ON_ONCE(start) sites in pci-ep-cfs.c (6.1 :239, 6.12/7.3.4 :251, primary :143 observed 7.3.4). */
  warnLines: { controllers: number; primary: number; secondary: number };
}

/** arch/arm64/kernel/entry-common.c frames under every syscall (observed 7.3.4; invoke_syscall inlined). */
const EL0_FRAMES = ['do_el0_svc', 'el0_svc', 'el0t_64_sync_handler', 'el0t_64_sync'];

export function kernelBehaviour(v: KernelVersion): KernelBehaviour {
  const v73 = atLeast(v, '7.3');
  return {
    startEalready: atLeast(v, '6.5'),
    epcInitAfterBind: atLeast(v, '6.11'),
    testTypeGroup: v73,
    strictTypeGroups: v73,
    doorbell: atLeast(v, '6.17'),
    testDoorbellRestoresBar: atLeast(v, '6.18'),
    doorbellImmutableCheck: atLeast(v, '6.17'),
    doorbellBusyCheck: v73,
    doorbellRefactored: v73,
    barRsvdRegions: atLeast(v, '7.1'),
    dwcSetBarChecksType: atLeast(v, '6.15'),
    vntbDoorbell: atLeast(v, '6.19'),
    vntbBarAttributes: atLeast(v, '6.18'),
    newWarnFormat: v73,
    subGroupsDelayed: !atLeast(v, '7.0'),
    nvmetPciEpf: atLeast(v, '6.14'),
    dwcLtssmDebugfs: atLeast(v, '6.15'),
    vntbRemovesBus: v73,
    vntbDbRangeAtBind: atLeast(v, '6.12') && !v73,
    vntbRebindSafe: v73,
    // taintFlags: columns of "Tainted: G…" (kernel/panic.c taint_flags): 20 on 7.3.4, 19 on 6.12.117.
    splat: v73
      ? { cutHereLevel: 6, cpuLineTail: ' PREEMPTLAZY  ', firstFrameMark: true, taintFlags: 20 }
      : atLeast(v, '6.12')
        ? { cutHereLevel: 4, cpuLineTail: ' ', firstFrameMark: false, taintFlags: 19 }
        : { cutHereLevel: 6, cpuLineTail: '', firstFrameMark: true, taintFlags: 20 },
    epfTestBindWarnLine: atLeast(v, '6.12') && !v73 ? 902 : 1348,
    syscallFrames: v73
      ? {
          symlink: ['configfs_symlink', 'vfs_symlink', 'filename_symlinkat', '__arm64_sys_symlinkat', ...EL0_FRAMES],
          unlink: ['configfs_unlink', 'vfs_unlink', 'filename_unlinkat', '__arm64_sys_unlinkat', ...EL0_FRAMES],
        }
      : atLeast(v, '6.12')
        ? // unlink observed 6.12.117 (differential); symlink by analogy (do_symlinkat) [inferred].
          {
            symlink: ['configfs_symlink', 'vfs_symlink', 'do_symlinkat', '__arm64_sys_symlinkat', ...EL0_FRAMES],
            unlink: ['configfs_unlink', 'vfs_unlink', 'do_unlinkat', '__arm64_sys_unlinkat', ...EL0_FRAMES],
          }
        : { symlink: ['configfs_symlink', 'vfs_symlink', '__arm64_sys_symlinkat'], unlink: ['configfs_unlink', 'vfs_unlink', 'do_unlinkat', '__arm64_sys_unlinkat'] },
    subLinkUnlinkSafe: v73,
    dumpStackUid: atLeast(v, '6.11'),
    // 6.1's controllers site is observed (:239); its primary/secondary lines and every
    // secondary line are read off the source layout [inferred].
    warnLines: atLeast(v, '6.5')
      ? { controllers: 251, primary: 143, secondary: 82 }
      : { controllers: 239, primary: 138, secondary: 77 },
  };
}
