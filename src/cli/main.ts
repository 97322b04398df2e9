// epctl's command line: global options pick the board (live, --root, --mock), each command
// (./commands/) returns a JSON-able result; --json prints it, otherwise a human view. This
// module sets up the program, prints errors (one line and the fix; as JSON on stdout too under
// --json, usage errors included) and exits with the code of their class (src/exit-codes.ts);
// only a bug prints a stack trace.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { EXIT, EXIT_SUMMARY, type ExitCode } from '../exit-codes.js';
import { EpctlError, KernelOops } from '../kernel/errors.js';
import { isSystemError, hostFix } from '../output-error.js';
import { createCleanup, removeOnSignal, type Cleanup } from './cleanup.js';
import { runContext, type CommandSpec, type GlobalFlags, type RunContext } from './context.js';
import { StdoutError, writeErr, writeOut } from './output.js';
import { version } from './version.js';
import * as probeCommand from './commands/probe.js';
import * as snapshotCommand from './commands/snapshot.js';
import * as boardsCommand from './commands/boards.js';
import * as statusCommand from './commands/status.js';
import * as validateCommand from './commands/validate.js';
import * as planCommand from './commands/plan.js';
import * as applyCommand from './commands/apply.js';
import * as clearCommand from './commands/clear.js';
import * as saveCommand from './commands/save.js';
import * as mockCommand from './commands/mock.js';
import * as devmemCommand from './commands/devmem.js';
import * as doorbellCommand from './commands/doorbell.js';
import * as agentCommand from './commands/agent.js';
import * as serviceCommand from './commands/service.js';

/** The `Exit codes:` block of --help, from the one table in src/exit-codes.ts. */
function exitCodesHelp(): string {
  const rows = Object.entries(EXIT_SUMMARY).map(([code, meaning]) => `  ${code.padEnd(3)} ${meaning.replace(/`/g, '')}`);
  return `Exit codes:\n${rows.join('\n')}`;
}

export function buildProgram(cleanup: Cleanup = createCleanup()): Command {
  const program = new Command('epctl')
    .description('Probe and drive the Linux PCI endpoint framework (configfs, sysfs, device tree) on endpoint boards.')
    .version(version(), '-V, --version', 'print the epctl version')
    .addOption(new Option('--root <dir|file>', 'read a recorded board (directory or .tar.gz from `epctl snapshot`) instead of this system'))
    .addOption(new Option('--mock <board>', 'run against a built-in simulated board (see `epctl boards`)'))
    .addOption(new Option('--kernel <version>', 'kernel the simulated board runs: 6.1, 6.12, 7.3 or a full release (default 7.3.4)'))
    .addOption(new Option('--mock-state <file>', 'keep the simulated board in FILE between commands (created when missing)'))
    .addOption(new Option('--state <file>', 'where epctl records the functions it made (default /var/lib/epctl/state.json; beside --mock-state)'))
    .option('--json', 'print the result as JSON')
    .configureHelp({ showGlobalOptions: true })
    // Usage errors are printed by main() like every other error (and as JSON under --json).
    .configureOutput({ outputError: () => undefined })
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

${exitCodesHelp()}`,
    )
    .exitOverride();

  const run = async (spec: CommandSpec, cmd: Command, fn: (ctx: RunContext) => Promise<number>): Promise<void> => {
    process.exitCode = await fn(runContext(spec, cmd.optsWithGlobals<GlobalFlags>(), cleanup));
  };
  for (const c of COMMANDS) c.register(program, run);
  return program;
}

/** Every verb, in --help order: registered and named in usage hints from this one list. */
const COMMANDS = [probeCommand, statusCommand, validateCommand, planCommand, applyCommand, clearCommand, saveCommand, doorbellCommand, agentCommand, serviceCommand, snapshotCommand, boardsCommand, devmemCommand, mockCommand];

/** A commander usage error as epctl reports it: the message, and where to read the usage. */
function usageError(e: CommanderError, argv: readonly string[]): EpctlError {
  const [first = '', ...rest] = e.message.replace(/^error: /, '').split('\n');
  const verb = argv.find((a) => COMMANDS.map((c) => c.spec.name).includes(a));
  const suggestion = rest.join(' ').replace(/^\((.*)\)$/, '$1').trim();
  const help = `run \`epctl ${verb ? `${verb} ` : ''}--help\` for the usage`;
  const message = e.code === 'commander.help' || e.code === 'commander.helpDisplayed' ? 'no command given' : first;
  return new EpctlError(message, { exitCode: EXIT.USAGE, hint: suggestion ? `${suggestion.replace(/\?$/, '')}? Or ${help}` : help });
}

/** An I/O error the user can cause that reached no command's own handling: not a bug. */
function systemError(e: NodeJS.ErrnoException & { code: string }): EpctlError {
  return new EpctlError(e.message, { exitCode: EXIT.ERROR, hint: hostFix(e.code), cause: e });
}

function report(e: EpctlError, json: boolean): ExitCode {
  const log = e instanceof KernelOops ? e.log : [];
  writeErr(`epctl: ${e.message}\n${e.hint ? `  fix: ${e.hint}\n` : ''}${log.map((l) => `  ${l}\n`).join('')}`);
  // A script asked for JSON: it gets the failure as JSON too, on stdout.
  if (json) {
    const kind = e.exitCode === EXIT.USAGE && e.constructor === EpctlError ? 'UsageError' : e.name;
    try {
      writeOut(JSON.stringify({ error: { kind, message: e.message, hint: e.hint ?? null, exitCode: e.exitCode, ...(log.length ? { log } : {}) } }, null, 2) + '\n');
    } catch {
      return EXIT.STDOUT;
    }
  }
  return e.exitCode;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[], cleanup: Cleanup = createCleanup()): Promise<number> {
  const end = argv.indexOf('--');
  const json = (end < 0 ? argv : argv.slice(0, end)).includes('--json');
  const program = buildProgram(cleanup);
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (e) {
    if (e instanceof StdoutError) return EXIT.STDOUT;
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.OK : report(usageError(e, argv), json);
    if (e instanceof EpctlError) return report(e, json);
    if (isSystemError(e)) return report(systemError(e), json);
    writeErr(`epctl: internal error — please report it with this trace:\n${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT.BUG;
  } finally {
    cleanup.removeAllSync();
  }
}

/** Set by the builds (scripts/build.mjs, scripts/bundle.mjs): their output is the program, whatever a board names it. */
declare const EPCTL_ENTRY: boolean | undefined;

/** Whether this module is the program being run (not imported by a test): a build says so; the source compares the real path. */
function isEntry(): boolean {
  if (typeof EPCTL_ENTRY === 'boolean') return EPCTL_ENTRY;
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return pathToFileURL(realpathSync(arg)).href === import.meta.url;
  } catch {
    return false;
  }
}
if (isEntry()) {
  process.exitCode = 0;
  const cleanup = createCleanup();
  removeOnSignal(cleanup, (code) => process.exit(code));
  // `epctl probe | head`: the reader went away (EPIPE), or stdout is a full disk: stop quietly,
  // with the code that says stdout failed.
  process.stdout.on('error', () => {
    cleanup.removeAllSync();
    process.exit(EXIT.STDOUT);
  });
  main(process.argv.slice(2), cleanup).then((code) => {
    process.exitCode = code;
  });
}
