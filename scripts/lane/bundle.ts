// The two programs the guest's Node runs, each bundled by esbuild into one self-contained ESM
// file: the lane's harness (scripts/lane/guest/harness.ts and the scenarios it dispatches to)
// and epctl itself (src/cli/main.ts, unsplit, so `node /lane/epctl.mjs probe --json` works).
import fs from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { REPO, laneFile } from './paths.js';

// memfs is CommonJS: give its bundled require() calls a real require (as scripts/build.mjs does).
const REQUIRE_BANNER = "import { createRequire as __epctlCreateRequire } from 'node:module';\nconst require = __epctlCreateRequire(import.meta.url);";

async function bundle(entry: string, define: Record<string, string> = {}): Promise<string> {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minify: true,
    keepNames: true,
    define,
    banner: { js: REQUIRE_BANNER },
    logLevel: 'warning',
  });
  return r.outputFiles[0]!.text;
}

/** The guest harness, bundled. */
export function bundleHarness(): Promise<string> {
  return bundle(laneFile('guest/harness.ts'));
}

/** epctl for the guest, bundled into one file with the package version written in. */
export async function bundleEpctl(): Promise<string> {
  const pkg = JSON.parse(await fs.readFile(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
  return bundle(path.join(REPO, 'src/cli/main.ts'), { EPCTL_VERSION: JSON.stringify(pkg.version) });
}
