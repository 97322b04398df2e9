// Issue 6: every way a person can hand epctl a bad option, snapshot target or --mock-state file
// is refused before anything is read or written: the documented exit code, one line naming the
// option or path, a `fix:` line, no stack trace, nothing created, nothing left in the temp
// directory (each run gets its own TMPDIR, listed after).
import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { epctl, isOneLineRefusal, noStackTrace, sandbox, type CliResult } from '../helpers/cli.js';

type Sandbox = Awaited<ReturnType<typeof sandbox>>;
const boxes: Sandbox[] = [];
async function box(): Promise<Sandbox> {
  const b = await sandbox();
  boxes.push(b);
  return b;
}
afterEach(async () => {
  for (const b of boxes.splice(0)) await b.dispose();
});

/** Every entry under DIR, relative, with its kind: what a run must leave as it found. */
async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true }))
    out.push(`${path.relative(dir, path.join(e.parentPath, e.name))}:${e.isDirectory() ? 'd' : e.isFile() ? 'f' : 'o'}`);
  return out.sort();
}

function expectRefusal(r: CliResult, code: number, names: string): void {
  expect(r.exitCode, r.stderr).toBe(code);
  expect(r.stderr).toContain(names);
  expect(isOneLineRefusal(r), r.stderr).toBe(true);
  expect(noStackTrace(r)).toBe(true);
  expect(r.stdout).toBe('');
}

describe('options a command does not use are refused, not dropped', () => {
  it.each([
    [['boards', '--root', 'x'], '--root does not apply to `epctl boards`', 'drop --root x'],
    [['boards', '--mock-state', 'f.json'], '--mock-state does not apply to `epctl boards`', 'drop --mock-state f.json'],
    [['--mock', 'imx95', 'boards'], '--mock does not apply to `epctl boards`', 'drop --mock imx95'],
    [['probe', '--kernel', '6.12'], '--kernel only applies to a simulated board', 'add --mock BOARD'],
    [['probe', '--mock-state', 'f.json'], '--mock-state only applies to a simulated board', 'add --mock BOARD'],
    [['probe', '--root', 'x', '--mock', 'imx95'], '--root and --mock cannot be used together', 'drop --root x or --mock imx95'],
    [['probe', '--mock', ''], '--mock is empty', 'give --mock a value'],
  ])('epctl %j exits 64 naming the option and the fix', async (args, message, fix) => {
    const b = await box();
    const r = await epctl(args, { cwd: b.dir, env: b.env });
    expectRefusal(r, 64, message);
    expect(r.stderr).toContain(`fix: ${fix}`);
    expect(await listing(b.dir)).toEqual([]);
  });
});

describe('usage errors under --json are JSON on stdout too', () => {
  it.each([
    [['probe', '--bogus', '--json'], "unknown option '--bogus'"],
    [['prob', '--json'], "unknown command 'prob'"],
    [['snapshot', '--json'], "missing required argument 'target'"],
    [['probe', '--json', '--mock'], "option '--mock <board>' argument missing"],
    [['boards', 'extra', '--json'], 'too many arguments'],
    [['boards', '--root', 'x', '--json'], '--root does not apply'],
    [['probe', '--mock', 'imx99', '--json'], 'unknown board "imx99"'],
  ])('epctl %j prints {error:{kind,message,hint,exitCode}} and exits 64', async (args, message) => {
    const r = await epctl(args);
    expect(r.exitCode).toBe(64);
    const { error } = JSON.parse(r.stdout);
    expect(error).toMatchObject({ message: expect.stringContaining(message), hint: expect.any(String), exitCode: 64 });
    expect(typeof error.kind).toBe('string');
    expect(r.stderr).toContain(message);
    expect(noStackTrace(r)).toBe(true);
  });

  it('says the usage error in one line and a fix without --json', async () => {
    const r = await epctl(['probe', '--jsn']);
    expectRefusal(r, 64, "unknown option '--jsn'");
    expect(r.stderr).toContain('Did you mean --json?');
  });
});

