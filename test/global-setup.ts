// Builds dist/ once before the tests, so the CLI tests run the real bin; and holds the suite to
// "nothing left behind": every test process gets a private TMPDIR (os.tmpdir() and the CLIs the
// tests spawn use it), and the run fails if anything is still in it at the end, naming it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'epctl-suite-'));
  const before = process.env['TMPDIR'];
  process.env['TMPDIR'] = tmp;
  return () => {
    if (before === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = before;
    const left = fs.readdirSync(tmp);
    fs.rmSync(tmp, { recursive: true, force: true });
    if (left.length > 0) {
      // vitest reports a teardown error but keeps exit code 0: fail the run ourselves.
      process.stderr.write(`\nFAIL: the tests left ${left.length} entries in the temp directory: ${left.slice(0, 20).join(', ')}\n`);
      process.exitCode = 1;
    }
  };
}
