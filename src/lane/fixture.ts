// Recorded kernel traces: what a real kernel answered to a differential Op list (`--record`),
// stored under test/fixtures/kernel/<release>/ and replayed against the fake by `npm test`, so
// every run is held to the real kernel without QEMU. One JSON file per run: a header line, then
// one Op and one result per line (compact, and a diff shows which Op changed).
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { EpctlError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';
import type { Op, OpResult } from './ops.js';
import { fakeResults } from './differential.js';
import { firstDivergence, type Divergence } from './normalise.js';

/** One recorded run: the real kernel's answers to a generated Op list. */
export interface KernelTrace {
  format: 'epctl-kernel-trace';
  version: 1;
  /** The fake board profile the real set-up corresponds to (qemu-virt, qemu-virt-msi-parent, …). */
  board: string;
  /** uname -r of the kernel that answered. */
  release: string;
  seed: number;
  ops: Op[];
  results: OpResult[];
}

/** The fixture root in a checkout. */
export const FIXTURE_ROOT = 'test/fixtures/kernel';

const stat = z.object({ kind: z.enum(['file', 'dir', 'symlink', 'other']), mode: z.number(), size: z.number(), nlink: z.number(), uid: z.number(), gid: z.number() }).strict();
const result = z
  .object({ ret: z.string(), count: z.number().optional(), data: z.string().optional(), names: z.array(z.string()).optional(), stat: stat.optional(), link: z.string().optional(), rows: z.array(z.string()).optional(), log: z.array(z.string()) })
  .strict();
const p = z.string();
const op = z.discriminatedUnion('op', [
  z.object({ op: z.literal('mkdir'), path: p }).strict(),
  z.object({ op: z.literal('rmdir'), path: p }).strict(),
  z.object({ op: z.literal('write'), path: p, data: z.string() }).strict(),
  z.object({ op: z.literal('read'), path: p }).strict(),
  z.object({ op: z.literal('readdir'), path: p }).strict(),
  z.object({ op: z.literal('symlink'), path: p, target: p }).strict(),
  z.object({ op: z.literal('unlink'), path: p }).strict(),
  z.object({ op: z.literal('create'), path: p, exclusive: z.boolean().optional() }).strict(),
  z.object({ op: z.literal('rename'), path: p, to: p }).strict(),
  z.object({ op: z.literal('lstat'), path: p }).strict(),
  z.object({ op: z.literal('readlink'), path: p }).strict(),
  z.object({ op: z.literal('interrupts') }).strict(),
]);
const trace = z
  .object({ format: z.literal('epctl-kernel-trace'), version: z.literal(1), board: z.string(), release: z.string(), seed: z.number(), ops: z.array(op), results: z.array(result) })
  .strict()
  .refine((t) => t.results.length === t.ops.length, { message: 'one result per op' });

/** The file text: header fields on the first line, then one Op or result per line. */
export function traceText(t: KernelTrace): string {
  const { ops, results, ...head } = t;
  const lines = (xs: readonly unknown[]): string => xs.map((x) => '  ' + JSON.stringify(x)).join(',\n');
  return `${JSON.stringify(head).slice(0, -1)},\n "ops": [\n${lines(ops)}\n ],\n "results": [\n${lines(results)}\n ]\n}\n`;
}

/** A fixture file that is not a kernel trace (exit 7, with the file and the fix). */
export class TraceError extends EpctlError {}

/** Parses and checks a fixture; errors name the file and what to do. */
export function parseTrace(text: string, file: string): KernelTrace {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TraceError(`${file}: not JSON (${(e as Error).message})`, { exitCode: EXIT.BAD_DATA, hint: `re-record it with the lane's --record, or delete ${file}` });
  }
  const r = trace.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new TraceError(`${file}: not a kernel trace: ${issue.path.join('.') || '(top)'}: ${issue.message}`, { exitCode: EXIT.BAD_DATA, hint: `re-record it with the lane's --record, or delete ${file}` });
  }
  return r.data as KernelTrace;
}

/** Writes the trace as test/fixtures/kernel/<release>/<board>-seed<seed>.json below `root`. */
export async function writeTrace(root: string, t: KernelTrace): Promise<string> {
  const dir = path.join(root, FIXTURE_ROOT, t.release);
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, `${t.board}-seed${t.seed}.json`);
  await fs.writeFile(file, traceText(t));
  return file;
}

/** Every fixture file below `root`, sorted. */
export async function listTraces(root: string): Promise<string[]> {
  const base = path.join(root, FIXTURE_ROOT);
  const releases = await fs.readdir(base).catch(() => [] as string[]);
  const files: string[] = [];
  for (const r of releases.sort()) for (const f of (await fs.readdir(path.join(base, r))).sort()) if (f.endsWith('.json')) files.push(path.join(base, r, f));
  return files;
}

/** Replays a trace against a fresh fake of its board and release: the first divergence, if any. */
export async function replayTrace(t: KernelTrace): Promise<Divergence | undefined> {
  return firstDivergence(t.ops, t.results, await fakeResults(t.board, t.release, t.ops));
}

/** The path of a lane scenario's recorded result: <FIXTURE_ROOT>/<release>/<scenario>/<name>.json. */
export const scenarioFixture = (release: string, scenario: string, name: string): string => path.join(FIXTURE_ROOT, release, scenario, `${name}.json`);

/** Every recorded result of SCENARIO, each kernel's, parsed (none when nothing was recorded). */
export function scenarioFixtures<T>(scenario: string): { file: string; f: T }[] {
  if (!fsSync.existsSync(FIXTURE_ROOT)) return [];
  return fsSync.readdirSync(FIXTURE_ROOT).flatMap((rel) => {
    const dir = path.join(FIXTURE_ROOT, rel, scenario);
    if (!fsSync.existsSync(dir)) return [];
    return fsSync
      .readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .map((n) => ({ file: path.join(dir, n), f: JSON.parse(fsSync.readFileSync(path.join(dir, n), 'utf8')) as T }));
  });
}
