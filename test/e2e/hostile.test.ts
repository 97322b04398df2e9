// Hostile recorded boards from a generator: each kind of damage (links out of the root, link
// loops, special files, oversized files, a gzip bomb, junk, a directory for a file and the
// reverse) on each file probe reads, as a directory and as a .tar.gz of the same board. The full
// product runs through the port and probe in this process; a sample covering every kind and
// every file runs through the real CLI under a time limit and a peak-RSS bound. Every answer
// must come in time, with a documented exit code, no stack trace, no byte from outside the
// root, the damaged path named whenever the answer changed, and nothing left behind.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import * as tar from 'tar';
import { EXIT } from '../../src/exit-codes.js';
import { BIN, noStackTrace } from '../helpers/cli.js';
import { fixtureDir } from '../helpers/fixtures.js';
import { within } from '../helpers/hostile-sysroot.js';
import { openPort } from '../../src/kernel/open.js';
import { probe, exitCodeOf } from '../../src/probe/probe.js';
import { EpctlError } from '../../src/kernel/errors.js';
import { snapshot } from '../../src/snapshot/record.js';
import { status, statusExitCode } from '../../src/status/status.js';
import { checkSnapshotTarget } from '../../src/snapshot/target.js';

const SENTINEL = 'SENTINEL-3c1f';
const PEAK_RSS_KB = 200 * 1024;
const TIME_LIMIT_MS = 30_000;
/** A hang guard, not a speed target: a healthy answer takes about a second, but a loaded 2-core machine (a kernel build beside the tests) has stretched one past 10 s. */
const HANG_MS = 30_000;
const DOCUMENTED = new Set<number>(Object.values(EXIT));

/** Files probe reads on the recorded i.MX95, relative to the root. */
const TARGETS = [
  'proc/version',
  'proc/config.gz',
  'proc/mounts',
  'proc/interrupts',
  'sys/class/pci_epc/4c300000.pcie-ep',
  'sys/devices/platform/soc/4c300000.pcie-ep/of_node',
  'sys/kernel/config/pci_ep/controllers/4c300000.pcie-ep/start',
  'sys/kernel/config/pci_ep/controllers',
  'sys/kernel/config/pci_ep/functions',
  'sys/firmware/devicetree/base/soc/pcie-ep@4c300000/msi-map',
  'sys/firmware/devicetree/base/soc/pcie-ep@4c300000/status',
  'sys/firmware/devicetree/base/soc/pcie-ep@4c300000',
  'sys/firmware/devicetree/base/__symbols__/its',
  'sys/firmware/devicetree/base/soc/pcie@4c300000/msi-map',
];

type Kind = 'abs-link-out' | 'climb-link-out' | 'self-loop' | 'fifo' | 'socket' | 'oversize' | 'gzip-bomb' | 'junk' | 'empty' | 'dir-for-file' | 'file-for-dir';
const DIR_ONLY: ReadonlySet<Kind> = new Set(['fifo', 'socket']);

let work: string;
let outside: string;
let bomb: Buffer;
const sockets: net.Server[] = [];

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'epctl-hostile-'));
  outside = path.join(work, 'outside');
  await fs.mkdir(outside);
  // Valid-looking content: if epctl ever followed a link out of the root, it would believe it.
  await fs.writeFile(path.join(outside, 'secret'), `Linux version 9.9.9-${SENTINEL} (x@y) (gcc) #1 SMP\n`);
  // 64 MiB of zeros in ~64 KiB: far past any config epctl will inflate.
  bomb = gzipSync(Buffer.alloc(64 << 20), { level: 9 });
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await fs.rm(work, { recursive: true, force: true });
});

