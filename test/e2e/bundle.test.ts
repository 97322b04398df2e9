// `npm run bundle` (scripts/bundle.mjs): one file that a board with nothing but `node` runs.
// The bundle is built into a temp directory (the same function, only the destination differs),
// then copied ALONE into an empty directory — no node_modules, no package.json, no chunks — and
// run there with a plain `node`, under the names a board gives it.
import { describe, it, expect, beforeAll } from 'vitest';
import { builtinModules } from 'node:module';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { bundleEpctl } from '../../scripts/bundle.mjs';
import { BIN } from '../helpers/cli.js';
import { tempDirs } from '../helpers/tmp.js';

const tmp = tempDirs('epctl-bundle');
let text = '';
let board = '';

/** Runs FILE with a plain node in the board directory, with a bare environment. */
async function run(file: string, args: readonly string[], viaShebang = false) {
  const env = { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, NO_COLOR: '1' };
  const r = viaShebang
    ? await execa(file, args, { cwd: board, env, extendEnv: false, reject: false, timeout: 30_000 })
    : await execa(process.execPath, [file, ...args], { cwd: board, env, extendEnv: false, reject: false, timeout: 30_000 });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

beforeAll(async () => {
  const out = path.join(await tmp(), 'out', 'epctl-bundle.cjs');
  text = await bundleEpctl(path.resolve('.'), out);
  expect(await fs.readdir(path.dirname(out))).toEqual(['epctl-bundle.cjs']);
  expect((await fs.stat(out)).mode & 0o111).toBe(0o111);
  board = await tmp();
  await fs.copyFile(out, path.join(board, 'epctl-bundle.cjs'));
  // As /usr/bin/epctl: no extension, run through its #! line.
  await fs.copyFile(out, path.join(board, 'epctl'));
  await fs.chmod(path.join(board, 'epctl'), 0o755);
  // Under a directory with a blank in its name, and through a symlink of another name.
  await fs.mkdir(path.join(board, 'opt epctl'));
  await fs.copyFile(out, path.join(board, 'opt epctl', 'epctl-bundle.cjs'));
  await fs.symlink(path.join(board, 'epctl'), path.join(board, 'epctl-1'));
}, 120_000);

describe('the one-file bundle', () => {
  it('is self-contained: it requires only Node builtins, imports nothing, loads no addon', () => {
    expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
    const builtins = new Set(builtinModules);
    const required = [...text.matchAll(/\brequire\(\s*["'`]([^"'`]+)["'`]\s*\)/g)].map((m) => m[1]!);
    expect(required.length).toBeGreaterThan(0);
    expect(required.filter((r) => !r.startsWith('node:') && !builtins.has(r))).toEqual([]);
    // No dynamic import of another file (a chunk), no native addon.
    expect(text.match(/\bimport\(\s*["'`][./]/g)).toBeNull();
    expect(text).not.toMatch(/\.node["'`]\)/);
  });

  it('prints its version', async () => {
    const pkg = JSON.parse(await fs.readFile('package.json', 'utf8')) as { version: string };
    for (const [file, shebang] of [[path.join(board, 'epctl-bundle.cjs'), false], [path.join(board, 'epctl'), true], [path.join(board, 'opt epctl', 'epctl-bundle.cjs'), false], [path.join(board, 'epctl-1'), true]] as const) {
      const r = await run(file, ['--version'], shebang);
      expect(r).toEqual({ exitCode: 0, stdout: pkg.version, stderr: '' });
    }
  });

  it('probes a simulated i.MX95 exactly as the npm bin does', async () => {
    const r = await run(path.join(board, 'epctl'), ['probe', '--mock', 'imx95', '--json'], true);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const bin = await execa(process.execPath, [BIN, 'probe', '--mock', 'imx95', '--json'], { reject: false });
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(String(bin.stdout)));
    expect(JSON.parse(r.stdout).controllers).toHaveLength(2);
  });

  it('applies an example to a simulated board kept in --mock-state, and reads it back', async () => {
    await fs.copyFile('examples/pci-epf-vntb.yaml', path.join(board, 'vntb.yaml'));
    const mock = ['--mock', 'qemu-virt', '--mock-state', 'board.json'];
    const bundle = path.join(board, 'epctl-bundle.cjs');
    const applied = await run(bundle, ['apply', '-c', 'vntb.yaml', ...mock]);
    expect(applied.stderr).toBe('');
    expect(applied.exitCode).toBe(0);
    expect(applied.stdout).toContain('applied: ');
    // A second plan has nothing to do; doorbell status sees the vNTB's doorbells ready.
    const plan = await run(bundle, ['plan', '-c', 'vntb.yaml', ...mock]);
    expect(plan.exitCode).toBe(0);
    const status = await run(bundle, ['doorbell', 'status', '--json', ...mock]);
    expect(status.exitCode).toBe(0);
    expect(JSON.parse(status.stdout).ready).toBe(true);
    for (const f of ['board.json', 'board.json.lock', 'board.json.epctl-state.json', 'vntb.yaml']) await fs.rm(path.join(board, f), { force: true });
  });

  it('stays CommonJS beside a package.json that says "type": "module"', async () => {
    const dir = path.join(board, 'esm-package');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'package.json'), '{"type":"module"}\n');
    await fs.copyFile(path.join(board, 'epctl-bundle.cjs'), path.join(dir, 'epctl.cjs'));
    const r = await run(path.join(dir, 'epctl.cjs'), ['boards']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });
});
