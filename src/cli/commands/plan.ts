// `epctl plan [-c FILE]`: read the board, diff it against the config, print the configfs
// operations apply would carry out, in kernel order. Reads only; works on a half-configured
// or recorded board (--root), so a config can be checked against a board dump.
import type { Command } from 'commander';
import { EXIT } from '../../exit-codes.js';
import { FORCE_OPTION, type CommandSpec, type Run } from '../context.js';
import { writeOut } from '../output.js';
import { withBoardChange } from '../board-change.js';
import { DEFAULT_CONFIG } from '../../config/load.js';

export const spec: CommandSpec = { name: 'plan', readsBoard: true };

export function register(program: Command, run: Run): void {
  program
    .command(spec.name)
    .description('Show the configfs operations that would bring the board to the config (reads only).')
    .option('-c, --config <file>', 'the config file', DEFAULT_CONFIG)
    .option('--json', 'print the plan as JSON')
    .option(...FORCE_OPTION)
    .addHelpText(
      'after',
      `
Each operation is shown as the command a person would type, under /sys/kernel/config/pci_ep:
  + adds (mkdir, ln -s, modprobe)   ~ changes (echo … > attribute)   - removes (rm, rmdir)
in the order the kernel needs: stop the controllers whose links change, unlink, rmdir, mkdir,
attributes, link, start. What is already right is left alone. A function that is linked and
must change is recreated (rmdir + mkdir) rather than bound twice: a second bind that fails
crashes some kernels. Functions epctl did not make are left alone.

Examples:
  epctl plan --mock qemu-virt -c examples/pci-epf-test.yaml
  epctl plan -c /etc/epctl/epctl.yaml --json

It exits 0 when there is nothing to do, 2 when there are changes, 1 when the board cannot take
the config (each reason with its fix), 65 when the config file is not valid.`,
    )
    .action((opts: { config: string; force?: boolean }, cmd: Command) =>
      run(spec, cmd, async (ctx) => {
        const { loadConfig } = await import('../../config/load.js');
        const { planFor } = await import('../../plan/converge.js');
        const { renderPlan, paintFor } = await import('../render/plan.js');
        const config = await loadConfig(opts.config);
        // Reads only: no lock, so plan works while another epctl applies.
        return withBoardChange(ctx, { lock: false }, async ({ port, ownership }) => {
          const { plan, problems } = await planFor(port, config, new Set(ownership.list()), opts.force ? { force: true } : {});
          if (ctx.json) writeOut(JSON.stringify({ config: opts.config, board: port.origin, ...plan, problems }, null, 2) + '\n');
          else writeOut(renderPlan(plan, `plan for ${port.origin === '/' ? 'this board' : port.origin}, config ${opts.config}`, paintFor(process.stdout)));
          return plan.refusals.length ? EXIT.ERROR : plan.ops.length ? EXIT.PENDING : EXIT.OK;
        });
      }),
    );
}
