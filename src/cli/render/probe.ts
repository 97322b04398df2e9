// The human view of a BoardState: a few header lines, one table row per controller, then each
// controller's doorbell reason, fix and warnings, then the problems with their fixes.
import type { BoardState } from '../../probe/probe.js';

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** Never "yes" where the warning says a host's ring would not arrive. */
const verdict = (d: { capable: boolean; mode: string; warnings: string[]; ringLost?: true }): string =>
  d.mode === 'unknown'
    ? 'unknown'
    : d.ringLost
      ? 'no: rings lost, see warning'
      : d.capable
        ? `yes${d.mode === 'its' ? '' : ` (${d.mode === 'embedded' ? 'embedded eDMA' : 'MSI, not ITS'})`}${d.warnings.length ? ', see warning' : ''}`
        : 'no';

/** The count and what it rests on (src/devicetree/outbound.ts). */
function outbound(count: number, source: string | null): string {
  return source === 'num-ob-windows' ? `${count} (DT num-ob-windows, deprecated: the DesignWare driver detects the count in the iATU)` : `${count} (DT ${source})`;
}

export function renderProbe(s: BoardState): string {
  const out: string[] = [];
  const src = s.source.backend === 'fake' ? `${s.source.origin} (simulated board)` : s.source.backend === 'sysroot' ? `${s.source.origin} (recorded board)` : 'this system';
  out.push(`board      ${src}`);
  const cfg = s.kernel.configSource
    ? `CONFIG_PCI_ENDPOINT_MSI_DOORBELL=${s.kernel.config['PCI_ENDPOINT_MSI_DOORBELL'] ?? 'n'} (${s.kernel.configSource})`
    : `kernel config not readable${s.kernel.configUnreadable.length ? ` (${s.kernel.configUnreadable.map((u) => u.reason).join('; ')})` : ''}`;
  const code =
    s.kernel.doorbellImplementation === 'merged'
      ? 'doorbell code present (pci_epf_write_msi_msg)'
      : s.kernel.doorbellImplementation === 'posted-v9'
        ? 'doorbell code of the v9 posting, backported (pci_epc_write_msi_msg: reads msi-parent, no Kconfig option)'
        : s.kernel.doorbellImplementation === 'none'
          ? 'no doorbell code (none of its symbols in /proc/kallsyms)'
          : s.kernel.doorbellCode === null
            ? ''
            : s.kernel.doorbellCode
              ? 'doorbell code present (6.17+)'
              : 'no doorbell code (needs 6.17+)';
  out.push(`kernel     ${s.kernel.release ?? 'unknown'}${code ? `, ${code}` : ''}; ${cfg}`);
  out.push(`configfs   ${s.configfs.mounted ? `mounted at ${s.configfs.mountPoint}` : 'not mounted'}${s.configfs.mounted ? (s.configfs.endpoint ? ', pci_ep present' : ', no pci_ep') : ''}`);
  out.push(`functions  ${s.functionDrivers.length ? s.functionDrivers.join(' ') : '(none registered)'}`);
  if (s.onlineCpus !== null) out.push(`cpus       ${s.onlineCpus} online`);
  if (s.controllers.length > 0) {
    out.push('');
    const rows = [['CONTROLLER', 'DT NODE', 'STATUS', 'DRIVER', 'START', 'DOORBELL']];
    for (const c of s.controllers)
      rows.push([c.name, c.dtNode ?? '-', c.status ?? '-', c.driver ?? '-', c.started === null ? '-' : c.started ? '1' : '0', verdict(c.doorbell)]);
    out.push(...table(rows));
    for (const c of s.controllers) {
      out.push('', `${c.name}: ${c.doorbell.reason}`);
      if (c.doorbell.fix) out.push('  fix:', ...c.doorbell.fix.split('\n').map((l) => `    ${l}`));
      if (c.doorbell.fixMissing) out.push(`  fix: ${c.doorbell.fixMissing}`);
      for (const w of c.doorbell.warnings) out.push(`  warning: ${w}`);
      if (c.outboundWindows !== null) out.push(`  outbound windows: ${outbound(c.outboundWindows, c.outboundWindowsSource)}`);
      if (c.doorbellIrqs.length)
        out.push(`  doorbell IRQs now: ${c.doorbellIrqs.map((i) => `${i.virq} (${i.actions.join(', ') || 'no action'}, ${i.count} rings)`).join(', ')}`);
    }
    const notes = [...new Set(s.controllers.flatMap((c) => c.doorbell.notes))];
    if (notes.length) out.push('', ...notes.map((n) => `note: ${n}`));
  }
  if (s.idleEpNodes.length > 0)
    out.push('', ...s.idleEpNodes.map((n) => `idle EP node ${n.path} (${n.compatible[0] ?? 'no compatible'}, status ${n.status}): no controller probed from it`));
  for (const p of s.problems) out.push('', `error: ${p.message}`, `  fix: ${p.hint}`);
  return out.join('\n') + '\n';
}
