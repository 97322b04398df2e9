// `npm run bundle`: epctl as ONE self-contained file, dist/epctl-bundle.cjs, for a board with a
// plain `node` (20 or 22) and nothing else: no chunks, no node_modules, no native addons (none
// of the dependencies has one). The real-kernel lane runs this same file in its guest
// (scripts/lane/bundle.ts calls bundleEpctl below), so there is one way epctl gets bundled.
//
// CommonJS, not ESM: a board installs it under any name (/usr/bin/epctl, no extension), and
// Node 20 loads an extensionless file outside a "type": "module" package as CommonJS — an ESM
// bundle there fails on its first `import` (Node 22.12+ would detect the syntax, Node 20 does
// not). As CommonJS the bundled memfs (itself CommonJS) gets the real require with no banner,
// and the `.cjs` name keeps it CommonJS even beside a package.json that says "type": "module".
// The sources' two uses of import.meta.url (main.ts's entry check, version.ts's fallback,
// which EPCTL_VERSION makes dead) read the file's own URL, built from __filename.
//
// Usage: node scripts/bundle.mjs [--outfile FILE]   (default dist/epctl-bundle.cjs)
import { build } from 'esbuild';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run bundle` writes, under the clone's root REPO. */
export const bundlePath = (repo) => path.join(repo, 'dist', 'epctl-bundle.cjs');

/**
 * Builds the bundle of the clone at REPO, writes it to OUTFILE (mode 0755) and returns its
 * text. REPO is explicit: bundled into another script (the lane, through scripts/run-ts.mjs)
 * this module's own URL is under node_modules/, possibly another clone's.
 */
export async function bundleEpctl(repo, outfile = bundlePath(repo)) {
  const pkg = JSON.parse(await readFile(path.join(repo, 'package.json'), 'utf8'));
  const r = await build({
    absWorkingDir: repo,
    entryPoints: [path.join(repo, 'src/cli/main.ts')],
    bundle: true,
    write: false,
    splitting: false,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    minify: true,
    keepNames: true,
    define: { EPCTL_VERSION: JSON.stringify(pkg.version), EPCTL_ENTRY: 'true', 'import.meta.url': '__epctlImportMetaUrl' },
    banner: { js: "#!/usr/bin/env node\nvar __epctlImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'warning',
  });
  if (r.outputFiles.length !== 1) throw new Error(`esbuild made ${r.outputFiles.length} files, not one`);
  const text = r.outputFiles[0].text;
  await mkdir(path.dirname(outfile), { recursive: true });
  await writeFile(outfile, text);
  await chmod(outfile, 0o755);
  return text;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const args = process.argv.slice(2);
  const i = args.indexOf('--outfile');
  if ((i >= 0 && !args[i + 1]) || args.length !== (i >= 0 ? 2 : 0)) {
    console.error('usage: node scripts/bundle.mjs [--outfile FILE]');
    process.exit(64);
  }
  const out = i >= 0 ? path.resolve(args[i + 1]) : bundlePath(repo);
  const text = await bundleEpctl(repo, out);
  console.log(`${path.relative(process.cwd(), out) || out}: ${(text.length / 1024).toFixed(0)} KiB`);
}
