// `epctl status`: the pci_ep configfs tree as it is now (configfs/observe.ts), the nvmet tree
// and the NVMe endpoints on it (status/nvme.ts), with the problems met while reading them. Read-only; the JSON is what plan will diff against.
import type { KernelPort } from '../kernel/port.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { PCI_EP } from '../configfs/paths.js';
import { observePciEp, type PciEpState } from '../configfs/observe.js';
import { attempter, type Problem } from '../probe/probe.js';
import { EpctlError } from '../kernel/errors.js';
import { doorbellStatus, type FunctionDoorbellMode } from '../doorbell/status.js';
import type { LinkState } from '../debugfs/ltssm.js';
import { observeNvmet, type NvmetState } from '../configfs/nvmet.js';
import { nvmeStatus, type NvmeEndpointStatus } from './nvme.js';

export interface StatusState {
  source: { backend: KernelPort['backend']; origin: string };
  pciEp: PciEpState;
  /** What epctl made here (its state file), or null when this board has no record. */
  ownership: { stateFile: string; functions: string[] } | null;
  /** Per function (`<driver>/<name>`): whether its RC-to-EP doorbells are ready, and why (doorbell/status.ts). */
  readiness: Record<string, { ready: boolean; reason: string; mode: FunctionDoorbellMode }>;
  /** Per controller: the link state (DesignWare debugfs ltssm_status), or why there is none. */
  links: Record<string, LinkState>;
  /** The nvmet tree (subsystems, namespaces, ports). */
  nvmet: NvmetState;
  /** Per nvmet_pci_epf function: its subsystem, port and controller (status/nvme.ts). */
  nvme: NvmeEndpointStatus[];
  problems: Problem[];
}

export async function status(port: KernelPort, ownership: StatusState['ownership'] = null): Promise<StatusState> {
  const problems: Problem[] = [];
  const pciEp = await observePciEp(port, attempter(problems));
  if (!pciEp.present)
    problems.push({ code: 'no-endpoint-configfs', exitCode: EXIT.NO_ENDPOINT, path: PCI_EP, message: `${PCI_EP} does not exist`, hint: 'run `epctl probe`: it says whether configfs is mounted and whether the kernel has CONFIG_PCI_ENDPOINT_CONFIGFS' });
  // Readiness and link come from the doorbell model; what it finds wrong is `epctl doorbell status`'s
  // to report, so a board it cannot read leaves them empty and status as it was.
  const db = pciEp.present ? await doorbellStatus(port, pciEp).catch((e: unknown) => (e instanceof EpctlError ? undefined : Promise.reject(e))) : undefined;
  const readiness: StatusState['readiness'] = {};
  for (const f of [...(db?.controllers.flatMap((c) => c.functions) ?? []), ...(db?.unlinked ?? [])]) readiness[f.function] = { ready: f.ready, reason: f.reason, mode: f.mode };
  const links = Object.fromEntries((db?.controllers ?? []).map((c) => [c.name, c.link]));
  const nvmet = await observeNvmet(port, attempter(problems));
  // The controller's life is only in the kernel log; an unreadable log (dmesg_restrict) leaves it unknown.
  const nvme = pciEp.functions.some((f) => f.driver === 'nvmet_pci_epf') ? nvmeStatus(pciEp, nvmet, await port.kmsg().catch(() => [])) : [];
  return { source: { backend: port.backend, origin: port.origin }, pciEp, ownership, readiness, links, nvmet, nvme, problems };
}

export function statusExitCode(s: StatusState): ExitCode {
  return s.problems[0]?.exitCode ?? EXIT.OK;
}
