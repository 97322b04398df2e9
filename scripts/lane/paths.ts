// Where the lane's committed inputs live. scripts/run-ts.mjs bundles a script into
// node_modules/.run-ts-*/, so import.meta.url does not point into scripts/lane/ there: the repo
// root is found by walking up (from this module, then from the working directory) to the
// directory holding scripts/lane/kernel.config (from the working directory first when the
// bundle sits under node_modules/).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepo(): string {
  // A worktree whose node_modules is a symlink into another clone: Node loads the bundle from
  // its real path, inside that other clone, so a module under node_modules/ trusts the working
  // directory first.
  const here = path.dirname(fileURLToPath(import.meta.url));
  const starts = here.split(path.sep).includes('node_modules') ? [process.cwd(), here] : [here, process.cwd()];
  for (const start of starts) {
    for (let d = start; ; d = path.dirname(d)) {
      if (existsSync(path.join(d, 'scripts', 'lane', 'kernel.config'))) return d;
      if (path.dirname(d) === d) break;
    }
  }
  throw new Error('epctl lane: cannot find the repository (scripts/lane/kernel.config); run from inside the clone');
}

/** The clone's root directory. */
export const REPO = findRepo();
/** A file of the lane, by its path under scripts/lane/. */
export function laneFile(rel: string): string {
  return path.join(REPO, 'scripts', 'lane', rel);
}