let seq = 0;
/** A private copy of the recorded i.MX95, beside the sentinel an escaping link would reach. */
async function board(): Promise<string> {
  const dir = path.join(work, `board-${seq++}`);
  await fs.cp(await fixtureDir('imx95'), dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

/** Applies one kind of damage to `rel` inside `root`. */
async function damage(root: string, rel: string, kind: Kind, rng: () => number): Promise<void> {
  const p = path.join(root, rel);
  const isDir = (await fs.lstat(p).catch(() => undefined))?.isDirectory() ?? false;
  const replace = async () => fs.rm(p, { recursive: true, force: true });
  switch (kind) {
    case 'abs-link-out':
      await replace();
      return fs.symlink(path.join(outside, 'secret'), p);
    case 'climb-link-out':
      await replace();
      return fs.symlink(`${'../'.repeat(rel.split('/').length + 2)}outside/secret`, p);
    case 'self-loop':
      await replace();
      return fs.symlink(path.basename(p), p);
    case 'fifo':
      await replace();
      await execa('mkfifo', [p]);
      return;
    case 'socket': {
      await replace();
      // A socket path must fit sun_path (108 bytes): bind it short, then move it into place.
      const s = net.createServer();
      sockets.push(s);
      const short = path.join(work, `s${seq++}`);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(short, resolve);
      });
      return fs.rename(short, p);
    }
    case 'oversize':
      await replace();
      // Sparse: 256 MiB that costs no disk, and far past any limit.
      await fs.writeFile(p, '');
      return fs.truncate(p, 256 << 20);
    case 'gzip-bomb':
      await replace();
      return fs.writeFile(p, bomb);
    case 'junk': {
      await replace();
      const bytes = Buffer.alloc(1 + Math.floor(rng() * 300));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rng() * 256);
      return fs.writeFile(p, bytes);
    }
    case 'empty':
      if (isDir) {
        for (const e of await fs.readdir(p)) await fs.rm(path.join(p, e), { recursive: true, force: true });
        return;
      }
      await replace();
      return fs.writeFile(p, '');
    case 'dir-for-file':
      await replace();
      await fs.mkdir(p);
      return fs.writeFile(path.join(p, 'x'), '1\n');
    case 'file-for-dir':
      await replace();
      return fs.writeFile(p, '0x4c300000\n');
  }
}

/** A small deterministic generator, so a failure names a case that can be run again. */
function rngFrom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
  peakKb: number;
  timedOut: boolean;
}

async function probeRoot(root: string): Promise<Run> {
  const tmp = await fs.mkdtemp(path.join(work, 'tmp-'));
  const rssFile = path.join(work, `rss-${seq++}`);
  const r = await execa(process.execPath, ['--import', path.resolve('test/helpers/peak-rss.mjs'), BIN, 'probe', '--root', root, '--json'], {
    reject: false,
    timeout: TIME_LIMIT_MS,
    env: { NO_COLOR: '1', TMPDIR: tmp, EPCTL_TEST_RSS_FILE: rssFile },
  });
  const left = await fs.readdir(tmp);
  expect(left, 'the run left files in its TMPDIR').toEqual([]);
  await fs.rm(tmp, { recursive: true });
  const peakKb = Number(await fs.readFile(rssFile, 'utf8').catch(() => '0'));
  await fs.rm(rssFile, { force: true });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), peakKb, timedOut: r.timedOut };
}

/** Names and sizes of everything under `dir`, to prove a run changed nothing. */
async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = await fs.lstat(p);
      out.push(`${path.relative(dir, p)} ${st.mode} ${st.isFile() ? st.size : ''}`);
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out.sort();
}

/** Every (kind, target) pair, each kind on every target: the generator is the full product. */
function cases(): { kind: Kind; rel: string; seed: number }[] {
  const kinds: Kind[] = ['abs-link-out', 'climb-link-out', 'self-loop', 'fifo', 'socket', 'oversize', 'junk', 'empty', 'dir-for-file', 'file-for-dir'];
  const out: { kind: Kind; rel: string; seed: number }[] = [];
  let seed = 1;
  for (const kind of kinds) for (const rel of TARGETS) out.push({ kind, rel, seed: seed++ });
  out.push({ kind: 'gzip-bomb', rel: 'proc/config.gz', seed: seed++ });
  return out;
}

/** The answer without where it came from, or the error a person would see. */
async function answer(root: string): Promise<{ exit: number; out: string }> {
  const text = await (async () => {
    try {
      const open = await openPort({ root });
      try {
        const state = await probe(open.port);
        return { exit: exitCodeOf(state), out: JSON.stringify({ ...state, source: null }, null, 1) };
      } finally {
        await open.close();
      }
    } catch (e) {
      if (!(e instanceof EpctlError)) throw e;
      return { exit: e.exitCode, out: `${e.message}\n${e.hint ?? ''}` };
    }
  })();
  // Where the recording lies is not part of the answer.
  return { exit: text.exit, out: text.out.split(root).join('<ROOT>') };
}

