// The two programs the guest's Node runs, each one self-contained file: the lane's harness
// (scripts/lane/guest/harness.ts and the scenarios it dispatches to, bundled here as ESM) and
// epctl itself — `npm run bundle`'s dist/epctl-bundle.cjs, made by the same scripts/bundle.mjs,
// so the guest runs (`node /lane/epctl.cjs probe --json`) the file a board gets, not the source.
import { build } from 'esbuild';
import { bundleEpctl as npmRunBundle } from '../bundle.mjs';
import { REPO, laneFile } from './paths.js';

// memfs is CommonJS: give its bundled require() calls a real require (as scripts/build.mjs does).
const REQUIRE_BANNER = "import { createRequire as __epctlCreateRequire } from 'node:module';\nconst require = __epctlCreateRequire(import.meta.url);";

async function bundle(entry: string): Promise<string> {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minify: true,
    keepNames: true,
    banner: { js: REQUIRE_BANNER },
    logLevel: 'warning',
  });
  return r.outputFiles[0]!.text;
}

/** The guest harness, bundled. */
export function bundleHarness(): Promise<string> {
  return bundle(laneFile('guest/harness.ts'));
}

/** epctl for the guest: `npm run bundle` (writes dist/epctl-bundle.cjs), its text. */
export function bundleEpctl(): Promise<string> {
  return npmRunBundle(REPO);
}
