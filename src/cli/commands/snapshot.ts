// `epctl snapshot TARGET`: records the board into a new directory or FILE.tar.gz. The target is
// checked before the board is opened (src/snapshot/target.ts); what the run creates is tracked
// so an interrupt removes it.
import type { Command } from 'commander';
import { EXIT } from '../../exit-codes.js';
import { withBoard, type CommandSpec, type Run } from '../context.js';
import { writeOut } from '../output.js';

/** TEXT as one word for a POSIX shell, for commands epctl prints for a person to paste. */
function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

export const spec: CommandSpec = { name: 'snapshot', readsBoard: true };

export function register(program: Command, run: Run): void {
  program
    .command(spec.name)
    .argument('<target>', 'a new directory (or an empty one), or a new FILE.tar.gz in an existing directory')
    .description('Record the files probe and later commands read, as a directory --root can replay.')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The target is never the current directory itself, never an existing file, never under /proc,
/sys, /dev or configfs; a refused target exits 64 before the board is read. If writing fails
(disk full), what this run wrote is removed and epctl exits 73.`,
    )
    .action((target: string, _opts, cmd: Command) =>
      run(spec, cmd, async (ctx) => {
        const { snapshot } = await import('../../snapshot/record.js');
        const { checkSnapshotTarget } = await import('../../snapshot/target.js');
        const checked = await checkSnapshotTarget(target);
        const r = await withBoard(ctx, (port) => snapshot(port, checked, { track: (p) => ctx.cleanup.track(p) }));
        const summary = {
          dir: r.dir,
          files: r.files,
          symlinks: r.symlinks,
          directories: r.directories,
          controllers: r.board.controllers.map((c) => c.name),
          unrecorded: r.unrecorded,
          problems: r.board.problems,
        };
        // The recording is made even of a broken board (that is when it is wanted): what could
        // not be read and what probe found wrong are listed, and the run still succeeds.
        const notes = [
          ...r.unrecorded.map((u) => `not recorded: ${u.path} (${u.code})`),
          ...r.board.problems.map((p) => `board problem: ${p.message}`),
        ];
        writeOut(
          ctx.json
            ? JSON.stringify(summary, null, 2) + '\n'
            : `recorded ${r.files} files, ${r.symlinks} symlinks, ${r.directories} directories into ${r.dir}\n${notes.map((n) => n + '\n').join('')}replay it with: epctl --root ${shellQuote(target)} probe\n`,
        );
        return EXIT.OK;
      }),
    );
}