/**
 * What the damage may do to the answer without naming the path: a link out of the root is
 * resolved inside it, where nothing is, so it answers as if the file were not recorded; a
 * directory emptied or kept a directory is a board the kernel could show.
 */
async function plausible(kind: Kind, rel: string, wasDir: boolean): Promise<{ exit: number; out: string } | 'any' | undefined> {
  if (kind === 'abs-link-out' || kind === 'climb-link-out') {
    const root = await board();
    await fs.rm(path.join(root, rel), { recursive: true, force: true });
    const a = await answer(root);
    await fs.rm(root, { recursive: true, force: true });
    return a;
  }
  if (wasDir && (kind === 'empty' || kind === 'dir-for-file')) return 'any';
  // A label only names a node: without a readable one the fix names the node by path, which
  // is as correct.
  if (rel.includes('/__symbols__/')) return 'any';
  return undefined;
}

/**
 * `snapshot` of the damaged board: it completes (or refuses with a documented code), lists what
 * it could not read, records nothing from outside the root, and its recording replays.
 */
async function recordsWhatItCan(root: string): Promise<void> {
  const target = path.join(work, `snap-${seq++}`);
  try {
    const open = await openPort({ root });
    try {
      const r = await within(HANG_MS, snapshot(open.port, await checkSnapshotTarget(target)));
      for (const u of r.unrecorded) expect(u.path.startsWith('/')).toBe(true);
    } catch (e) {
      if (!(e instanceof EpctlError) || e.exitCode === EXIT.BUG) throw e;
      return;
    } finally {
      await open.close();
    }
    for (const e of await fs.readdir(target, { recursive: true, withFileTypes: true }))
      if (e.isFile()) expect(await fs.readFile(path.join(e.parentPath, e.name), 'utf8')).not.toContain(SENTINEL);
    const replay = await within(HANG_MS, answer(target));
    expect(DOCUMENTED.has(replay.exit) && replay.exit !== EXIT.BUG).toBe(true);
  } finally {
    await fs.rm(target, { recursive: true, force: true });
  }
}

/** `status` of the damaged board: an answer in time with a documented code, never a throw. */
async function statusAnswers(root: string): Promise<void> {
  const open = await openPort({ root });
  try {
    const s = await within(HANG_MS, status(open.port));
    expect(DOCUMENTED.has(statusExitCode(s)) && statusExitCode(s) !== EXIT.BUG).toBe(true);
    expect(JSON.stringify(s)).not.toContain(SENTINEL);
  } finally {
    await open.close();
  }
}

/** The damaged file named by its kernel path, or a device-tree property by its node. */
function names(out: string, rel: string): boolean {
  const dt = 'sys/firmware/devicetree/base';
  if (out.includes(`/${rel}`)) return true;
  return rel.startsWith(`${dt}/`) && out.includes(`"${path.posix.dirname(rel.slice(dt.length))}`);
}

async function archiveOf(root: string): Promise<string> {
  const file = path.join(work, `board-${seq++}.tar.gz`);
  await tar.c({ gzip: true, file, cwd: root, portable: true }, await fs.readdir(root));
  return file;
}

