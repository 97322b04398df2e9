// The trace_pipe reader on real files: a FIFO stands in for trace_pipe (a read blocks while it
// is empty and a writer holds it open, as tracing_wait_pipe does) and for trace_marker (a write
// to it wakes that read, as a marker line does). What it shows: the read waits in the kernel
// (no O_NONBLOCK), a stop wakes it and closes the fd, an abort before any data ends it, the
// fallback polls with O_NONBLOCK, and process.exit (which joins libuv's threadpool) does not
// hang on a waiting read once the exit hook woke it, while it does without the wake.
import { describe, it, expect, beforeAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { execa } from 'execa';
import { tempDirs } from '../../test/helpers/tmp.js';
import { tracePipeLines, markerBeside, type OpenPipe } from './pipe.js';

const tmp = tempDirs('epctl-pipe');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function fifo(): Promise<{ path: string; hold: number }> {
  const p = path.join(await tmp(), 'trace_pipe');
  await execa('mkfifo', [p]);
  // The writer side stays open (as the kernel's buffer never "ends"), so opens never wait and
  // an empty FIFO blocks a read instead of giving EOF.
  return { path: p, hold: fs.openSync(p, 'r+') };
}

/** The open flags of one of our fds (/proc/self/fdinfo "flags:", octal). */
const flagsOf = (fd: number): number => parseInt(/^flags:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
const isOpen = (fd: number): boolean => {
  try {
    fs.fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};
/** Resolves with P, or rejects after MS (a reader that does not stop). */
const within = <T>(ms: number, p: Promise<T>): Promise<T> =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`still waiting after ${ms} ms`)), ms))]);

describe('tracePipeLines', () => {
  it('blocks in read (no O_NONBLOCK) until lines come, drops its own wake markers, and on abort wakes the waiting read and closes the fd', async () => {
    const f = await fifo();
    const told: Array<OpenPipe | undefined> = [];
    const ac = new AbortController();
    const it = tracePipeLines(f.path, { signal: ac.signal, marker: f.path, onOpen: (p) => told.push(p) })[Symbol.asyncIterator]();
    const first = it.next();
    await sleep(50);
    const pipe = told[0]!;
    expect(pipe.mode).toBe('blocking');
    expect(flagsOf(pipe.fd) & fs.constants.O_NONBLOCK).toBe(0);
    fs.writeSync(f.hold, 'a\nb\n');
    expect(await within(2000, first)).toEqual({ done: false, value: 'a' });
    expect(await within(2000, it.next())).toEqual({ done: false, value: 'b' });
    const rest = it.next();
    await sleep(50); // the read waits in the kernel again
    expect(isOpen(pipe.fd)).toBe(true);
    ac.abort();
    expect(await within(2000, rest)).toEqual({ done: true, value: undefined });
    expect(told).toEqual([pipe, undefined]);
    expect(isOpen(pipe.fd)).toBe(false);
    fs.closeSync(f.hold);
  });

  it('ends without a line when aborted before any data came, and opens nothing when aborted before it began', async () => {
    const f = await fifo();
    const told: Array<OpenPipe | undefined> = [];
    const ac = new AbortController();
    const lines: string[] = [];
    const run = (async () => {
      for await (const l of tracePipeLines(f.path, { signal: ac.signal, marker: f.path, onOpen: (p) => told.push(p) })) lines.push(l);
    })();
    await sleep(50);
    ac.abort();
    await within(2000, run);
    expect(lines).toEqual([]);
    expect(told).toHaveLength(2);
    expect(isOpen(told[0]!.fd)).toBe(false);
    const none: Array<OpenPipe | undefined> = [];
    for await (const l of tracePipeLines(f.path, { signal: ac.signal, marker: f.path, onOpen: (p) => none.push(p) })) lines.push(l);
    expect(none).toEqual([]);
    fs.closeSync(f.hold);
  });

  it('stopSync (the exit hook) wakes the waiting read and closes the fd at once; the reader then ends quietly', async () => {
    const f = await fifo();
    let pipe: OpenPipe | undefined;
    const it = tracePipeLines(f.path, { marker: f.path, onOpen: (p) => (pipe ??= p) })[Symbol.asyncIterator]();
    const first = it.next();
    await sleep(50);
    pipe!.stopSync();
    expect(isOpen(pipe!.fd)).toBe(false);
    pipe!.stopSync(); // twice is harmless
    expect(await within(2000, first)).toEqual({ done: true, value: undefined });
    fs.closeSync(f.hold);
  });

  it('falls back to O_NONBLOCK reads with a sleep on EAGAIN where there is no trace_marker, still stopped by the signal', async () => {
    const f = await fifo();
    expect(markerBeside(f.path)).toBe(path.join(path.dirname(f.path), 'trace_marker'));
    const told: Array<OpenPipe | undefined> = [];
    const ac = new AbortController();
    const lines: string[] = [];
    const run = (async () => {
      for await (const l of tracePipeLines(f.path, { signal: ac.signal, idleMs: 1, onOpen: (p) => told.push(p) })) lines.push(l);
    })();
    await sleep(50);
    expect(told[0]!.mode).toBe('poll');
    expect(flagsOf(told[0]!.fd) & fs.constants.O_NONBLOCK).toBe(fs.constants.O_NONBLOCK);
    fs.writeSync(f.hold, 'x\n');
    const end = Date.now() + 2000;
    while (lines.length === 0 && Date.now() < end) await sleep(5);
    expect(lines).toEqual(['x']);
    ac.abort();
    await within(2000, run);
    expect(told).toHaveLength(2);
    expect(isOpen(told[0]!.fd)).toBe(false);
    fs.closeSync(f.hold);
  });

  it('the fallback reads a file to its end and tells the fd, then undefined before it closes it', async () => {
    const file = path.join(await tmp(), 'trace_pipe');
    fs.writeFileSync(file, 'a\nb\n');
    const told: Array<OpenPipe | undefined> = [];
    const lines: string[] = [];
    for await (const l of tracePipeLines(file, { onOpen: (p) => told.push(p) })) {
      lines.push(l);
      expect(fs.fstatSync(told[0]!.fd).isFile()).toBe(true);
    }
    expect(lines).toEqual(['a', 'b']);
    expect(told.map((p) => p?.mode)).toEqual(['poll', undefined]);
  });
});

