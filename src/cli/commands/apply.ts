// `epctl apply [-c FILE]`: converge the board to the config with the fewest configfs
// operations, every write read back, rolled back on the first failure.
import type { Command } from 'commander';
import { FORCE_OPTION, type CommandSpec, type Run } from '../context.js';
import { withBoardChange, waitSeconds } from '../board-change.js';
import { DEFAULT_CONFIG } from '../../config/load.js';

export const spec: CommandSpec = { name: 'apply', readsBoard: true };

export function register(program: Command, run: Run): void {
  program
    .command(spec.name)
    .description('Bring the board to the config: the operations `epctl plan` shows, read back, rolled back on failure.')
    .option('-c, --config <file>', 'the config file', DEFAULT_CONFIG)
    .option('-y, --yes', 'do not ask for confirmation on a terminal (without a terminal epctl never asks)')
    .option('--wait <seconds>', 'wait this long for another epctl changing the board (default: fail at once)')
    .option('--json', 'print the result as JSON')
    .option(...FORCE_OPTION)
    .addHelpText(
      'after',
      `
apply plans first (see \`epctl plan --help\`) and refuses, changing nothing, when the board cannot
take the config. Then it carries out each operation, reads every written attribute back in the
kernel's own format, and checks every link after it is made (a bind whose setup fails may
return 0 and only log). On the first failure it undoes what it did, newest first, and prints
the errno, the path and the kernel log lines printed meanwhile. A missing function driver is
loaded with modprobe; configfs is mounted when it is not.

What epctl makes is recorded in the state file (--state, default /var/lib/epctl/state.json),
so \`epctl clear\` removes only that, and an apply killed half way is finished by the next one.
One epctl at a time changes a board (a lock beside the state file).

Examples:
  epctl apply --mock qemu-virt -c examples/pci-epf-test.yaml
  epctl apply -c /etc/epctl/epctl.yaml --yes
  epctl apply --mock imx95 --mock-state board.json -c examples/pci-epf-vntb.yaml

It exits 0 when the board matches the config, 1 when it was refused or failed (rolled back),
65 when the config file is not valid.`,
    )
    .action((opts: { config: string; yes?: boolean; wait?: string; force?: boolean }, cmd: Command) =>
      run(spec, cmd, async (ctx) => {
        const { loadConfig } = await import('../../config/load.js');
        const { converge } = await import('../converge-run.js');
        const config = await loadConfig(opts.config);
        return withBoardChange(ctx, { lock: true, waitSeconds: waitSeconds(opts.wait) }, (c) => converge(ctx, c, config, { yes: opts.yes === true, what: opts.config, ...(opts.force ? { force: true } : {}) }));
      }),
    );
}
