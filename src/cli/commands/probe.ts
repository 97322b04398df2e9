// `epctl probe`: the board's kernel, configfs, function drivers and controllers with their
// doorbell verdicts; exits with the code of the first problem.
import type { Command } from 'commander';
import { probe, exitCodeOf } from '../../probe/probe.js';
import { renderProbe } from '../render/probe.js';
import { withBoard, type CommandSpec, type RunContext } from '../context.js';
import { writeOut } from '../output.js';

export const spec: CommandSpec = { name: 'probe', readsBoard: true };

export function register(program: Command, run: (spec: CommandSpec, cmd: Command, fn: (ctx: RunContext) => Promise<number>) => Promise<void>): void {
  program
    .command(spec.name)
    .description('Report the kernel, configfs, function drivers and every endpoint controller, with its doorbell verdict.')
    .option('--json', 'print the result as JSON')
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

It exits 0 when the board can do endpoint work, else with the code of the first problem
(4 configfs not mounted, 5 no pci_ep, 6 no controller, 7 unreadable device tree or /proc data).`,
    )
    .action((_opts, cmd: Command) =>
      run(spec, cmd, async (ctx) => {
        const state = await withBoard(ctx, probe);
        writeOut(ctx.json ? JSON.stringify(state, null, 2) + '\n' : renderProbe(state));
        return exitCodeOf(state);
      }),
    );
}
