// `epctl clear [--all]`: tear down, in kernel order, the functions epctl made (all of them
// with --all); controllers are stopped first where links go, and started again where functions
// remain.
import type { Command } from 'commander';
import type { CommandSpec, Run } from '../context.js';
import { withBoardChange, waitSeconds } from '../board-change.js';

export const spec: CommandSpec = { name: 'clear', readsBoard: true };

export function register(program: Command, run: Run): void {
  program
    .command(spec.name)
    .description('Remove the functions epctl made (every function with --all), in kernel order.')
    .option('--all', 'remove functions epctl did not make too')
    .option('-y, --yes', 'do not ask for confirmation on a terminal')
    .option('--wait <seconds>', 'wait this long for another epctl changing the board')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Order (pci-ep-cfs.c): echo 0 > start on controllers whose links go, rm each link, rmdir each
function. A function linked only through secondary/ (vNTB), or through primary/ on a kernel
older than 7.3, cannot be removed without risking a kernel crash: clear refuses and says so.

Examples:
  epctl clear --mock qemu-virt --mock-state board.json
  epctl clear --all --yes

It exits 0 when nothing of epctl's is left, 1 when refused or failed (rolled back).`,
    )
    .action((opts: { all?: boolean; yes?: boolean; wait?: string }, cmd: Command) =>
      run(spec, cmd, async (ctx) => {
        const { converge } = await import('../converge-run.js');
        return withBoardChange(ctx, { lock: true, waitSeconds: waitSeconds(opts.wait) }, (c) =>
          converge(ctx, c, { version: 1, functions: [] }, { yes: opts.yes === true, what: opts.all ? 'every function' : "epctl's functions", ...(opts.all ? { removeForeign: true } : {}) }),
        );
      }),
    );
}
