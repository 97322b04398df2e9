// What epctl made on a board: the functions it created, and the nvmet subsystems and ports of
// its NVMe endpoints (so clear and a later apply remove only those, and foreign ones survive), kept in a small JSON file written atomically
// (default /var/lib/epctl/state.json; beside --mock-state in mock mode). Functions are
// recorded before mkdir, so an apply killed half way leaves a record the next run converges from.
import fs from 'node:fs/promises';
import nodePath from 'node:path';
import * as z from 'zod/mini';
import { EpctlError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';
import { writeFileAtomic } from './atomic.js';

export const DEFAULT_STATE_FILE = '/var/lib/epctl/state.json';

const stateSchema = z.strictObject({
  format: z.literal('epctl-state'),
  version: z.literal(1),
  /** The board it belongs to (port origin: "/", "mock:imx95"). */
  board: z.string(),
  /** `driver/name` of each function epctl created. */
  functions: z.array(z.string().check(z.regex(/^[^/\s]+\/[^/\s]+$/))),
  /** nvmet subsystems and ports epctl created for NVMe endpoints: `nvmet/subsystems/<nqn>`, `nvmet/ports/<id>`. */
  nvmet: z.optional(z.array(z.string().check(z.regex(/^nvmet\/(subsystems|ports)\/[^/\s]+$/)))),
  /** Controllers an apply stopped to change their links and has not started again yet (a kill between the two leaves them here). */
  restart: z.optional(z.array(z.string())),
});

export type OwnershipState = z.infer<typeof stateSchema>;

export interface Ownership {
  readonly file: string | undefined;
  has(fn: string): boolean;
  list(): string[];
  /** Records (owned: true) or forgets a function, and saves at once. */
  set(fn: string, owned: boolean): Promise<void>;
  /** Replaces the whole set and saves. */
  replace(fns: readonly string[]): Promise<void>;
  /** Controllers stopped by an apply still under way, to start again (saved at once). */
  restarts(): string[];
  setRestarts(epcs: readonly string[]): Promise<void>;
}

/** Loads FILE (absent: nothing owned yet). undefined FILE: kept in memory only. */
export async function loadOwnership(file: string | undefined, board: string): Promise<Ownership> {
  const owned = new Set<string>();
  let restart: string[] = [];
  if (file !== undefined) {
    const text = await fs.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw new EpctlError(`cannot read the state file ${file}: ${e.code}`, { exitCode: EXIT.ERROR, hint: 'check its permissions, or give another with --state FILE' });
    });
    if (text !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new EpctlError(`the state file ${file} is not JSON`, { exitCode: EXIT.ERROR, hint: `move it away (epctl then owns nothing it made before and leaves those functions alone), or restore ${file}.1` });
      }
      const r = stateSchema.safeParse(parsed);
      if (!r.success) throw new EpctlError(`the state file ${file} is not an epctl state file (format epctl-state, version 1)`, { exitCode: EXIT.ERROR, hint: 'move it away, or give another with --state FILE' });
      if (r.data.board !== board)
        throw new EpctlError(`the state file ${file} belongs to board ${r.data.board}, not ${board}`, { exitCode: EXIT.ERROR, hint: 'give this board its own --state FILE' });
      for (const f of [...r.data.functions, ...(r.data.nvmet ?? [])]) owned.add(f);
      restart = r.data.restart ?? [];
    }
  }
  const save = async (): Promise<void> => {
    if (file === undefined) return;
    await fs.mkdir(nodePath.dirname(file), { recursive: true });
    const all = [...owned].sort();
    const nvmet = all.filter((k) => k.startsWith('nvmet/'));
    const state: OwnershipState = { format: 'epctl-state', version: 1, board, functions: all.filter((k) => !k.startsWith('nvmet/')), ...(nvmet.length ? { nvmet } : {}), ...(restart.length ? { restart } : {}) };
    await writeFileAtomic(file, JSON.stringify(state, null, 2) + '\n', { mode: 0o644 });
  };
  return {
    file,
    has: (fn) => owned.has(fn),
    list: () => [...owned].sort(),
    async set(fn, on) {
      if (owned.has(fn) === on) return;
      if (on) owned.add(fn);
      else owned.delete(fn);
      await save();
    },
    restarts: () => [...restart],
    async setRestarts(epcs) {
      const next = [...new Set(epcs)].sort();
      if (next.join('\n') === restart.join('\n')) return;
      restart = next;
      await save();
    },
    async replace(fns) {
      const next = [...new Set(fns)].sort();
      if (next.length === owned.size && next.every((f) => owned.has(f))) return;
      owned.clear();
      for (const f of next) owned.add(f);
      await save();
    },
  };
}
