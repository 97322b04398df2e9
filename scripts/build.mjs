// Bundles the CLI into dist/ with esbuild: one entry, code-split so the fake kernel
// (memfs and the board profiles) loads only for --mock runs. dist/ (epctl.js plus chunks/)
// runs with a plain `node`; the version is written in, and epctl.js keeps its run bit so the
// package bin (`npx epctl`, `npm link`) works after every rebuild.
import { build } from 'esbuild';
import { chmod, readFile, rm } from 'node:fs/promises';

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));

await rm(new URL('../dist', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { epctl: 'src/cli/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  minify: true,
  keepNames: true,
  chunkNames: 'chunks/[name]-[hash]',
  define: { EPCTL_VERSION: JSON.stringify(pkg.version), EPCTL_ENTRY: 'true' },
  banner: {
    // memfs is CommonJS: give its bundled require() calls a real require.
    js: "#!/usr/bin/env node\nimport { createRequire as __epctlCreateRequire } from 'node:module';\nconst require = __epctlCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
// esbuild writes files 0644: give the bin back its run bit.
await chmod(new URL('../dist/epctl.js', import.meta.url), 0o755);
