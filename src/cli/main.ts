// epctl's command line: global options pick the board (live, --root, --mock), each command
// returns a JSON-able result; --json prints it, otherwise a human view. Errors print one line
// and the fix, and exit with the code of their class (src/exit-codes.ts); only a bug prints a
// stack trace.
import { Command, CommanderError, Option } from 'commander';
import { EXIT } from '../exit-codes.js';
import { EpctlError } from '../kernel/errors.js';
import { KernelOops } from '../kernel/errors.js';
import { openPort, type PortOptions } from '../kernel/open.js';
import { probe, exitCodeOf } from '../probe/probe.js';
import { renderProbe } from './render/probe.js';

interface Globals extends PortOptions {
  json?: boolean;
}

const EXIT_CODES = `Exit codes:
  0   success                       4   configfs not mounted
  1   error (a kernel operation)     5   no pci_ep in configfs (kernel option)
  2   reserved: plan has changes     6   no endpoint controller probed
  3   --root is not a board          7   unreadable kernel data (device tree, /proc)
  64  bad command line               8   the simulated kernel oopsed
  70  internal error (a bug in epctl)`;

function write(text: string): void {
  process.stdout.write(text);
}

async function withPort<T>(opts: Globals, fn: (port: Awaited<ReturnType<typeof openPort>>['port']) => Promise<T>): Promise<T> {
  const open = await openPort(opts);
  try {
    return await fn(open.port);
  } finally {
    await open.close();
  }
}

export function buildProgram(): Command {
  const program = new Command('epctl')
    .description('Probe and drive the Linux PCI endpoint framework (configfs, sysfs, device tree) on endpoint boards.')
    .addOption(new Option('--root <dir|file>', 'read a recorded board (directory or .tar.gz from `epctl snapshot`) instead of this system'))
    .addOption(new Option('--mock <board>', 'run against a built-in simulated board (see `epctl boards`)'))
    .addOption(new Option('--kernel <version>', 'kernel the simulated board runs: 6.1, 6.12, 7.3 or a full release (default 7.3.4)'))
    .addOption(new Option('--mock-state <file>', 'keep the simulated board in FILE between commands (created when missing)'))
    .option('--json', 'print the result as JSON')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      'after',
      `
Examples:
  epctl probe                              what this board can do
  epctl probe --mock imx95                 the same on a simulated i.MX95
  epctl probe --mock rk3588 --kernel 6.12  a simulated RK3588 on Linux 6.12
  epctl probe --root ./board-dump --json   a recorded board, as JSON
  epctl snapshot board.tar.gz              record this board for a bug report or a test
  epctl probe --root board.tar.gz          read that recording anywhere

${EXIT_CODES}`,
    )
    .exitOverride();

  program
    .command('probe')
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
    .action(async (_opts, cmd: Command) => {
      const opts = cmd.optsWithGlobals<Globals>();
      const state = await withPort(opts, probe);
      write(opts.json ? JSON.stringify(state, null, 2) + '\n' : renderProbe(state));
      process.exitCode = exitCodeOf(state);
    });

  program
    .command('snapshot')
    .argument('<target>', 'new or empty directory, or a new FILE.tar.gz, to write the recording into')
    .description('Record the files probe and later commands read, as a directory --root can replay.')
    .option('--json', 'print the result as JSON')
    .action(async (target: string, _opts, cmd: Command) => {
      const opts = cmd.optsWithGlobals<Globals>();
      const { snapshot } = await import('../snapshot/record.js');
      const r = await withPort(opts, (port) => snapshot(port, target));
      const summary = { dir: r.dir, files: r.files, symlinks: r.symlinks, directories: r.directories, controllers: r.board.controllers.map((c) => c.name) };
      write(opts.json ? JSON.stringify(summary, null, 2) + '\n' : `recorded ${r.files} files, ${r.symlinks} symlinks, ${r.directories} directories into ${r.dir}\nreplay it with: epctl --root ${target} probe\n`);
    });

  program
    .command('boards')
    .description('List the built-in simulated boards for --mock.')
    .option('--json', 'print the result as JSON')
    .action(async (_opts, cmd: Command) => {
      const opts = cmd.optsWithGlobals<Globals>();
      const { BOARDS } = await import('../boards/index.js');
      const list = Object.values(BOARDS).map((b) => ({ name: b.name, title: b.title, cpus: b.cpus, controllers: b.controllers.map((c) => c.name) }));
      if (opts.json) write(JSON.stringify(list, null, 2) + '\n');
      else for (const b of list) write(`${b.name.padEnd(22)} ${b.title}\n`);
    });

  return program;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end with exit code 0; anything else is a usage error.
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (e instanceof EpctlError) {
      const log = e instanceof KernelOops ? e.log : [];
      process.stderr.write(`epctl: ${e.message}\n${e.hint ? `  fix: ${e.hint}\n` : ''}${log.map((l) => `  ${l}\n`).join('')}`);
      // A script asked for JSON: it gets the failure as JSON too, on stdout.
      if (argv.includes('--json'))
        process.stdout.write(JSON.stringify({ error: { kind: e.name, message: e.message, hint: e.hint ?? null, exitCode: e.exitCode, ...(log.length ? { log } : {}) } }, null, 2) + '\n');
      return e.exitCode;
    }
    process.stderr.write(`epctl: internal error — please report it with this trace:\n${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT.BUG;
  }
}

const isEntry = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/epctl.js') || process.argv[1]?.endsWith('/epctl');
if (isEntry) {
  process.exitCode = 0;
  // `epctl probe | head`: the reader went away; stop quietly, as cat does.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
