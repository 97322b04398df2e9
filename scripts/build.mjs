// Bundles the CLI into dist/ with esbuild: one entry, code-split so the fake kernel
// (memfs and the board profiles) loads only for --mock runs.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';

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
  banner: {
    // memfs is CommonJS: give its bundled require() calls a real require.
    js: "#!/usr/bin/env node\nimport { createRequire as __epctlCreateRequire } from 'node:module';\nconst require = __epctlCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
