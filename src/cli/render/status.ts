// The human view of a StatusState: controllers with their files and linked functions, then each
// function with its links and attributes, then the problems with their fixes.
import type { NvmeEndpointStatus } from '../../status/nvme.js';
import type { StatusState } from '../../status/status.js';
import type { AttributeRead } from '../../configfs/observe.js';
import { linkLines } from './doorbell.js';

const shown = (a: AttributeRead): string => ('errno' in a ? `(${a.errno})` : a.text.trimEnd() === '' ? '""' : a.text.trimEnd().replace(/\n/g, '\\n'));
const attrs = (r: Record<string, AttributeRead>): string =>
  Object.entries(r)
    .map(([k, v]) => `${k}=${shown(v)}`)
    .join(' ');

export function renderStatus(s: StatusState): string {
  const out: string[] = [];
  const src = s.source.backend === 'fake' ? `${s.source.origin} (simulated board)` : s.source.backend === 'sysroot' ? `${s.source.origin} (recorded board)` : 'this system';
  out.push(`board      ${src}`);
  if (s.pciEp.present) {
    out.push(`drivers    ${s.pciEp.drivers.join(' ') || '(none registered)'}`);
    for (const c of s.pciEp.controllers) {
      out.push('', `controller ${c.name}  ${attrs(c.files)}`, `  functions: ${c.functions.join(', ') || '(none linked)'}`);
      const link = s.links[c.name];
      if (link) out.push(...linkLines(link).map((l) => `  ${l}`));
    }
    if (s.pciEp.functions.length === 0) out.push('', 'no functions (mkdir functions/<driver>/<name> makes one; `epctl apply` will)');
    for (const f of s.pciEp.functions) {
      const links = [
        f.controllers.length ? `linked to ${f.controllers.join(', ')}` : 'not linked',
        f.primary ? `primary ${f.primary}` : '',
        f.secondary ? `secondary ${f.secondary}` : '',
        f.virtualFunctions.length ? `VFs ${f.virtualFunctions.join(', ')}` : '',
      ].filter(Boolean);
      const mine = s.ownership?.functions.includes(`${f.driver}/${f.name}`) ? '  (made by epctl)' : '';
      out.push('', `function ${f.driver}/${f.name}  ${links.join('; ')}${mine}`, `  ${attrs(f.attributes)}`);
      if (f.typeGroup) out.push(`  ${f.typeGroup.name}/ ${attrs(f.typeGroup.attributes)}`);
      const r = s.readiness[`${f.driver}/${f.name}`];
      if (r && (f.driver === 'pci_epf_test' || f.driver === 'pci_epf_vntb')) out.push(`  doorbell: ${r.mode}, ${r.ready ? 'ready' : 'not ready'}: ${r.reason}`);
      const n = s.nvme.find((x) => x.function === `${f.driver}/${f.name}`);
      if (n) out.push(...nvmeLines(n).map((l) => `  ${l}`));
    }
  }
  for (const p of s.problems) out.push('', `error: ${p.message}`, `  fix: ${p.hint}`);
  return out.join('\n') + '\n';
}

/** An NVMe endpoint: its subsystem and port in the nvmet tree, and its controller as the log tells it. */
function nvmeLines(n: NvmeEndpointStatus): string[] {
  const ns = n.subsystem.namespaces.map((x) => `${x.nsid}=${x.device ?? '(no device)'}${x.enabled ? '' : ' (disabled)'}`).join(', ');
  const sub = n.subsystem.present ? `subsystem ${n.nqn}: ${ns || 'no namespaces'}${n.subsystem.allowAnyHost === false ? '; allow_any_host 0: the controller cannot connect' : ''}` : `subsystem ${n.nqn}: missing from the nvmet tree`;
  const port = n.nvmetPort.present ? `port ${n.port}: ${n.nvmetPort.trtype || '(no trtype)'}${n.nvmetPort.exports ? '' : `, does not export ${n.nqn}`}` : `port ${n.port}: missing from the nvmet tree`;
  const c = n.controller;
  const ctrl = c
    ? `NVMe controller ${c.device}: ${c.ioQueues} I/O queues, mdts ${c.mdtsBytes / 1024} KiB, link ${c.link}, ${c.hostEnabled ? 'enabled by the host' : 'not enabled by the host yet'}`
    : n.epc === null
      ? 'NVMe controller: none (not linked to a controller)'
      : `NVMe controller: none: ${n.problem ?? 'unknown'}`;
  return [sub, port, ctrl];
}
