// --mock-state FILE: the fake kernel's state between commands, so a person can run several
// commands against one simulated board. Created when missing; written atomically (temp file in
// the same directory, fsync, rename) so a crash never leaves half a file, and the temp file is
// removed when the write fails. Everything about the path is checked before the board boots:
// a directory, a special file, an empty or hand-broken file, a missing or read-only directory
// are refused with the file named and the fix.
import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import nodePath from 'node:path';
import { EpctlError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';
import { boardNames } from '../boards/index.js';
import { writeFailure, hostFix, isSystemError } from '../output-error.js';
import type { FakeKernelState } from './api.js';

/** Far above any state epctl writes (a busy board's is tens of kB); a bigger file is not ours. */
const MAX_STATE_BYTES = 16 * 1024 * 1024;

const FRESH = 'give a file written by --mock-state, or a new path to start a fresh simulated board';

function refuse(message: string, hint: string, cause?: unknown): EpctlError {
  return new EpctlError(message, { exitCode: EXIT.USAGE, hint, cause });
}

/** The saved state, or undefined when FILE does not exist yet (its directory must). */
export async function readStateFile(file: string): Promise<FakeKernelState | undefined> {
  if (file === '') throw refuse('--mock-state is empty', 'give a file path, e.g. --mock-state board.json');
  // Checked as snapshot targets are: never in a kernel-owned tree, never through a dangling link.
  const { kernelOwner, realPath } = await import('../snapshot/target.js');
  const abs = nodePath.resolve(file);
  const owner = await kernelOwner(await realPath(abs));
  if (owner) throw refuse(`the mock state ${file} is under ${owner}, which the kernel owns`, 'give a path outside /proc, /sys, /dev and configfs, e.g. --mock-state ~/board.json');
  const link = await fs.lstat(file).catch(() => undefined);
  if (link?.isSymbolicLink() && !(await fs.stat(file).then(() => true, () => false)))
    throw refuse(`the mock state ${file} is a dangling symbolic link`, `remove the link or give another path (it points at ${await fs.readlink(file).catch(() => '?')})`);
  const st = await fs.stat(file).catch((e: NodeJS.ErrnoException) => e);
  if (st instanceof Error) {
    if (st.code !== 'ENOENT') throw refuse(`cannot use the mock state ${file}: ${st.code}`, hostFix(st.code), st);
    await checkDirectory(file);
    return undefined;
  }
  if (st.isDirectory()) throw refuse(`the mock state ${file} is a directory`, `give a file path, e.g. --mock-state ${nodePath.join(file, 'board.json')}`);
  // Never opened: a FIFO would block the read, a device would never end.
  if (!st.isFile()) throw refuse(`the mock state ${file} is not a regular file`, FRESH);
  if (st.size === 0) throw refuse(`the mock state ${file} is empty`, 'delete it (or give a new path) to start a fresh simulated board');
  if (st.size > MAX_STATE_BYTES) throw refuse(`the mock state ${file} is ${st.size} bytes, more than the ${MAX_STATE_BYTES} a state file can hold`, FRESH);
  await checkDirectory(file);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw refuse(`cannot read the mock state ${file}: ${(e as Error).message}`, hostFix((e as NodeJS.ErrnoException).code), e);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw refuse(`${file} is not a mock state file (invalid JSON: ${(e as Error).message})`, FRESH, e);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw refuse(`${file} is not a mock state file (it holds ${json === null ? 'null' : Array.isArray(json) ? 'an array' : `a ${typeof json}`}, not an object)`, FRESH);
  // Loaded only here: a --mock run without a saved state does not pay for the validator.
  const { fakeStateSchema, describeIssues } = await import('./state-schema.js');
  const parsed = fakeStateSchema(boardNames()).safeParse(json);
  if (!parsed.success) throw refuse(`${file} is not a valid mock state file: ${describeIssues(parsed.error)}`, `fix that field by hand, or delete the file to start a fresh simulated board`);
  return parsed.data;
}

/** The state is saved by a rename in FILE's directory: it must exist and be writable now. */
async function checkDirectory(file: string): Promise<void> {
  const dir = nodePath.dirname(nodePath.resolve(file));
  const st = await fs.stat(dir).catch((e: NodeJS.ErrnoException) => e);
  if (st instanceof Error)
    throw refuse(`cannot keep the mock state ${file}: ${st.code === 'ENOENT' ? `the directory ${dir} does not exist` : `${st.code} on ${dir}`}`, st.code === 'ENOENT' ? `create it first (mkdir -p ${dir}), or give a path in an existing directory` : hostFix(st.code), st);
  if (!st.isDirectory()) throw refuse(`cannot keep the mock state ${file}: ${dir} is not a directory`, hostFix('ENOTDIR'));
  try {
    await fs.access(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw refuse(`cannot keep the mock state ${file}: ${dir} is not writable (${(e as NodeJS.ErrnoException).code})`, hostFix((e as NodeJS.ErrnoException).code), e);
  }
}

export async function writeStateFile(file: string, state: FakeKernelState): Promise<void> {
  const dir = nodePath.dirname(nodePath.resolve(file));
  const tmp = nodePath.join(dir, `.${nodePath.basename(file)}.${process.pid}.tmp`);
  let created = false;
  try {
    const fh = await fs.open(tmp, 'w', 0o600);
    created = true;
    try {
      await fh.writeFile(JSON.stringify(state) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, file);
    created = false;
  } catch (e) {
    if (created) await fs.rm(tmp, { force: true }).catch(() => undefined);
    if (isSystemError(e)) throw writeFailure('the mock state', file, e, EXIT.CANT_WRITE, '; the previous state is unchanged');
    throw e;
  }
}
