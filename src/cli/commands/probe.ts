// `epctl probe`: the board's kernel, configfs, function drivers and controllers with their
// doorbell verdicts; exits with the code of the first problem.
import type { Command } from 'commander';
import { probe, exitCodeOf } from '../../probe/probe.js';
import { renderProbe } from '../render/probe.js';
import { UsageError, withBoard, type CommandSpec, type Run } from '../context.js';
import { writeOut } from '../output.js';
import { renderDtso, overlayable } from '../../doorbell/dt-fix.js';
import type { BoardState } from '../../probe/probe.js';
import { formatOption, renderReport, reportFormat, reportingFailure, suiteOf } from '../report-format.js';
import { probeChecks } from '../../report/checks.js';

/**
 * Every controller's device-tree fix as one overlay. Controllers whose fix cannot be an overlay
 * (or needs a value the board does not say) are listed in comments with what to do instead.
 */
export function dtsoOf(state: BoardState): string {
  const header = [
    `Device-tree changes epctl probe asks for on ${state.source.origin}, for the doorbell verdicts.`,
    'Compile: dtc -@ -I dts -O dtb -o epctl-fix.dtbo THIS.dtso',
    'Apply:   fdtoverlay -i board.dtb -o board-fixed.dtb epctl-fix.dtbo (or `fdt apply` in U-Boot)',
  ];
  const fixes = state.controllers.flatMap((c) => (c.doorbell.dtFix ?? []).map((f) => ({ c, f })));
  const usable = fixes.filter(({ f }) => overlayable(f));
  for (const { c, f } of fixes)
    if (!overlayable(f)) header.push(`${c.name}: not expressible as an overlay; put this in the board .dts instead:`, ...c.doorbell.fix!.split('\n').map((l) => `  ${l}`), `(${f.node.path})`);
  for (const c of state.controllers) if (c.doorbell.fixMissing) header.push(`${c.name}: ${c.doorbell.fixMissing}`);
  if (fixes.length === 0 && !state.controllers.some((c) => c.doorbell.fixMissing)) header.push('No controller needs a device-tree change.');
  return renderDtso(
    usable.map(({ f }) => f),
    header,
  );
}

export const spec: CommandSpec = { name: 'probe', readsBoard: true };

export function register(program: Command, run: Run): void {
  program
    .command(spec.name)
    .description('Report the kernel, configfs, function drivers and every endpoint controller, with its doorbell verdict.')
    .option('--json', 'print the result as JSON')
    .option('--dtso', 'print the device-tree fixes as an overlay (.dtso) to compile with dtc, instead of the report')
    .addOption(formatOption())
    .addHelpText(
      'after',
      `
The doorbell verdict follows drivers/pci/endpoint/pci-ep-msi.c (Linux 6.17+): the controller's DT
node needs an msi-map entry for requester ID 0 that points at a GIC-v3 ITS (msi-parent is not
enough), and only the first function linked to a controller can own doorbells.

Examples:
  epctl probe                             this board
  epctl probe --mock qemu-virt-msi-parent  why msi-parent is not enough
  epctl probe --root board.tar.gz --json  a recorded board, for a script
  epctl probe --dtso > fix.dtso           the fixes as an overlay: dtc -@ -o fix.dtbo fix.dtso
  epctl probe --format tap                for a board farm (LAVA, labgrid); --format junit for CI

--format's checks: kernel release known, configfs mounted, pci_ep in configfs, endpoint
controllers, device tree readable, kernel data readable, and per controller: in configfs, its
doorbell verdict (not ok when the kernel cannot allocate a doorbell there, or a ring is lost).

It exits 0 when the board can do endpoint work, else with the code of the first problem
(4 configfs not mounted, 5 no pci_ep, 6 no controller, 7 unreadable device tree or /proc data),
with --format too.`,
    )
    .action((_opts, cmd: Command) =>
      run(spec, cmd, async (ctx) => {
        const dtso = (cmd.opts() as { dtso?: boolean }).dtso === true;
        if (dtso && ctx.json) throw new UsageError('--dtso and --json both print to stdout: choose one', 'drop --json to get the overlay, or --dtso to get the report as JSON');
        const format = reportFormat(cmd, ctx, { '--dtso': dtso });
        const state = await reportingFailure(format, spec.name, () => withBoard(ctx, probe));
        if (format !== undefined) writeOut(renderReport(format, suiteOf(spec.name, state.source, state.kernel.release), probeChecks(state)));
        else writeOut(dtso ? dtsoOf(state) : ctx.json ? JSON.stringify(state, null, 2) + '\n' : renderProbe(state));
        return exitCodeOf(state);
      }),
    );
}