describe('epctl --version', () => {
  it('prints the package version and exits 0', async () => {
    const pkg = JSON.parse(await fs.readFile('package.json', 'utf8'));
    for (const flag of ['--version', '-V']) {
      const r = await epctl([flag]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe(pkg.version);
    }
  });
});

describe('epctl snapshot refuses a target it must not write', () => {
  const cases: Array<[string, (b: Sandbox) => Promise<string>, string]> = [
    ['an empty target', async () => '', 'the snapshot target is empty'],
    ['the current directory as .', async () => '.', 'snapshot target . is the current directory'],
    ['the current directory by its path', async (b) => b.dir, 'snapshot target <dir> is the current directory'],
    ['an existing file', async (b) => (await fs.writeFile(path.join(b.dir, 'notes.txt'), 'keep'), 'notes.txt'), 'snapshot target notes.txt exists'],
    ['an existing .tar.gz', async (b) => (await fs.writeFile(path.join(b.dir, 'old.tar.gz'), 'keep'), 'old.tar.gz'), 'snapshot target old.tar.gz exists'],
    ['a directory that is not empty', async (b) => (await fs.mkdir(path.join(b.dir, 'full')), await fs.writeFile(path.join(b.dir, 'full/keep'), 'x'), 'full'), 'snapshot target full is not empty'],
    ['a directory named as an archive', async (b) => (await fs.mkdir(path.join(b.dir, 'd.tar.gz')), 'd.tar.gz'), 'snapshot target d.tar.gz is a directory'],
    ['a path under a regular file', async (b) => (await fs.writeFile(path.join(b.dir, 'f'), 'x'), 'f/sub'), 'is a file, not a directory'],
    ['an archive under a regular file', async (b) => (await fs.writeFile(path.join(b.dir, 'f'), 'x'), 'f/b.tar.gz'), 'is a file, not a directory'],
    ['a path under /proc', async () => '/proc/epctl-snapshot', 'is under /proc, which the kernel owns'],
    ['a path under /sys', async () => '/sys/kernel/config/epctl.tar.gz', 'is under /sys, which the kernel owns'],
    ['a path under /dev', async () => '/dev/epctl-snapshot', 'is under /dev, which the kernel owns'],
    ['a device', async () => '/dev/null', 'is under /dev'],
    ['a path under a symlink to /sys', async (b) => (await fs.symlink('/sys', path.join(b.dir, 'sys')), 'sys/board'), 'is under /sys, which the kernel owns (it resolves to /sys/board)'],
    ['a dangling symlink', async (b) => (await fs.symlink(path.join(b.dir, 'gone'), path.join(b.dir, 'link')), 'link'), 'snapshot target link is a dangling symlink'],
    ['an archive in a missing directory', async () => 'nodir/board.tar.gz', 'the directory <dir>/nodir does not exist'],
    ['a directory in a missing directory', async () => 'nodir/board', 'the directory <dir>/nodir does not exist'],
    ['a FIFO (never opened, so no hang)', async (b) => (execFileSync('mkfifo', [path.join(b.dir, 'pipe')]), 'pipe'), 'snapshot target pipe is a FIFO'],
  ];

  it.each(cases)('%s: exit 64, one line and a fix, nothing created', async (_, make, message) => {
    const b = await box();
    const target = await make(b);
    const before = await listing(b.dir);
    const r = await epctl(['--mock', 'imx95', 'snapshot', target], { cwd: b.dir, env: b.env, timeout: 10_000 });
    expectRefusal(r, 64, message.replace('<dir>', b.dir));
    expect(await listing(b.dir)).toEqual(before);
    expect(await b.leftInTmp()).toEqual([]);
  });

  it('a directory it cannot write: exit 64 naming it (run as an unprivileged user, since root may write anywhere)', async () => {
    // Root writes into a 0555 directory, so the run drops to nobody (setpriv, util-linux); the
    // directory lives where nobody can reach it and is removed here.
    const dir = await fs.mkdtemp(path.join('/tmp', 'epctl-nobody-'));
    try {
      await fs.chmod(dir, 0o555);
      const asUser = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
      const { execa } = await import('execa');
      const { BIN } = await import('../helpers/cli.js');
      const cmd = [...asUser, process.execPath, BIN, '--mock', 'imx95', 'snapshot', 'board.tar.gz'];
      const r = await execa(cmd[0]!, cmd.slice(1), { cwd: dir, reject: false, env: { NO_COLOR: '1', TMPDIR: dir } });
      expectRefusal({ exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) }, 64, 'is not writable (EACCES)');
      expect(await fs.readdir(dir)).toEqual([]);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses before reading the board: a bad target wins over a bad --root', async () => {
    const b = await box();
    const r = await epctl(['--root', path.join(b.dir, 'no-board'), 'snapshot', '.'], { cwd: b.dir, env: b.env });
    expectRefusal(r, 64, 'is the current directory');
  });
});

describe('epctl snapshot writes only the named target', () => {
  it('an archive: the file and nothing else, nothing in the temp directory', async () => {
    const b = await box();
    const r = await epctl(['--mock', 'imx95', 'snapshot', 'board.tar.gz'], { cwd: b.dir, env: b.env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await listing(b.dir)).toEqual(['board.tar.gz:f']);
    expect(await b.leftInTmp()).toEqual([]);
    const again = await epctl(['--mock', 'imx95', 'snapshot', 'board.tar.gz'], { cwd: b.dir, env: b.env });
    expectRefusal(again, 64, 'snapshot target board.tar.gz exists');
  });

  it('an existing empty directory, and a new one', async () => {
    const b = await box();
    await fs.mkdir(path.join(b.dir, 'empty'));
    expect((await epctl(['--mock', 'imx95', 'snapshot', 'empty'], { cwd: b.dir, env: b.env })).exitCode).toBe(0);
    expect((await epctl(['--mock', 'imx95', 'snapshot', 'new'], { cwd: b.dir, env: b.env })).exitCode).toBe(0);
    expect((await listing(b.dir)).filter((e) => !e.includes('/'))).toEqual(['empty:d', 'new:d']);
    expect(await b.leftInTmp()).toEqual([]);
  });

  it('SIGTERM while writing an archive removes what the run wrote and exits 143', async () => {
    const { spawn } = await import('node:child_process');
    const { BIN } = await import('../helpers/cli.js');
    const b = await box();
    const child = spawn(process.execPath, [BIN, '--mock', 'lx2160a', 'snapshot', 'board.tar.gz'], { cwd: b.dir, env: { ...process.env, ...b.env }, stdio: 'ignore' });
    const exited = new Promise<number | null>((res) => child.on('exit', (code, signal) => res(code ?? (signal ? -1 : null))));
    // Wait until the run has created its staging directory, then interrupt it.
    let seen = false;
    for (let i = 0; i < 2000 && !seen; i++) {
      seen = (await fs.readdir(b.dir)).some((n) => n.startsWith('.epctl-snapshot-'));
      if (!seen) await new Promise((r) => setTimeout(r, 2));
    }
    child.kill('SIGTERM');
    const code = await exited;
    if (seen) expect(code).toBe(143);
    // Never a staging directory or half an archive: either nothing, or (when the signal came
    // after the archive was complete) an archive --root reads.
    const left = await listing(b.dir);
    expect(left.filter((e) => e.startsWith('.epctl'))).toEqual([]);
    if (left.length) {
      expect(left).toEqual(['board.tar.gz:f']);
      expect((await epctl(['probe', '--root', path.join(b.dir, 'board.tar.gz')], { env: b.env })).exitCode).toBe(0);
    }
    expect(await b.leftInTmp()).toEqual([]);
  });
});

describe('epctl --mock-state refuses a file it cannot use', () => {
  const state = async (b: Sandbox): Promise<Record<string, any>> => {
    const file = path.join(b.dir, 'good.json');
    const r = await epctl(['probe', '--mock', 'imx95', '--mock-state', file], { cwd: b.dir, env: b.env });
    expect(r.exitCode, r.stderr).toBe(0);
    const s = JSON.parse(await fs.readFile(file, 'utf8'));
    await fs.rm(file);
    return s;
  };
  const write = async (b: Sandbox, content: string): Promise<string> => (await fs.writeFile(path.join(b.dir, 'state.json'), content), 'state.json');
  const broken = (edit: (s: Record<string, any>) => void) => async (b: Sandbox): Promise<string> => {
    const s = await state(b);
    edit(s);
    return write(b, JSON.stringify(s));
  };

  const cases: Array<[string, (b: Sandbox) => Promise<string>, string]> = [
    ['an empty file', (b) => write(b, ''), 'the mock state state.json is empty'],
    ['a directory', async (b) => (await fs.mkdir(path.join(b.dir, 'states')), 'states'), 'the mock state states is a directory'],
    ['a path whose directory is missing', async () => 'nodir/state.json', 'the directory <dir>/nodir does not exist'],
    ['a path under a file', async (b) => (await fs.writeFile(path.join(b.dir, 'f'), 'x'), 'f/state.json'), 'cannot use the mock state f/state.json: ENOTDIR'],
    ['a FIFO (never opened, so no hang)', async (b) => (execFileSync('mkfifo', [path.join(b.dir, 'pipe')]), 'pipe'), 'the mock state pipe is not a regular file'],
    ['null', (b) => write(b, 'null\n'), 'state.json is not a mock state file (it holds null, not an object)'],
    ['an array', (b) => write(b, '[]'), 'it holds an array'],
    ['invalid JSON', (b) => write(b, '{ "format": '), 'state.json is not a mock state file (invalid JSON'],
    ['the wrong format', broken((s) => (s.format = 'something-else')), 'state.json is not a valid mock state file: format:'],
    ['an unknown board', broken((s) => (s.board = 'imx99')), 'board: not a built-in board'],
    ['a field of the wrong type', broken((s) => (s.model.log.usec = 'soon')), 'model.log.usec: Invalid input: expected number, received string'],
    ['a missing field', broken((s) => delete s.model.controllers), 'model.controllers: Invalid input: expected record, received undefined'],
    ['an entry of the wrong kind', broken((s) => (s.model.controllers['4c300000.pcie-ep'] = 'oops')), 'model.controllers["4c300000.pcie-ep"]: Invalid input: expected object'],
    ['a deep wrong type', broken((s) => (s.model.controllers['4c300000.pcie-ep'].start = 'yes')), 'model.controllers["4c300000.pcie-ep"].start: Invalid input: expected boolean'],
    ['a link to a function that is not there', broken((s) => (s.model.controllers['4c300000.pcie-ep'].links = { func1: 'pci_epf_test/nope' })), 'names function "pci_epf_test/nope"'],
  ];

  it.each(cases)('%s: exit 64 naming the file, the fix, file and directory untouched', async (_, make, message) => {
    const b = await box();
    const file = await make(b);
    const before = await listing(b.dir);
    // Read back only a regular file: opening the FIFO would block this test.
    const read = async (): Promise<string | undefined> => ((await fs.lstat(path.join(b.dir, file)).catch(() => undefined))?.isFile() ? fs.readFile(path.join(b.dir, file), 'utf8') : undefined);
    const content = await read();
    const r = await epctl(['probe', '--mock', 'imx95', '--mock-state', file], { cwd: b.dir, env: b.env, timeout: 10_000 });
    expectRefusal(r, 64, message.replace('<dir>', b.dir));
    expect(r.stderr).toContain(file);
    expect(await listing(b.dir)).toEqual(before);
    expect(await read()).toBe(content);
    expect(await b.leftInTmp()).toEqual([]);
  });
});

describe('standard output that cannot be written', () => {
  it.each([['boards'], ['probe', '--mock', 'imx95'], ['probe', '--mock', 'imx95', '--json']])(
    'epctl %j > /dev/full ends quietly with exit 74',
    async (...args) => {
      const { spawn } = await import('node:child_process');
      const { BIN } = await import('../helpers/cli.js');
      const full = await fs.open('/dev/full', 'w');
      try {
        const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', full.fd, 'pipe'] });
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
        expect(stderr).toBe('');
        expect(code).toBe(74);
      } finally {
        await full.close();
      }
    },
  );
});
