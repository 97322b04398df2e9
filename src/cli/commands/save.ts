// `epctl save [FILE]`: the board's pci_ep state written as a config, atomically (temp file,
// fsync, rename; three backups FILE.1..3), under the board's lock; an existing YAML file keeps
// its comments and order. `save` then `clear` then `apply` restores the board.
import type { Command } from 'commander';
import fs from 'node:fs/promises';
import { EXIT } from '../../exit-codes.js';
import { EpctlError } from '../../kernel/errors.js';
import type { CommandSpec, Run } from '../context.js';
import { writeOut } from '../output.js';
import { withBoardChange, waitSeconds } from '../board-change.js';
import { DEFAULT_CONFIG } from '../../config/load.js';

export const spec: CommandSpec = { name: 'save', readsBoard: true };

/** Replaced versions kept beside the file. */
const BACKUPS = 3;

export function register(program: Command, run: Run): void {
  program
    .command(spec.name)
    .description("Write the board's functions, attributes, links and started controllers as a config file.")
    .argument('[file]', 'the config file to write', DEFAULT_CONFIG)
    .option('--stdout', 'print the config instead of writing a file')
    .option('--wait <seconds>', 'wait this long for another epctl changing the board')
    .option('--json', 'print a summary as JSON')
    .addHelpText(
      'after',
      `
Every function on the board is saved with its header, interrupt counts, type-group values that
are set (0 and -1 mean unset there) and its link; every controller with its start flag. An
existing file keeps its comments and the order of its entries; the file is replaced atomically
and the versions it replaces are kept as FILE.1 (newest) to FILE.${BACKUPS}. The result is checked
as \`epctl validate\` would before anything is written.

Examples:
  epctl save /etc/epctl/epctl.yaml
  epctl save --mock qemu-virt --mock-state board.json --stdout

It exits 0 when the file was written, 73 when it could not be.`,
    )
    .action((file: string, opts: { stdout?: boolean; wait?: string }, cmd: Command) =>
      run(spec, cmd, async (ctx) => {
        const { status } = await import('../../status/status.js');
        const { configFromBoard, renderConfig } = await import('../../config/save.js');
        const { parseConfig } = await import('../../config/load.js');
        const { writeFileAtomic } = await import('../../state/atomic.js');
        return withBoardChange(ctx, { lock: !opts.stdout, waitSeconds: waitSeconds(opts.wait) }, async ({ port }) => {
          const state = await status(port);
          const { config, omitted } = configFromBoard(state.pciEp);
          const existing = opts.stdout ? undefined : await fs.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
            if (e.code === 'ENOENT') return undefined;
            throw new EpctlError(`cannot read ${file}: ${e.code}`, { exitCode: EXIT.CANT_WRITE, hint: 'check its permissions, or save to another file' });
          });
          const yaml = renderConfig(config, existing);
          // Never write a config epctl itself would refuse.
          parseConfig(yaml, file);
          if (opts.stdout) {
            writeOut(yaml);
            return EXIT.OK;
          }
          await fs.mkdir((await import('node:path')).dirname(file), { recursive: true }).catch(() => undefined);
          await writeFileAtomic(file, yaml, { backups: BACKUPS, mode: 0o644 }).catch((e: NodeJS.ErrnoException) => {
            throw new EpctlError(`cannot write ${file}: ${e.code ?? e.message}`, { exitCode: EXIT.CANT_WRITE, hint: 'check the directory exists and is writable, and the disk has room' });
          });
          const summary = { file, functions: config.functions?.length ?? 0, controllers: Object.keys(config.controllers ?? {}).length, omitted, problems: state.problems };
          writeOut(ctx.json ? JSON.stringify(summary, null, 2) + '\n' : `${file}: saved ${summary.functions} functions, ${summary.controllers} controllers${omitted.map((o) => `\n  left out: ${o}`).join('')}\n`);
          return EXIT.OK;
        });
      }),
    );
}
