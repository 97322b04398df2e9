// epctl's version: written into the bundle by scripts/build.mjs (esbuild `define`), so
// dist/epctl.js needs no package.json at run time; read from package.json when run from source.
import { createRequire } from 'node:module';

declare const EPCTL_VERSION: string | undefined;

export function version(): string {
  if (typeof EPCTL_VERSION === 'string') return EPCTL_VERSION;
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}
