// `epctl service uninstall`: takes back what `epctl service install` wrote under a root
// directory ("/" on the board, a temp dir in tests), and nothing else.
//   - the unit, when it is one epctl writes: its ExecStart= and /dev/mem line give the options
//     install was run with, and the unit rendered from them must be the file, byte for byte. A
//     unit that differs may hold its owner's edits: refused unless forced;
//   - a unit still enabled (a link to it in a *.wants/ or *.requires/ directory beside it) is
//     refused unless forced: `systemctl disable --now epctl` stops the agent and removes the
//     links, which a removed unit file would leave dangling;
//   - with purge, the config too, only while it is still the example install writes (an edited
//     config is the owner's: kept, and said so), and its directory when that is left empty;
//   - never the agent's state (/var/lib/epctl, made by systemd's StateDirectory=, not by
//     install): it records what epctl made on the board, which `epctl clear` reads.
// Nothing there to remove is not an error: a second uninstall says so and exits 0.
import fs from 'node:fs/promises';
import nodePath from 'node:path';
import { EXIT } from '../exit-codes.js';
import { EpctlError } from '../kernel/errors.js';
import { DEFAULT_CONFIG } from '../config/load.js';
import { DEFAULT_STATE_FILE } from '../state/ownership.js';
import { EXAMPLE_CONFIG } from './example-config.js';
import { cannot as cannotInstall, readIfExists as readInstalled } from './install.js';
import { DEFAULT_WATCHDOG_SEC, UNIT_PATH, renderUnit, type UnitOptions } from './unit.js';

export interface UninstallOptions {
  /** Where "/" of the target system is. */
  root: string;
  /** The config to purge when the unit does not name one (it is absent, or not epctl's). */
  config: string;
  /** Remove a unit that differs from epctl's, or one still enabled. */
  force: boolean;
  /** Remove the config too, when it is still the example install wrote. */
  purge: boolean;
  /** Say what would be removed; remove nothing. */
  dryRun: boolean;
}

/** removed: taken away (or, dry, would be); absent: not there; kept: there and left; differs: a unit not epctl's (dry run only: a run refuses it). */
export type UninstallAction = 'removed' | 'absent' | 'kept' | 'differs';

export interface UninstalledFile {
  /** The path on the target system. */
  path: string;
  /** PATH under the root. */
  file: string;
  action: UninstallAction;
  /** Why it was kept (or, for the unit, that it differed and --force removed it). */
  reason?: string;
}

export interface UninstallResult {
  root: string;
  dryRun: boolean;
  purge: boolean;
  /** Nothing install wrote was there (exit 0 all the same). */
  nothing: boolean;
  unit: UninstalledFile;
  config: UninstalledFile;
  /** Links that enable the unit (under the root), left for `systemctl disable` (only with --force). */
  enabledBy: string[];
  notes: string[];
  /** Run on the target system before uninstalling (a dry run prints it first): stops the agent and disables the unit. */
  before: string[];
  /** Run on the target system after: systemd forgets the unit. */
  next: string[];
}

/** The options install renders UNIT from, when it is exactly one epctl writes; undefined otherwise. */
export function unitOptions(unit: string): UnitOptions | undefined {
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1]?.split(' ');
  if (!exec || exec[1] !== 'agent' || exec[2] !== '-c' || exec[3] === undefined) return undefined;
  const rest = exec.slice(4);
  if (rest.length !== 0 && !(rest.length === 2 && rest[0] === '--socket-group')) return undefined;
  const opts: UnitOptions = { bin: exec[0]!, config: exec[3], devmem: /^DeviceAllow=\/dev\/mem rw$/m.test(unit), watchdogSec: DEFAULT_WATCHDOG_SEC, ...(rest[1] ? { socketGroup: rest[1] } : {}) };
  return renderUnit(opts) === unit ? opts : undefined;
}

const HINT = 'run it as root, or give --root the directory it was installed under';
const cannot = (verb: string, file: string, e: unknown): EpctlError => cannotInstall(verb, file, e, HINT);
const readIfExists = (file: string): Promise<string | undefined> => readInstalled(file, HINT);