describe('probe on hostile recorded boards (every kind of damage on every file, in process)', () => {
  let healthy: { exit: number; out: string };
  beforeAll(async () => {
    healthy = await answer(await board());
    expect(healthy.exit).toBe(0);
  });

  for (const { kind, rel, seed } of cases()) {
    it(`${kind} at /${rel}: answered in time, from inside the root, naming it when the answer changed; a .tar.gz of it answers the same`, async () => {
      const root = await board();
      const wasDir = (await fs.lstat(path.join(root, rel))).isDirectory();
      await damage(root, rel, kind, rngFrom(seed));
      const before = await listing(root);
      const got = await within(HANG_MS, answer(root));
      expect(DOCUMENTED.has(got.exit) && got.exit !== EXIT.BUG, `exit ${got.exit}`).toBe(true);
      expect(got.out).not.toContain(SENTINEL);
      const allowed = await plausible(kind, rel, wasDir);
      if (allowed !== 'any' && (got.exit !== healthy.exit || got.out !== healthy.out)) {
        const asIfUnrecorded = allowed !== undefined && got.exit === allowed.exit && got.out === allowed.out;
        if (!asIfUnrecorded) expect(names(got.out, rel), `the answer changed but /${rel} is not named:\n${got.out}`).toBe(true);
      }
      expect(await listing(root)).toEqual(before);
      await recordsWhatItCan(root);
      await statusAnswers(root);
      if (!DIR_ONLY.has(kind) && kind !== 'oversize') {
        const archive = await archiveOf(root);
        const fromArchive = await within(HANG_MS, answer(archive));
        expect({ exit: fromArchive.exit, out: fromArchive.out.split(archive).join('<ROOT>') }).toEqual(got);
        await fs.rm(archive);
      }
      await fs.rm(root, { recursive: true, force: true });
    });
  }
});

/** Each kind on two files and each file under at least one kind, the files rotating. */
function sample(): { kind: Kind; rel: string; seed: number }[] {
  const all = cases();
  const kinds = [...new Set(all.map((c) => c.kind))];
  return kinds.flatMap((kind, k) => all.filter((c) => c.kind === kind).filter((_, i, list) => i === k % list.length || i === (k + 7) % list.length));
}

function healthyOf(r: Run): unknown {
  const j = JSON.parse(r.stdout) as { source?: unknown };
  return { ...j, source: null };
}

describe('epctl probe --root on hostile recorded boards (the real CLI, a sample covering every kind and every file)', () => {
  let healthy: Run;

  beforeAll(async () => {
    healthy = await probeRoot(await board());
    expect(healthy.exitCode).toBe(0);
  });

  const check = async (label: string, root: string, origin: string, run: Run, allowed: string[]) => {
    expect(run.timedOut, `${label}: hung`).toBe(false);
    expect(run.peakKb, `${label}: peak RSS ${run.peakKb} KiB`).toBeLessThan(PEAK_RSS_KB);
    expect(DOCUMENTED.has(run.exitCode), `${label}: exit ${run.exitCode}\n${run.stderr}`).toBe(true);
    expect(run.exitCode, `${label}: exit 70 is for bugs\n${run.stderr}`).not.toBe(EXIT.BUG);
    expect(noStackTrace(run), `${label}: stack trace\n${run.stderr}`).toBe(true);
    expect(run.stdout + run.stderr, `${label}: read outside the root`).not.toContain(SENTINEL);
    expect(await listing(root), `${label}: the run changed the recorded board`).toEqual(allowed);
    // The process gives the answer probe gives in process (held to the oracle above).
    const inProcess = await answer(origin);
    const real = (t: string) => t.split('<ROOT>').join(origin);
    expect(run.exitCode, label).toBe(inProcess.exit);
    if (inProcess.out.startsWith('{')) expect(healthyOf(run), label).toEqual(JSON.parse(real(inProcess.out)));
    else expect(run.stderr, label).toContain(real(inProcess.out.split('\n')[0]!));
  };

  for (const { kind, rel, seed } of sample()) {
    it(`${kind} at /${rel}: a bounded, documented answer that names it (directory)`, async () => {
      const root = await board();
      await damage(root, rel, kind, rngFrom(seed));
      const before = await listing(root);
      await check(`${kind} /${rel} (dir)`, root, root, await probeRoot(root), before);
    });
    if (DIR_ONLY.has(kind) || kind === 'oversize') continue;
    it(`${kind} at /${rel}: a bounded, documented answer from a .tar.gz of the same board`, async () => {
      const root = await board();
      await damage(root, rel, kind, rngFrom(seed));
      const archive = await archiveOf(root);
      const before = await listing(work);
      const run = await probeRoot(archive);
      await check(`${kind} /${rel} (tar.gz)`, root, archive, run, await listing(root));
      expect(await listing(work), 'the archive run wrote beside it').toEqual(before);
      await fs.rm(archive);
    });
  }
});
