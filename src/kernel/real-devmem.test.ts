// RealKernel.peek/poke against a fake busybox: a small Node script first (and alone) on PATH that
// answers as busybox miscutils/devmem.c does — the value as "0x%0*llX\n", its error messages, or
// death by SIGBUS — and logs its argv. No test touches /dev/mem.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import { RealKernel, findDevmem } from './real.js';
import { KernelError } from './errors.js';
import { tempDirs } from '../../test/helpers/tmp.js';

const tmp = tempDirs('epctl-devmem', { each: true });

/** What the fake prints, how it exits; read from scenario.json beside it. */
interface Scenario {
  stdout?: string;
  stderr?: string;
  exit?: number;
  signal?: 'SIGBUS';
}

// CommonJS (the directory's package.json says so). It logs "name arg…" and plays the scenario;
// for a signal it first moves into its own directory, so a core file, if any, goes with it.
const FAKE = `#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
const dir = __dirname;
const s = JSON.parse(fs.readFileSync(path.join(dir, 'scenario.json'), 'utf8'));
fs.appendFileSync(path.join(dir, 'calls.log'), [path.basename(process.argv[1]), ...process.argv.slice(2)].join(' ') + '\\n');
if (s.stdout) process.stdout.write(s.stdout);
if (s.stderr) process.stderr.write(s.stderr);
if (s.signal) { process.chdir(dir); process.kill(process.pid, s.signal); setTimeout(() => process.exit(99), 5000); }
else process.exitCode = s.exit ?? 0;
`;

let savedPath: string | undefined;
beforeEach(() => {
  savedPath = process.env['PATH'];
});
afterEach(() => {
  process.env['PATH'] = savedPath;
});

