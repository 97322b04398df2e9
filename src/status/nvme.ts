// The NVMe endpoints on a board, for `epctl status`: each nvmet_pci_epf function with the
// subsystem and port its nvme/ group names (as the nvmet tree has them), and its controller's
// life as the kernel log tells it — configfs shows no controller state at all.
// Log lines (drivers/nvme/target/pci-epf.c, "<driver> <device>: <text>"; observed 7.3.4):
//   New PCI ctrl "<nqn>", <n> I/O queues, mdts <bytes> B   controller made at the link (epc_init)
//   Destroying PCI ctrl "<nqn>"                             gone (unlink)
//   PCI link up / PCI link down                             the PCIe link (or the start of polling without a link-up notifier)
//   Enabling controller / Disabling controller / Shutting down controller   the host's CC.EN and shutdown
// The function's device name (nvmet_pci_epf.<N>) appears nowhere in configfs: it is matched
// through the NQN of its `New PCI ctrl` line.
import type { KmsgRecord } from '../kernel/port.js';
import { attributeText, type PciEpState } from '../configfs/observe.js';
import { functionKey } from '../configfs/paths.js';
import type { NvmetState } from '../configfs/nvmet.js';
import { functionNvme } from '../plan/nvme.js';

export interface NvmeController {
  /** The EPF device the log names (`nvmet_pci_epf.0`). */
  device: string;
  ioQueues: number;
  mdtsBytes: number;
  /** From the last PCI link up/down line after the controller was made (unknown: none yet). */
  link: 'up' | 'down' | 'unknown';
  /** The host enabled the controller (CC.EN) and has not disabled or shut it down since. */
  hostEnabled: boolean;
}

export interface NvmeEndpointStatus {
  function: string;
  /** The controller (EPC) it is linked to, or null. */
  epc: string | null;
  nqn: string;
  port: number;
  mdtsKb: number | null;
  subsystem: { present: boolean; allowAnyHost: boolean | null; queuePairs: number | null; namespaces: { nsid: number; device: string | null; enabled: boolean }[] };
  /** The nvmet port: present, its transport, and whether it exports this subsystem. */
  nvmetPort: { present: boolean; trtype: string | null; exports: boolean };
  /** The live controller, or null (none made, or destroyed since). */
  controller: NvmeController | null;
  /** Why there is no controller, from the kernel log, when the function is linked. */
  problem: string | null;
}

const LINE = /^nvmet_pci_epf (\S+): (.*)$/;
const NEW_CTRL = /^New PCI ctrl "(.*)", (\d+) I\/O queues, mdts (\d+) B$/;
const FAILURE = /^(Port not found|Invalid maximum number of queues \d+|Failed to create target controller|Protection information \(PI\) is not supported|BAR 0 .*|Virtual functions are not supported)$/;

export function nvmeStatus(pciEp: PciEpState, nvmet: NvmetState, log: readonly KmsgRecord[]): NvmeEndpointStatus[] {
  const out: NvmeEndpointStatus[] = [];
  const linkedNvme = pciEp.functions.filter((f) => f.driver === 'nvmet_pci_epf' && (f.controllers.length > 0 || f.primary !== null)).length;
  for (const f of pciEp.functions) {
    const use = functionNvme(f);
    if (!use) continue;
    const key = functionKey(f.driver, f.name);
    const epc = f.controllers[0] ?? f.primary;
    const s = nvmet.subsystems.find((x) => x.nqn === use.nqn);
    const p = nvmet.ports.find((x) => x.id === use.port);
    const mdts = Number(attributeText(f.typeGroup?.attributes['mdts_kb'])?.trim());
    const qid = Number(attributeText(s?.attributes['attr_qid_max'])?.trim());
    const any = attributeText(s?.attributes['attr_allow_any_host'])?.trim();
    const { controller, problem } = fromLog(use.nqn, log, linkedNvme === 1);
    out.push({
      function: key,
      epc,
      nqn: use.nqn,
      port: use.port,
      mdtsKb: Number.isInteger(mdts) ? mdts : null,
      subsystem: {
        present: s !== undefined,
        allowAnyHost: any === undefined ? null : any === '1',
        queuePairs: Number.isInteger(qid) ? qid : null,
        namespaces: (s?.namespaces ?? []).map((ns) => {
          const dev = attributeText(ns.attributes['device_path'])?.trimEnd();
          return { nsid: ns.nsid, device: dev === undefined || dev === '(null)' ? null : dev, enabled: attributeText(ns.attributes['enable']) === '1\n' };
        }),
      },
      nvmetPort: { present: p !== undefined, trtype: attributeText(p?.attributes['addr_trtype'])?.trimEnd() ?? null, exports: p?.subsystems.some((l) => l.nqn === use.nqn) ?? false },
      // A controller only lives while the function is linked (unbind destroys it).
      controller: epc === null ? null : controller,
      problem: epc === null ? null : controller ? null : (problem ?? 'no "New PCI ctrl" line for this subsystem in the kernel log (it may have rotated out of the ring buffer)'),
    });
  }
  return out;
}

/**
 * The controller for NQN as the log leaves it, or the last failure its device logged. The device
 * is the one whose `New PCI ctrl` named NQN; before any such line, a failure is this endpoint's
 * only when it is the board's only linked nvmet_pci_epf function (ONLY): a failure line names no
 * subsystem.
 */
export function fromLog(nqn: string, log: readonly KmsgRecord[], only: boolean): { controller: NvmeController | null; problem: string | null } {
  let controller: NvmeController | null = null;
  let problem: string | null = null;
  let device: string | null = null;
  for (const r of log) {
    const m = LINE.exec(r.text);
    if (!m) continue;
    const [, dev, text] = m as unknown as [string, string, string];
    const made = NEW_CTRL.exec(text);
    if (made) {
      if (made[1] === nqn) {
        device = dev;
        controller = { device: dev, ioQueues: Number(made[2]), mdtsBytes: Number(made[3]), link: 'unknown', hostEnabled: false };
        problem = null;
      } else if (dev === device) {
        // That device serves another subsystem now.
        device = null;
        controller = null;
      }
      continue;
    }
    if (FAILURE.test(text)) {
      if (controller === null && (dev === device || (device === null && only))) problem = `${dev}: ${text}`;
      continue;
    }
    if (dev !== device || controller === null) continue;
    if (text === `Destroying PCI ctrl "${nqn}"`) controller = null;
    else if (text === 'PCI link up') controller.link = 'up';
    else if (text === 'PCI link down') controller.link = 'down';
    else if (text === 'Enabling controller') controller.hostEnabled = true;
    else if (/^(Disabling|Shutting down) controller$/.test(text)) controller.hostEnabled = false;
  }
  return { controller, problem };
}
