// `epctl service install`: runs `epctl agent` under systemd. Writes the hardened unit
// (src/service/unit.ts) and, when there is none, an example config, under --root (a packager's
// DESTDIR) or /; prints what it wrote and the commands that start it. --dry-run prints the unit
// and writes nothing. `epctl service uninstall` takes back what install wrote
// (src/service/uninstall.ts) and prints the systemctl commands around it; neither runs systemctl.
import type { Command } from 'commander';
import { EXIT } from '../../exit-codes.js';
import { UsageError, type CommandSpec, type Run } from '../context.js';
import { writeErr, writeOut } from '../output.js';
import { DEFAULT_CONFIG } from '../../config/load.js';
import { DEFAULT_BIN, DEFAULT_WATCHDOG_SEC, UNIT_PATH, badGroup, unsafePath } from '../../service/unit.js';
import type { InstallResult } from '../../service/install.js';
import type { UninstallResult } from '../../service/uninstall.js';

/** The group, as main.ts's usage errors name it (`epctl service --help`). */
export const spec: CommandSpec = { name: 'service', readsBoard: false };
/** --root here is the directory to install into, not a recorded board. */
const installSpec: CommandSpec = { name: 'service install', readsBoard: false, rootIsTarget: true };
/** --root here is the directory it was installed under. */
const uninstallSpec: CommandSpec = { name: 'service uninstall', readsBoard: false, rootIsTarget: true };

interface UninstallFlags {
  config: string;
  purge?: boolean;
  force?: boolean;
  dryRun?: boolean;
}

interface InstallFlags {
  bin: string;
  config: string;
  devmem?: boolean;
  socketGroup?: string;
  force?: boolean;
  dryRun?: boolean;
}

function checkPath(option: string, value: string): string {
  const why = unsafePath(value);
  if (why) throw new UsageError(`${option} ${JSON.stringify(value)}: ${why}`, `give ${option} an absolute path such as ${option === '--bin' ? DEFAULT_BIN : DEFAULT_CONFIG}`);
  return value;
}

export function register(program: Command, run: Run): void {
  const group = program
    .command(spec.name)
    .description('Run `epctl agent` as a systemd service on the board.')
    .addHelpText(
      'after',
      `
Examples:
  epctl service install && systemctl daemon-reload && systemctl enable --now epctl
  epctl service install --dry-run                  the unit it would write
  epctl service install --root "$D" --bin /usr/bin/epctl   a package's files, into DESTDIR
  systemctl disable --now epctl && epctl service uninstall && systemctl daemon-reload`,
    );
  group
    .command('install')
    .description(`Write the hardened unit ${UNIT_PATH} and, when there is none, an example config; print the commands that start it.`)
    .option('--root <dir>', 'install under DIR instead of / (a package build\'s DESTDIR, a test)')
    .option('--bin <path>', 'the epctl binary the unit runs', DEFAULT_BIN)
    .option('-c, --config <file>', 'the config the agent keeps the board at', DEFAULT_CONFIG)
    .option('--devmem', 'the config uses devmem: give the agent /dev/mem and CAP_SYS_RAWIO (off: neither)')
    .option('--socket-group <name>', "give this group access to the agent's socket (/run/epctl/agent.sock)")
    .option('--force', 'replace a unit that differs from the one epctl writes')
    .option('--dry-run', 'print the unit and what would be written; write nothing')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The unit runs \`epctl agent -c FILE\` as Type=notify with a ${DEFAULT_WATCHDOG_SEC} s watchdog, reloads on
\`systemctl reload epctl\` (SIGHUP), keeps its state in /var/lib/epctl and its socket in /run/epctl,
and is sandboxed: read-only system but for configfs, its trace instances and /run/lock; no network;
only CAP_SYS_MODULE (modprobe) and CAP_SYSLOG (/dev/kmsg), and /dev/mem with CAP_SYS_RAWIO only with
--devmem. Each permission it keeps is explained in a comment in the unit.

A config that exists is kept; otherwise an example is written that asks for nothing (edit it, then
\`epctl validate\`). A unit that exists is left alone when it is the same and refused when it differs
(keep local changes in a drop-in: \`systemctl edit epctl\`) unless --force.

Examples:
  epctl service install
  epctl service install --devmem --socket-group pcie
  epctl service install --dry-run > epctl.service
  epctl service install --root "$D" --bin /usr/bin/epctl --json   in a package build (Yocto: D)

It exits 0 when the files are written (or already right), 64 for a bad option, 73 when a unit that
differs is there (without --force) or a file cannot be written.`,
    )
    .action((opts: InstallFlags, cmd: Command) =>
      run(installSpec, cmd, async (ctx) => {
        const { install } = await import('../../service/install.js');
        const root = ctx.installRoot ?? '/';
        const socketGroup = opts.socketGroup;
        if (socketGroup !== undefined && badGroup(socketGroup)) throw new UsageError(`--socket-group ${JSON.stringify(socketGroup)}: ${badGroup(socketGroup)}`, 'give the name of a group, e.g. --socket-group pcie');
        const result = await install({
          root,
          unit: { bin: checkPath('--bin', opts.bin), config: checkPath('--config', opts.config), devmem: opts.devmem === true, socketGroup, watchdogSec: DEFAULT_WATCHDOG_SEC },
          force: opts.force === true,
          dryRun: opts.dryRun === true,
        });
        if (ctx.json) writeOut(JSON.stringify(result, null, 2) + '\n');
        else if (result.dryRun) {
          // The unit alone on stdout (`> epctl.service`); what would happen on stderr.
          writeOut(result.text);
          writeErr(summary(result));
        } else writeOut(summary(result));
        return EXIT.OK;
      }),
    );

  group
    .command('uninstall')
    .description(`Remove the unit ${UNIT_PATH} that \`service install\` wrote (and with --purge its example config); print the systemctl commands around it.`)
    .option('--root <dir>', 'uninstall from under DIR instead of / (where install --root wrote it; a test)')
    .option('-c, --config <file>', 'the config --purge looks at when the unit does not name one (it is gone, or not epctl\'s)', DEFAULT_CONFIG)
    .option('--purge', 'remove the config too, but only while it is still the example install wrote')
    .option('--force', "remove a unit that differs from the one epctl writes, or one that is still enabled")
    .option('--dry-run', 'print what would be removed; remove nothing')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Stop and disable the agent first, then uninstall, then let systemd forget the unit:

  systemctl disable --now epctl      stops the agent, removes the link that starts it at boot
  epctl service uninstall            removes ${UNIT_PATH}
  systemctl daemon-reload