/** The links under ROOT's unit directory that enable NAME: <dir>/*.wants/NAME, <dir>/*.requires/NAME. */
async function enablingLinks(unitDir: string, name: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await fs.readdir(unitDir);
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const d of entries.filter((e) => e.endsWith('.wants') || e.endsWith('.requires')).sort()) {
    const link = nodePath.join(unitDir, d, name);
    if (await fs.lstat(link).then(() => true, () => false)) found.push(link);
  }
  return found;
}

/** Removes (or, dry, plans the removal of) what install wrote under OPTS.root. */
export async function uninstall(opts: UninstallOptions): Promise<UninstallResult> {
  const unitFile = nodePath.join(opts.root, UNIT_PATH);
  const unitText = await readIfExists(unitFile);
  const installed = unitText === undefined ? undefined : unitOptions(unitText);
  const differs = unitText !== undefined && installed === undefined;
  if (differs && !opts.force && !opts.dryRun)
    throw new EpctlError(`${unitFile} differs from every unit this epctl writes: it holds local edits, was written by another epctl version, or is not epctl's`, {
      exitCode: EXIT.CANT_WRITE,
      hint: 'compare it with `epctl service install --dry-run` (with the options it was installed with); add --force to remove it all the same',
    });
  const links = unitText === undefined ? [] : await enablingLinks(nodePath.dirname(unitFile), nodePath.basename(UNIT_PATH));
  if (links.length > 0 && !opts.force && !opts.dryRun)
    throw new EpctlError(`${unitFile} is still enabled (${links.join(', ')})`, {
      exitCode: EXIT.CANT_WRITE,
      hint: `run \`systemctl disable --now epctl\` first (it stops the agent and removes the link${links.length > 1 ? 's' : ''}), then uninstall again; --force removes the unit all the same`,
    });

  const unit: UninstalledFile = {
    path: UNIT_PATH,
    file: unitFile,
    action: unitText === undefined ? 'absent' : differs && opts.dryRun && !opts.force ? 'differs' : 'removed',
    ...(differs && opts.force ? { reason: 'it differed from the unit epctl writes (--force)' } : {}),
  };

  // The config the unit runs the agent with; else the one given (install's default).
  const configPath = installed?.config ?? opts.config;
  const configFile = nodePath.join(opts.root, configPath);
  const configText = await readIfExists(configFile);
  const config: UninstalledFile =
    configText === undefined
      ? { path: configPath, file: configFile, action: 'absent' }
      : !opts.purge
        ? { path: configPath, file: configFile, action: 'kept', reason: 'a config is kept without --purge' }
        : configText !== EXAMPLE_CONFIG
          ? { path: configPath, file: configFile, action: 'kept', reason: 'it differs from the example install wrote (your edits): remove it by hand if you mean to' }
          : { path: configPath, file: configFile, action: 'removed' };

  if (!opts.dryRun) {
    if (unit.action === 'removed') await fs.rm(unitFile, { force: true }).catch((e: unknown) => Promise.reject(cannot('remove', unitFile, e)));
    if (config.action === 'removed') {
      await fs.rm(configFile, { force: true }).catch((e: unknown) => Promise.reject(cannot('remove', configFile, e)));
      // /etc/epctl too when that left it empty (install made it for the default config).
      if (nodePath.dirname(configPath) === nodePath.dirname(DEFAULT_CONFIG)) await fs.rmdir(nodePath.dirname(configFile)).catch(() => undefined);
    }
  }

  const notes: string[] = [];
  if (links.length > 0) notes.push(`still enabled by ${links.join(', ')}: \`systemctl disable --now epctl\` removes ${links.length > 1 ? 'them' : 'it'}`);
  const state = nodePath.join(opts.root, nodePath.dirname(DEFAULT_STATE_FILE));
  if (await fs.lstat(state).then(() => true, () => false))
    notes.push(`${state} is kept: the agent's record of what it made on the board (install did not write it); \`epctl clear\` reads it to take those functions down`);
  return {
    root: opts.root,
    dryRun: opts.dryRun,
    purge: opts.purge,
    nothing: unit.action === 'absent' && config.action !== 'removed',
    unit,
    config,
    enabledBy: links,
    notes,
    before: ['systemctl disable --now epctl'],
    next: ['systemctl daemon-reload'],
  };
}
