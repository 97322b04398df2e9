// `epctl service install`: the unit and, when the board has none, an example config, written
// under a root directory ("/" on the board, DESTDIR for a packager, a temp dir in tests). A
// unit that is already there is left alone when it is the same, refused when it differs (it
// may carry the owner's edits) unless forced; an existing config is never touched.
import fs from 'node:fs/promises';
import nodePath from 'node:path';
import { EXIT } from '../exit-codes.js';
import { EpctlError } from '../kernel/errors.js';
import { writeFileAtomic } from '../state/atomic.js';
import { EXAMPLE_CONFIG } from './example-config.js';
import { UNIT_PATH, renderUnit, type UnitOptions } from './unit.js';

export interface InstallOptions {
  /** Where "/" of the target system is. */
  root: string;
  unit: UnitOptions;
  /** Replace a unit that differs. */
  force: boolean;
  /** Say what would be written; write nothing. */
  dryRun: boolean;
}

/** What happened (or, with --dry-run, would happen) to one file. */
export type FileAction = 'created' | 'replaced' | 'unchanged' | 'kept' | 'differs';

export interface InstalledFile {
  /** The path on the target system (/etc/systemd/system/epctl.service). */
  path: string;
  /** Where it is written: PATH under the root. */
  written: string;
  action: FileAction;
  mode: string;
}

export interface InstallResult {
  root: string;
  dryRun: boolean;
  unit: InstalledFile;
  config: InstalledFile;
  /** A note worth reading before enabling it (the binary is missing under the root). */
  notes: string[];
  /** The commands that start it, on the target system. */
  next: string[];
  /** The unit text, for --dry-run. */
  text: string;
}

const UNIT_MODE = 0o644;
const CONFIG_MODE = 0o644;
const octal = (m: number): string => `0${m.toString(8)}`;

/** FILE's text, or undefined when there is none; another failure is `cannot read` with HINT. */
export async function readIfExists(file: string, hint?: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    // ENOTDIR: a parent is a file, so there is no such file either (writing it will say why not).
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw cannot('read', file, e, hint);
  }
}

/** FILE exists (a parent that is a file means it does not). */
async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw cannot('read', file, e);
  }
}

/** A file of the unit or config that cannot be read, written or removed (exit 73), with the fix. */
export function cannot(verb: string, file: string, e: unknown, hint = 'run it as root, or give --root a directory you can write'): EpctlError {
  const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  return new EpctlError(`cannot ${verb} ${file}: ${code}`, { exitCode: EXIT.CANT_WRITE, hint, cause: e });
}

async function write(file: string, text: string, mode: number): Promise<void> {
  try {
    await fs.mkdir(nodePath.dirname(file), { recursive: true, mode: 0o755 });
    await writeFileAtomic(file, text, { mode });
    // The mode asked for, whatever the umask.
    await fs.chmod(file, mode);
  } catch (e) {
    throw cannot('write', file, e);
  }
}

/** Installs (or, dry, plans) the unit and the example config under OPTS.root. */
export async function install(opts: InstallOptions): Promise<InstallResult> {
  const text = renderUnit(opts.unit);
  const unitFile = nodePath.join(opts.root, UNIT_PATH);
  const configFile = nodePath.join(opts.root, opts.unit.config);

  const current = await readIfExists(unitFile);
  // A unit that differs may hold its owner's edits: --dry-run says so, a run refuses it.
  const unitAction: FileAction = current === undefined ? 'created' : current === text ? 'unchanged' : opts.force ? 'replaced' : 'differs';
  if (unitAction === 'differs' && !opts.dryRun)
    throw new EpctlError(`${unitFile} exists and differs from the unit epctl would write`, {
      exitCode: EXIT.CANT_WRITE,
      hint: `compare it with what --dry-run prints (with the same options); keep local changes in a drop-in (systemctl edit epctl) and add --force to replace it`,
    });
  const configAction: FileAction = (await exists(configFile)) ? 'kept' : 'created';

  if (!opts.dryRun) {
    if (unitAction === 'created' || unitAction === 'replaced') await write(unitFile, text, UNIT_MODE);
    if (configAction === 'created')
      await write(configFile, EXAMPLE_CONFIG, CONFIG_MODE).catch(async (e: unknown) => {
        // All or nothing: the unit goes back to what it was.
        if (unitAction === 'created') await fs.rm(unitFile, { force: true }).catch(() => undefined);
        if (unitAction === 'replaced' && current !== undefined) await writeFileAtomic(unitFile, current).catch(() => undefined);
        throw e;
      });
  }

  const notes: string[] = [];
  const bin = nodePath.join(opts.root, opts.unit.bin);
  if (!(await fs.access(bin, fs.constants.X_OK).then(() => true, () => false)))
    notes.push(`${bin} is not there (or not executable) yet: ExecStart= runs ${opts.unit.bin} (--bin)`);
  return {
    root: opts.root,
    dryRun: opts.dryRun,
    unit: { path: UNIT_PATH, written: unitFile, action: unitAction, mode: octal(UNIT_MODE) },
    config: { path: opts.unit.config, written: configFile, action: configAction, mode: octal(CONFIG_MODE) },
    notes,
    next: ['systemctl daemon-reload', 'systemctl enable --now epctl'],
    text,
  };
}