It removes exactly what \`epctl service install\` wrote, nothing else:
  - the unit, when it is byte for byte one epctl writes (the options install was run with are
    read from its ExecStart=). A unit that differs may hold your edits: refused unless --force.
    Drop-ins (systemctl edit epctl: ${UNIT_PATH}.d/) are yours and stay.
  - a unit still enabled (a link in ${UNIT_PATH.replace(/[^/]+$/, '')}*.wants/) is refused unless --force:
    removing it first would leave systemd a dangling link. Run \`systemctl disable --now epctl\`.
  - the config (the unit's -c) only with --purge, and only while it is still the example install
    wrote; a config you edited is kept, and it says so.
  - never /var/lib/epctl: the agent's record of what it made on the board. The functions stay on
    the board too; take them down first with \`epctl clear\` if you mean to.
Nothing installed is not an error: it says there is nothing to remove and exits 0.

Examples:
  epctl service uninstall
  epctl service uninstall --purge --dry-run        what --purge would remove
  epctl service uninstall --root "$D" --json       from a package's DESTDIR

It exits 0 when the files are removed (or were not there), 64 for a bad option, 73 when the unit
differs from epctl's or is still enabled (without --force) or a file cannot be removed.`,
    )
    .action((opts: UninstallFlags, cmd: Command) =>
      run(uninstallSpec, cmd, async (ctx) => {
        const { uninstall } = await import('../../service/uninstall.js');
        const result = await uninstall({ root: ctx.installRoot ?? '/', config: checkPath('--config', opts.config), force: opts.force === true, purge: opts.purge === true, dryRun: opts.dryRun === true });
        if (ctx.json) writeOut(JSON.stringify(result, null, 2) + '\n');
        else writeOut(uninstallSummary(result));
        return EXIT.OK;
      }),
    );
}

function uninstallSummary(r: UninstallResult): string {
  const removed = r.dryRun ? 'would remove' : 'removed';
  const lines: string[] = [];
  if (r.nothing) lines.push(`nothing to remove: ${r.unit.file} is not there${r.purge ? `, nor an example config at ${r.config.file}` : ''}`);
  if (r.unit.action === 'removed') lines.push(`${removed} ${r.unit.file}${r.unit.reason ? `: ${r.unit.reason}` : ''}`);
  if (r.unit.action === 'differs') lines.push(`${r.unit.file} differs from the unit epctl writes: uninstall refuses to remove it without --force`);
  if (r.config.action === 'removed') lines.push(`${removed} ${r.config.file}: still the example install wrote`);
  if (r.config.action === 'kept') lines.push(`${r.dryRun ? 'would keep' : 'kept'} ${r.config.file}: ${r.config.reason}`);
  lines.push(...r.notes.map((n) => `note: ${n}`));
  const target = r.root === '/' ? '' : ', on the target system';
  if (r.unit.action === 'removed' && r.dryRun) lines.push(`first${target}: ${r.before.join(' && ')}`, `then, after the uninstall: ${r.next.join(' && ')}`);
  else if (r.unit.action === 'removed') lines.push(`next${target}:`, `  ${r.next.join(' && ')}`, `(and if the agent still runs: systemctl stop epctl)`);
  return lines.join('\n') + '\n';
}

const VERB: Record<Exclude<InstallResult['unit']['action'], 'differs'>, [done: string, dry: string]> = {
  created: ['wrote', 'would write'],
  replaced: ['replaced', 'would replace'],
  unchanged: ['unchanged', 'unchanged'],
  kept: ['kept', 'would keep'],
};

function summary(r: InstallResult): string {
  const verb = (a: keyof typeof VERB): string => VERB[a][r.dryRun ? 1 : 0];
  const lines = [
    r.unit.action === 'differs'
      ? `${r.unit.written} differs from this unit: install refuses to replace it without --force`
      : `${verb(r.unit.action)} ${r.unit.written}${r.unit.action === 'unchanged' ? '' : ` (${r.unit.mode})`}`,
    r.config.action === 'kept'
      ? `${verb('kept')} ${r.config.written}: it exists`
      : `${verb('created')} ${r.config.written} (${r.config.mode}): an example that asks for nothing yet; edit it, then \`epctl validate\``,
    ...r.notes.map((n) => `note: ${n}`),
    `next${r.root === '/' ? '' : ', on the target system'}:`,
    `  ${r.next.join(' && ')}`,
  ];
  return lines.join('\n') + '\n';
}
