// `epctl boards`: the built-in simulated boards for --mock. It reads no board, so the board
// options are refused (src/cli/context.ts).
import type { Command } from 'commander';
import { EXIT } from '../../exit-codes.js';
import type { CommandSpec, Run } from '../context.js';
import { writeOut } from '../output.js';

export const spec: CommandSpec = { name: 'boards', readsBoard: false };

export function register(program: Command, run: Run): void {
  program
    .command(spec.name)
    .description('List the built-in simulated boards for --mock.')
    .option('--json', 'print the result as JSON')
    .action((_opts, cmd: Command) =>
      run(spec, cmd, async (ctx) => {
        const { BOARDS } = await import('../../boards/index.js');
        const list = Object.values(BOARDS).map((b) => ({ name: b.name, title: b.title, cpus: b.cpus, controllers: b.controllers.map((c) => c.name) }));
        writeOut(ctx.json ? JSON.stringify(list, null, 2) + '\n' : list.map((b) => `${b.name.padEnd(22)} ${b.title}\n`).join(''));
        return EXIT.OK;
      }),
    );
}
