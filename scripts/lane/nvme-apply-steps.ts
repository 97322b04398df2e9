// Scenario `nvme-apply` (issue 10 on the real kernel), its steps: the NVMe endpoint as a person declares
// it, through the bundled epctl only. Its steps are written once and run twice — in the guest
// on the real kernel (scripts/lane/guest/nvme-apply.ts) and on the host against the fake
// qemu-virt of the same release (nvme-apply-check.ts, which judges the real run on its own and
// compares a projection of both with jsonDiff; a difference is fixed in the fake, never there).
//
// The steps: plan and apply an nvmet_pci_epf function on the RAM-backed controller (2 MSI-X
// vectors, 1 queue pair, a null_blk namespace) and see `New PCI ctrl "<nqn>", 1 I/O queues`;
// apply again (zero operations); status; a changed model (the function is unlinked before the
// subsystem is made again: the oopses of attr_qid_max and the port unlink under a live
// controller, drivers/nvme/target/configfs.c); then configs whose namespace device exists but
// is no block device, which nvmet_ns_enable refuses (drivers/nvme/target/core.c,
// io-cmd-bdev.c, io-cmd-file.c): apply fails with the kernel's errno and rolls both trees back;
// clear; status empty. Before nvmet_pci_epf (6.14) plan and apply refuse and nothing is written.
import { cmd, type DoorbellEnv } from './doorbell-steps.js';

/** What the steps need of the guest or the fake. */
export type NvmeApplyEnv = Pick<DoorbellEnv, 'epctl' | 'file' | 'kmsg' | 'op' | 'stateFile'>;

export interface NvmeApplyParams {
  readonly epc: string;
  /** The release has nvmet_pci_epf (6.14+, src/kernel/behaviour.ts). */
  readonly supported: boolean;
  /** Namespace devices that exist on the board but cannot serve as a namespace. */
  readonly badDevices: readonly string[];
}

export const NVME_APPLY_NQN = 'nqn.2026-11.io.epctl:lane-apply';
export const MODEL_A = 'epctl lane A';
export const MODEL_B = 'epctl lane B';
/** A directory (configfs's mount point) and a character device: both exist in the guest and on the fake. */
export const BAD_DEVICES = ['/sys/kernel/config', '/dev/kmsg'] as const;

/** The lane's NVMe endpoint config: MODEL, and a null_blk namespace or DEVICE. */
export function nvmeApplyConfig(epc: string, model: string, device?: string): string {
  return `version: 1
controllers:
  ${epc}: { start: true }
functions:
  - driver: nvmet_pci_epf
    name: nvme0
    controller: ${epc}
    header: { deviceid: 0xbeef }
    # The guest has 1 vCPU: one I/O queue pair (plan's online-CPU rule), its vector and the admin queue's.
    msix_interrupts: 2
    nvme:
      nqn: ${NVME_APPLY_NQN}
      port: 1
      queue_pairs: 1
      mdts_kb: 512
      model: ${model}
      serial: EPCTL-LANE-01
      vendor_id: 0x1b36
      subsys_vendor_id: 0x1af4
      namespaces:
        - ${device === undefined ? 'null_blk: true' : `{ device: ${device} }`}
`;
}

export async function nvmeApplySteps(env: NvmeApplyEnv, p: NvmeApplyParams): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const state = ['--state', env.stateFile];
  const a = await env.file('nvme-a.yaml', nvmeApplyConfig(p.epc, MODEL_A));
  out.plan = await cmd(env, ['plan', '-c', a, '--json', ...state]);
  out.apply = await cmd(env, ['apply', '-c', a, '--json', '--yes', ...state]);
  if (!p.supported) {
    out.statusEnd = await cmd(env, ['status', '--json', ...state]);
    return out;
  }
  out.applyAgain = await cmd(env, ['apply', '-c', a, '--json', '--yes', ...state]);
  out.status = await cmd(env, ['status', '--json', ...state]);
  const b = await env.file('nvme-b.yaml', nvmeApplyConfig(p.epc, MODEL_B));
  out.applyB = await cmd(env, ['apply', '-c', b, '--json', '--yes', ...state]);
  out.statusB = await cmd(env, ['status', '--json', ...state]);
  const bad: Record<string, unknown>[] = [];
  for (const [i, device] of p.badDevices.entries()) {
    const f = await env.file(`nvme-bad-${i}.yaml`, nvmeApplyConfig(p.epc, MODEL_B, device));
    bad.push({ device, apply: await cmd(env, ['apply', '-c', f, '--json', '--yes', ...state]), status: await cmd(env, ['status', '--json', ...state]) });
  }
  out.bad = bad;
  out.clear = await cmd(env, ['clear', '--json', '--yes', ...state]);
  out.statusEnd = await cmd(env, ['status', '--json', ...state]);
  return out;
}

