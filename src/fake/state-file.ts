// --mock-state FILE: the fake kernel's state between commands, so a person can run several
// commands against one simulated board. Created when missing; written atomically (temp file in
// the same directory, fsync, rename) so a crash never leaves half a file.
import fs from 'node:fs/promises';
import nodePath from 'node:path';
import { EpctlError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';
import type { FakeKernelState } from './api.js';

export async function readStateFile(file: string): Promise<FakeKernelState | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EpctlError(`cannot read the mock state ${file}: ${(e as Error).message}`, { exitCode: EXIT.USAGE, cause: e });
  }
  try {
    return JSON.parse(text) as FakeKernelState;
  } catch (e) {
    throw new EpctlError(`${file} is not a mock state file (invalid JSON: ${(e as Error).message})`, {
      exitCode: EXIT.USAGE,
      hint: 'give a file written by --mock-state, or a new path to start a fresh simulated board',
      cause: e,
    });
  }
}

export async function writeStateFile(file: string, state: FakeKernelState): Promise<void> {
  const dir = nodePath.dirname(nodePath.resolve(file));
  const tmp = nodePath.join(dir, `.${nodePath.basename(file)}.${process.pid}.tmp`);
  const fh = await fs.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(state) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
}