describe('a process whose trace_pipe read waits in the kernel', () => {
  let dir: string;
  const CHILD = `
import fs from 'node:fs';
const [dir, fifo, how] = process.argv.slice(2);
const { tracePipeLines } = await import(dir + '/pipe.js');
const { createCleanup, removeOnSignal } = await import(dir + '/cleanup.js');
fs.openSync(fifo, 'r+');
const cleanup = createCleanup();
removeOnSignal(cleanup, (code) => process.exit(code));
let pipe;
// The exit hook: stopSync as session.ts's does, or only closing the fd as it did before.
cleanup.atExit(() => (how === 'wake' ? pipe.stopSync() : fs.closeSync(pipe.fd)));
const it = tracePipeLines(fifo, { marker: fifo, onOpen: (p) => (pipe ??= p) })[Symbol.asyncIterator]();
it.next();
setTimeout(() => console.log('waiting'), 200);
`;

  beforeAll(async () => {
    dir = await tmp();
    await build({ entryPoints: { pipe: 'src/tracefs/pipe.ts', cleanup: 'src/cli/cleanup.ts' }, outdir: dir, bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' });
    fs.writeFileSync(path.join(dir, 'child.mjs'), CHILD);
  });

  const runChild = async (how: 'wake' | 'close') => {
    const f = path.join(dir, `pipe-${how}`);
    await execa('mkfifo', [f]);
    const child = execa(process.execPath, [path.join(dir, 'child.mjs'), dir, f, how], { reject: false, timeout: 3000, killSignal: 'SIGKILL' });
    // Its read is waiting (or it failed before: then it ended already and says why).
    await Promise.race([new Promise<void>((resolve) => child.stdout!.once('data', () => resolve())), child]);
    expect(child.exitCode, 'the child ended before it was waiting').toBeNull();
    const t0 = Date.now();
    child.kill('SIGINT');
    const r = await child;
    return { ...r, ms: Date.now() - t0 };
  };

  it('exits on SIGINT (128+2) once the exit hook woke the read', async () => {
    const r = await runChild('wake');
    expect(r.timedOut, r.stderr).toBe(false);
    expect(r.exitCode, r.stderr).toBe(130);
    expect(r.ms).toBeLessThan(2000);
  });

  it('without the wake, closing the fd is not enough: process.exit waits for the read forever (killed here after 3 s)', async () => {
    const r = await runChild('close');
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeUndefined();
  });
});
