// Bundle cold start: the one-file bundle (`npm run bundle`, dist/epctl-bundle.cjs) against
// epctl unbundled, for `--version` and `probe --mock imx95 --json`, each whole process as a
// ratio to the other, measured interleaved in one run.
//
// "Unbundled" is the sources as a checkout runs them without a bundler: every src/ module
// transpiled on its own (esbuild, no bundling: what tsc would emit), the dependencies loaded
// from node_modules, the version read from package.json. The npm bin (dist/epctl.js) is
// bundled too, only code-split into chunks; it is measured as well, as the third column, so
// the bundle's gain over what `npm install` gives is not overstated.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { bundleEpctl } from '../scripts/bundle.mjs';
import { timeProcess as time, median } from './lib/timing.js';

const RUNS = 25;

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(path.join(e.parentPath, e.name));
  return out;
}

export async function run(): Promise<{ name: string; ratio: number; target: number; detail: string }[]> {
  const repo = path.resolve('.');
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'epctl-bench-bundle-'));
  try {
    const bundle = path.join(work, 'epctl-bundle.cjs');
    await bundleEpctl(repo, bundle);
    // The unbundled tree: src/**/*.js beside a package.json (type module, the version) and a
    // link to the checkout's node_modules.
    const tree = path.join(work, 'unbundled');
    const pkg = JSON.parse(await fs.readFile(path.join(repo, 'package.json'), 'utf8')) as { version: string };
    await build({ entryPoints: await sources(path.join(repo, 'src')), outdir: path.join(tree, 'src'), outbase: path.join(repo, 'src'), bundle: false, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' });
    await fs.writeFile(path.join(tree, 'package.json'), JSON.stringify({ type: 'module', version: pkg.version }));
    await fs.symlink(path.join(repo, 'node_modules'), path.join(tree, 'node_modules'));
    const unbundled = path.join(tree, 'src', 'cli', 'main.js');
    const npmBin = path.join(repo, 'dist', 'epctl.js');

    const commands = { version: ['--version'], probe: ['probe', '--mock', 'imx95', '--json'] } as const;
    const bins = { bundle, unbundled, npmBin } as const;
    const samples = new Map<string, number[]>();
    const key = (c: string, b: string) => `${c}/${b}`;
    for (const c of Object.keys(commands)) for (const b of Object.keys(bins)) samples.set(key(c, b), []);
    const all = Object.entries(commands).flatMap(([c, args]) => Object.entries(bins).map(([b, file]) => ({ k: key(c, b), args: [file, ...args] })));
    // `node -e 0` as well, interleaved: what Node itself costs on this machine, for the README.
    all.push({ k: 'node', args: ['-e', '0'] });
    samples.set('node', []);
    for (const { args } of all) time(args); // warm the page cache
    for (let i = 0; i < RUNS; i++) for (const { k, args } of all) samples.get(k)!.push(time(args));
    const node = `; node -e 0 ${median(samples.get('node')!).toFixed(1)} ms`;

    const m = (c: string, b: string) => median(samples.get(key(c, b))!);
    return Object.keys(commands).flatMap((c) => {
      const label = c === 'version' ? 'epctl --version' : 'epctl probe --mock imx95 --json';
      return [
        {
          name: `bundle cold start (${label}): dist/epctl-bundle.cjs / unbundled sources`,
          ratio: m(c, 'bundle') / m(c, 'unbundled'),
          target: 1,
          detail: `median ${m(c, 'bundle').toFixed(1)} ms vs ${m(c, 'unbundled').toFixed(1)} ms over ${RUNS} interleaved runs${node}`,
        },
        {
          name: `bundle cold start (${label}): dist/epctl-bundle.cjs / npm bin dist/epctl.js (code-split)`,
          ratio: m(c, 'bundle') / m(c, 'npmBin'),
          target: 1,
          detail: `median ${m(c, 'bundle').toFixed(1)} ms vs ${m(c, 'npmBin').toFixed(1)} ms over ${RUNS} interleaved runs${node}`,
        },
      ];
    });
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
