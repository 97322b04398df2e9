// Finds a program on PATH without a shell (`command -v` is a shell builtin), so the
// prerequisite check can name exactly what is missing.
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** The full path of `bin` on PATH, or undefined. */
export function which(bin: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, bin);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}
