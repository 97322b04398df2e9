// Runs a TypeScript script of this repo (scripts/*.ts, bench/*.ts) with Node 20: bundles it
// with esbuild into a temporary .mjs next to node_modules, then imports it.
// Usage: node scripts/run-ts.mjs FILE.ts [args...]
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [file, ...args] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/run-ts.mjs FILE.ts [args...]');
  process.exit(64);
}
const dir = mkdtempSync(path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'node_modules', '.run-ts-'));
const out = path.join(dir, 'main.mjs');
try {
  await build({
    entryPoints: [file],
    outfile: out,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  process.argv = [process.argv[0], file, ...args];
  const mod = await import(pathToFileURL(out).href);
  if (typeof mod.main === 'function') process.exitCode = (await mod.main(args)) ?? 0;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