/** A directory holding only the fake tools named and `node`, set as the whole PATH. */
async function fakeTools(names: ('busybox' | 'devmem')[], scenario: Scenario): Promise<{ dir: string; calls: () => Promise<string[]> }> {
  const dir = await tmp();
  await fs.writeFile(path.join(dir, 'package.json'), '{"type":"commonjs"}\n');
  await fs.writeFile(path.join(dir, 'scenario.json'), JSON.stringify(scenario));
  await fs.symlink(process.execPath, path.join(dir, 'node'));
  for (const n of names) await fs.writeFile(path.join(dir, n), FAKE, { mode: 0o755 });
  process.env['PATH'] = dir;
  return {
    dir,
    calls: async () => (await fs.readFile(path.join(dir, 'calls.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean),
  };
}

async function failure(p: Promise<unknown>): Promise<KernelError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(KernelError);
  return e as KernelError;
}

describe('findDevmem', () => {
  it('prefers a devmem applet link anywhere on PATH over busybox, searching PATH in order', async () => {
    const a = await tmp();
    const b = await tmp();
    await fs.writeFile(path.join(a, 'busybox'), '', { mode: 0o755 });
    await fs.writeFile(path.join(b, 'devmem'), '', { mode: 0o755 });
    expect(await findDevmem(`${a}:${b}`)).toEqual({ file: path.join(b, 'devmem'), prefix: [] });
    expect(await findDevmem(a)).toEqual({ file: path.join(a, 'busybox'), prefix: ['devmem'] });
  });

  it('skips files that are not executable, directories and relative PATH entries', async () => {
    const a = await tmp();
    await fs.writeFile(path.join(a, 'devmem'), '', { mode: 0o644 });
    await fs.mkdir(path.join(a, 'busybox'));
    expect(await findDevmem(`${a}:bin:.`)).toBeUndefined();
    expect(await findDevmem('')).toBeUndefined();
  });
});

describe('RealKernel devmem through busybox', () => {
  it('peek runs `busybox devmem ADDR WIDTH` and reads the zero-padded value', async () => {
    const t = await fakeTools(['busybox'], { stdout: '0x00000440\n' });
    expect(await new RealKernel().peek(0x08090040n, 32)).toBe(0x440n);
    expect(await t.calls()).toEqual(['busybox devmem 0x8090040 32']);
  });

  it('uses the devmem applet link when there is one', async () => {
    const t = await fakeTools(['busybox', 'devmem'], { stdout: '0xAB\n' });
    expect(await new RealKernel().peek(0x7e000001n, 8)).toBe(0xabn);
    expect(await t.calls()).toEqual(['devmem 0x7e000001 8']);
  });

  it('reads a full 64-bit value exactly', async () => {
    await fakeTools(['busybox'], { stdout: '0xFFFFFFFF00000001\n' });
    expect(await new RealKernel().peek(0x40000000n, 64)).toBe(0xffffffff00000001n);
  });

  it('poke runs `busybox devmem ADDR WIDTH VALUE`', async () => {
    const t = await fakeTools(['busybox'], {});
    await new RealKernel().poke(0x08090040n, 32, 0n);
    await new RealKernel().poke(0x7f000002n, 16, 0xbeefn);
    expect(await t.calls()).toEqual(['busybox devmem 0x8090040 32 0x0', 'busybox devmem 0x7f000002 16 0xbeef']);
  });

  it('poke refuses a value wider than the access without running anything', async () => {
    const t = await fakeTools(['busybox'], {});
    const e = await failure(new RealKernel().poke(0x1000n, 8, 0x100n));
    expect(e).toMatchObject({ code: 'EINVAL', syscall: 'devmem' });
    expect(await t.calls()).toEqual([]);
  });

  it.each([
    ['0x440\n', 32],
    ['Value at address 0x8090040: 0x440\n', 32],
    ['0x00000440\n', 16],
    ['', 32],
  ] as const)('output %j for a %d-bit read is not a value: EIO, never a guess', async (stdout, width) => {
    await fakeTools(['busybox'], { stdout });
    const e = await failure(new RealKernel().peek(0x08090040n, width));
    expect(e).toMatchObject({ code: 'EIO', syscall: 'devmem', path: '/dev/mem' });
    expect(e.hint).toMatch(/not busybox's \d+-digit 0x value/);
  });

  it.each([
    ["devmem: can't open '/dev/mem': No such file or directory\n", 'ENOENT', /CONFIG_DEVMEM/],
    ["devmem: can't open '/dev/mem': Permission denied\n", 'EACCES', /run epctl as root/],
    ["devmem: can't open '/dev/mem': Operation not permitted\n", 'EPERM', /CAP_SYS_RAWIO.*locked down/],
    ['devmem: mmap: Operation not permitted\n', 'EPERM', /CONFIG_STRICT_DEVMEM.*iomem=relaxed/],
    ['devmem: mmap: Invalid argument\n', 'EINVAL', /physical address range/],
    ['devmem: applet not found\n', 'ENOENT', /without the devmem applet/],
    ['devmem: bad width\n', 'EINVAL', /bad width/],
    ['devmem: something new\n', 'EIO', /something new/],
  ] as const)('busybox saying %j fails with %s and the fix', async (stderr, code, hint) => {
    await fakeTools(['busybox'], { stderr, exit: 1 });
    const e = await failure(new RealKernel().peek(0x08090040n, 32));
    expect(e).toMatchObject({ code, syscall: 'devmem', path: '/dev/mem' });
    expect(e.message).toBe(`${code}: ${e.message.split(': ')[1]!.split(',')[0]}, devmem '/dev/mem'`);
    expect(e.hint).toMatch(hint);
  });

  it('devmem killed by SIGBUS: EIO, "Bus error: nothing answers at" the address', async () => {
    const t = await fakeTools(['busybox'], { signal: 'SIGBUS' });
    const e = await failure(new RealKernel().peek(0x10000000n, 32));
    expect(e).toMatchObject({ code: 'EIO', errno: -5, syscall: 'devmem' });
    expect(e.hint).toMatch(/^Bus error: nothing answers at 0x10000000 \(32 bits\)/);
    // Whatever the signal left (a core file) is in the temp dir, removed after the test.
    expect((await t.calls()).length).toBe(1);
  });

  it('no devmem and no busybox on PATH: ENOENT naming the package to install', async () => {
    const dir = await tmp();
    process.env['PATH'] = dir;
    const e = await failure(new RealKernel().peek(0x08090040n, 32));
    expect(e).toMatchObject({ code: 'ENOENT', syscall: 'devmem' });
    expect(e.hint).toMatch(/install busybox.*busybox-static/);
  });
});
