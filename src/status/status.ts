// `epctl status`: the pci_ep configfs tree as it is now (configfs/observe.ts), with the
// problems met while reading it. Read-only; the JSON is what plan will diff against.
import type { KernelPort } from '../kernel/port.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { PCI_EP } from '../configfs/paths.js';
import { observePciEp, type PciEpState } from '../configfs/observe.js';
import { attempter, type Problem } from '../probe/probe.js';

export interface StatusState {
  source: { backend: KernelPort['backend']; origin: string };
  pciEp: PciEpState;
  /** What epctl made here (its state file), or null when this board has no record. */
  ownership: { stateFile: string; functions: string[] } | null;
  problems: Problem[];
}

export async function status(port: KernelPort, ownership: StatusState['ownership'] = null): Promise<StatusState> {
  const problems: Problem[] = [];
  const pciEp = await observePciEp(port, attempter(problems));
  if (!pciEp.present)
    problems.push({ code: 'no-endpoint-configfs', exitCode: EXIT.NO_ENDPOINT, path: PCI_EP, message: `${PCI_EP} does not exist`, hint: 'run `epctl probe`: it says whether configfs is mounted and whether the kernel has CONFIG_PCI_ENDPOINT_CONFIGFS' });
  return { source: { backend: port.backend, origin: port.origin }, pciEp, ownership, problems };
}

export function statusExitCode(s: StatusState): ExitCode {
  return s.problems[0]?.exitCode ?? EXIT.OK;
}
