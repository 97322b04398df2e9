// Loads one benchmark module (bundled by scripts/run-ts.mjs) and prints its results as JSON.
export async function main(args: string[]): Promise<number> {
  const file = args[0];
  if (!file) return 64;
  const { pathToFileURL } = await import('node:url');
  const { build } = await import('esbuild');
  const path = await import('node:path');
  const fs = await import('node:fs');
  const out = path.join(path.dirname(file), '..', 'node_modules', `.bench-${path.basename(file, '.ts')}-${process.pid}.mjs`);
  await build({ entryPoints: [file], outfile: out, bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external', logLevel: 'warning' });
  try {
    const mod = await import(pathToFileURL(out).href);
    const r = await mod.run();
    process.stdout.write(JSON.stringify(Array.isArray(r) ? r : [r]) + '\n');
  } finally {
    fs.rmSync(out, { force: true });
  }
  return 0;
}
