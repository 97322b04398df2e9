// The bin as people install it: `npx epctl` in the checkout, and dist/ copied to a board and
// run with a plain `node` from anywhere (no node_modules, no package.json beside it).
import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { BIN } from '../helpers/cli.js';

const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await fs.rm(dir, { recursive: true, force: true });
});

describe('the built bin', () => {
  it('dist/epctl.js keeps its run bit after a build', async () => {
    expect((await fs.stat(BIN)).mode & 0o111).toBe(0o111);
  });

  it('runs as `npx epctl` in the checkout', async () => {
    const pkg = JSON.parse(await fs.readFile('package.json', 'utf8'));
    const r = await execa('npx', ['--no-install', 'epctl', '--version'], { reject: false });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(pkg.version);
    expect(r.exitCode).toBe(0);
  });

  it('runs from a copy of dist/ on PATH through a symlink, from another directory', async () => {
    const board = await fs.mkdtemp(path.join(os.tmpdir(), 'epctl-bin-'));
    made.push(board);
    await fs.cp(path.dirname(BIN), path.join(board, 'opt'), { recursive: true });
    await fs.mkdir(path.join(board, 'bin'));
    await fs.symlink(path.join(board, 'opt', 'epctl.js'), path.join(board, 'bin', 'epctl'));
    const env = { PATH: `${path.join(board, 'bin')}:${path.dirname(process.execPath)}:/usr/bin:/bin` };
    const r = await execa('epctl', ['probe', '--mock', 'imx95', '--json'], { cwd: board, env, extendEnv: false, reject: false });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).controllers).toHaveLength(2);
    const plain = await execa(process.execPath, [path.join(board, 'opt', 'epctl.js'), 'boards'], { cwd: '/', reject: false });
    expect(plain.exitCode).toBe(0);
  });
});
