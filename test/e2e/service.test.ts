// `epctl service install` as a packager and an administrator run it: into a temp root, the unit
// and the example config with their modes, an existing config kept, a differing unit refused,
// --dry-run writing nothing; and packaging/epctl.service, the file a package installs, is what
// the defaults render. `epctl service uninstall` takes back exactly what install wrote: the
// unit (refused when edited or still enabled, unless --force), the config only with --purge and
// only while it is the example, never /var/lib/epctl; a second run has nothing to remove.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import { epctl, isOneLineRefusal, noStackTrace } from '../helpers/cli.js';
import { tempDirs } from '../helpers/tmp.js';
import { renderUnit, DEFAULT_BIN, DEFAULT_WATCHDOG_SEC } from '../../src/service/unit.js';
import { EXAMPLE_CONFIG, uncommentExample } from '../../src/service/example-config.js';

const tempDir = tempDirs('epctl-service', { each: true });
const UNIT = 'etc/systemd/system/epctl.service';
const CONFIG = 'etc/epctl/epctl.yaml';

/** Every file under DIR, relative, sorted. */
async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) if (!e.isDirectory()) out.push(path.relative(dir, path.join(e.parentPath, e.name)));
  return out.sort();
}

const mode = async (file: string): Promise<number> => (await fs.stat(file)).mode & 0o777;

describe('epctl service install', () => {
  it('writes the unit and an example config under --root, 0644 each, and prints the next commands', async () => {
    const root = await tempDir();
    const r = await epctl(['service', 'install', '--root', root]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await files(root)).toEqual([CONFIG, UNIT]);
    expect(await fs.readFile(path.join(root, UNIT), 'utf8')).toBe(renderUnit({ bin: DEFAULT_BIN, config: '/etc/epctl/epctl.yaml', devmem: false, watchdogSec: DEFAULT_WATCHDOG_SEC }));
    expect(await fs.readFile(path.join(root, CONFIG), 'utf8')).toBe(EXAMPLE_CONFIG);
    expect(await mode(path.join(root, UNIT))).toBe(0o644);
    expect(await mode(path.join(root, CONFIG))).toBe(0o644);
    expect(r.stdout).toContain(`wrote ${path.join(root, UNIT)} (0644)`);
    expect(r.stdout).toContain(`wrote ${path.join(root, CONFIG)} (0644)`);
    expect(r.stdout).toContain('systemctl daemon-reload && systemctl enable --now epctl');
    // No binary under the temp root: said, not refused (a package build installs it separately).
    expect(r.stdout).toContain(`note: ${path.join(root, 'usr/bin/epctl')} is not there`);
  });

  it('writes --bin, --config, --devmem and --socket-group into the unit, and the config where --config says', async () => {
    const root = await tempDir();
    const r = await epctl(['service', 'install', '--root', root, '--bin', '/opt/epctl/epctl.js', '-c', '/etc/board.yaml', '--devmem', '--socket-group', 'pcie', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const unit = await fs.readFile(path.join(root, UNIT), 'utf8');
    expect(unit).toBe(renderUnit({ bin: '/opt/epctl/epctl.js', config: '/etc/board.yaml', devmem: true, socketGroup: 'pcie', watchdogSec: DEFAULT_WATCHDOG_SEC }));
    expect(unit).toContain('\nExecStart=/opt/epctl/epctl.js agent -c /etc/board.yaml --socket-group pcie\n');
    expect(unit).toContain('\nDeviceAllow=/dev/mem rw\n');
    expect(await files(root)).toEqual(['etc/board.yaml', UNIT]);
    const j = JSON.parse(r.stdout);
    expect(j.unit).toEqual({ path: '/etc/systemd/system/epctl.service', written: path.join(root, UNIT), action: 'created', mode: '0644' });
    expect(j.config).toEqual({ path: '/etc/board.yaml', written: path.join(root, 'etc/board.yaml'), action: 'created', mode: '0644' });
    expect(j.next).toEqual(['systemctl daemon-reload', 'systemctl enable --now epctl']);
  });

  it('keeps an existing config, and leaves the same unit alone on a second run', async () => {
    const root = await tempDir();
    await fs.mkdir(path.join(root, 'etc/epctl'), { recursive: true });
    await fs.writeFile(path.join(root, CONFIG), 'version: 1 # mine\n', { mode: 0o600 });
    const first = await epctl(['service', 'install', '--root', root, '--json']);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).config.action).toBe('kept');
    expect(await fs.readFile(path.join(root, CONFIG), 'utf8')).toBe('version: 1 # mine\n');
    expect(await mode(path.join(root, CONFIG))).toBe(0o600);
    const before = await fs.stat(path.join(root, UNIT));
    const second = await epctl(['service', 'install', '--root', root]);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stdout).toContain(`unchanged ${path.join(root, UNIT)}`);
    expect((await fs.stat(path.join(root, UNIT))).mtimeMs).toBe(before.mtimeMs);
  });

  it('refuses a unit that differs, naming it, exit 73, unless --force', async () => {
    const root = await tempDir();
    await fs.mkdir(path.join(root, 'etc/systemd/system'), { recursive: true });
    await fs.writeFile(path.join(root, UNIT), '[Service]\nExecStart=/usr/local/bin/epctl agent\n');
    const r = await epctl(['service', 'install', '--root', root]);
    expect(r.exitCode).toBe(73);
    expect(isOneLineRefusal(r), r.stderr).toBe(true);
    expect(noStackTrace(r)).toBe(true);
    expect(r.stderr).toContain(`epctl: ${path.join(root, UNIT)} exists and differs`);
    expect(r.stderr).toContain('--force');
    expect(await fs.readFile(path.join(root, UNIT), 'utf8')).toBe('[Service]\nExecStart=/usr/local/bin/epctl agent\n');
    // Refused before anything is written: no config either.
    expect(await files(root)).toEqual([UNIT]);

    const forced = await epctl(['service', 'install', '--root', root, '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.stdout).toContain(`replaced ${path.join(root, UNIT)} (0644)`);
    expect(await fs.readFile(path.join(root, UNIT), 'utf8')).toContain('Type=notify');
  });

  it('--dry-run prints the unit on stdout and what it would do on stderr, and writes nothing', async () => {
    const root = await tempDir();
    const r = await epctl(['service', 'install', '--root', root, '--dry-run', '--devmem']);
    expect(r.exitCode, r.stderr).toBe(0);
    // (the helper drops the output's final newline)
    expect(`${r.stdout}\n`).toBe(renderUnit({ bin: DEFAULT_BIN, config: '/etc/epctl/epctl.yaml', devmem: true, watchdogSec: DEFAULT_WATCHDOG_SEC }));
    expect(r.stderr).toContain(`would write ${path.join(root, UNIT)}`);
    expect(r.stderr).toContain(`would write ${path.join(root, CONFIG)}`);
    expect(await files(root)).toEqual([]);
    // A differing unit: said, not refused, still nothing written.
    await fs.mkdir(path.join(root, 'etc/systemd/system'), { recursive: true });
    await fs.writeFile(path.join(root, UNIT), '# mine\n');
    const d = await epctl(['service', 'install', '--root', root, '--dry-run', '--json']);
    expect(d.exitCode, d.stderr).toBe(0);
    expect(JSON.parse(d.stdout).unit.action).toBe('differs');
    expect(await fs.readFile(path.join(root, UNIT), 'utf8')).toBe('# mine\n');
    expect(await files(root)).toEqual([UNIT]);
  });

  it('refuses paths and group names a unit cannot hold, and board options, exit 64 before writing', async () => {
    const root = await tempDir();
    for (const args of [['--bin', 'epctl'], ['--bin', '/opt/my epctl'], ['-c', '/etc/%n.yaml'], ['--socket-group', 'Bad Group'], ['--mock', 'imx95']]) {
      const r = await epctl(['service', 'install', '--root', root, ...args]);
      expect(r.exitCode, args.join(' ')).toBe(64);
      expect(isOneLineRefusal(r), r.stderr).toBe(true);
    }
    expect(await files(root)).toEqual([]);
  });

  it('says which file it cannot write, exit 73', async () => {
    const root = await tempDir();
    // etc is a file: nothing can be made under it.
    await fs.writeFile(path.join(root, 'etc'), '');
    const r = await epctl(['service', 'install', '--root', root]);
    expect(r.exitCode).toBe(73);
    expect(r.stderr).toContain(`cannot write ${path.join(root, UNIT)}`);
    expect(noStackTrace(r)).toBe(true);
  });

  it('writes all or nothing: a config it cannot write takes the new unit back', async () => {
    const root = await tempDir();
    await fs.mkdir(path.join(root, 'etc'));
    await fs.writeFile(path.join(root, 'etc/board'), '');
    const r = await epctl(['service', 'install', '--root', root, '-c', '/etc/board/epctl.yaml']);
    expect(r.exitCode).toBe(73);
    expect(r.stderr).toContain(`cannot write ${path.join(root, 'etc/board/epctl.yaml')}`);
    expect(await files(root)).toEqual(['etc/board']);
  });
});

/** Every directory under DIR, relative, sorted. */
async function dirsUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) if (e.isDirectory()) out.push(path.relative(dir, path.join(e.parentPath, e.name)));
  return out.sort();
}

describe('epctl service uninstall', () => {
  it('removes the unit install wrote and keeps the config, printing the systemctl command that follows; a second run has nothing to remove, exit 0', async () => {
    const root = await tempDir();
    expect((await epctl(['service', 'install', '--root', root])).exitCode).toBe(0);
    const r = await epctl(['service', 'uninstall', '--root', root]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await files(root)).toEqual([CONFIG]);
    expect(await fs.readFile(path.join(root, CONFIG), 'utf8')).toBe(EXAMPLE_CONFIG);
    expect(r.stdout).toContain(`removed ${path.join(root, UNIT)}\n`);
    expect(r.stdout).toContain(`kept ${path.join(root, CONFIG)}: a config is kept without --purge`);
    expect(r.stdout).toContain('next, on the target system:\n  systemctl daemon-reload');
    expect(r.stdout).toContain('systemctl stop epctl');

    const again = await epctl(['service', 'uninstall', '--root', root]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain(`nothing to remove: ${path.join(root, UNIT)} is not there`);
    expect(again.stdout).not.toContain('removed');
    const json = await epctl(['service', 'uninstall', '--root', root, '--json']);
    expect(json.exitCode, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ nothing: true, unit: { action: 'absent' }, config: { action: 'kept' } });
    expect(await files(root)).toEqual([CONFIG]);
  });

  it('--purge removes the example config too, and /etc/epctl left empty; the options are read from the unit, --json says what it did', async () => {
    const root = await tempDir();
    expect((await epctl(['service', 'install', '--root', root])).exitCode).toBe(0);
    const r = await epctl(['service', 'uninstall', '--root', root, '--purge']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`removed ${path.join(root, CONFIG)}: still the example install wrote`);
    expect(await files(root)).toEqual([]);
    expect(await dirsUnder(root)).not.toContain('etc/epctl');

    // Installed with every option: recognised as epctl's from its ExecStart=, its config purged.
    const other = await tempDir();
    expect((await epctl(['service', 'install', '--root', other, '--bin', '/opt/epctl/epctl.js', '-c', '/etc/board.yaml', '--devmem', '--socket-group', 'pcie'])).exitCode).toBe(0);
    const j = await epctl(['service', 'uninstall', '--root', other, '--purge', '--json']);
    expect(j.exitCode, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual({
      root: other,
      dryRun: false,
      purge: true,
      nothing: false,
      unit: { path: '/etc/systemd/system/epctl.service', file: path.join(other, UNIT), action: 'removed' },
      config: { path: '/etc/board.yaml', file: path.join(other, 'etc/board.yaml'), action: 'removed' },
      enabledBy: [],
      notes: [],
      before: ['systemctl disable --now epctl'],
      next: ['systemctl daemon-reload'],
    });
    expect(await files(other)).toEqual([]);
  });

  it('--purge keeps a config that was edited and says so; /var/lib/epctl is never removed', async () => {
    const root = await tempDir();
    expect((await epctl(['service', 'install', '--root', root])).exitCode).toBe(0);
    await fs.appendFile(path.join(root, CONFIG), 'functions: []\n');
    await fs.mkdir(path.join(root, 'var/lib/epctl'), { recursive: true });
    await fs.writeFile(path.join(root, 'var/lib/epctl/state.json'), '{}\n');
    const r = await epctl(['service', 'uninstall', '--root', root, '--purge']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`removed ${path.join(root, UNIT)}`);
    expect(r.stdout).toContain(`kept ${path.join(root, CONFIG)}: it differs from the example install wrote`);
    expect(r.stdout).toContain(`note: ${path.join(root, 'var/lib/epctl')} is kept`);
    expect(await files(root)).toEqual([CONFIG, 'var/lib/epctl/state.json']);
    expect(await fs.readFile(path.join(root, CONFIG), 'utf8')).toBe(`${EXAMPLE_CONFIG}functions: []\n`);
  });

  it('refuses a unit that differs from the one epctl writes, naming it, exit 73; --dry-run says so; --force removes it', async () => {
    const root = await tempDir();
    expect((await epctl(['service', 'install', '--root', root])).exitCode).toBe(0);
    const edited = (await fs.readFile(path.join(root, UNIT), 'utf8')).replace('WatchdogSec=30', 'WatchdogSec=60');
    expect(edited).toContain('WatchdogSec=60');
    await fs.writeFile(path.join(root, UNIT), edited);
    const r = await epctl(['service', 'uninstall', '--root', root, '--purge']);
    expect(r.exitCode).toBe(73);
    expect(isOneLineRefusal(r), r.stderr).toBe(true);
    expect(noStackTrace(r)).toBe(true);
    expect(r.stderr).toContain(`epctl: ${path.join(root, UNIT)} differs from every unit this epctl writes: it holds local edits, was written by another epctl version`);
    expect(r.stderr).toContain('--force');
    expect(await files(root)).toEqual([CONFIG, UNIT]);

    const dry = await epctl(['service', 'uninstall', '--root', root, '--dry-run', '--json']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).unit.action).toBe('differs');
    expect(await files(root)).toEqual([CONFIG, UNIT]);

    const forced = await epctl(['service', 'uninstall', '--root', root, '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.stdout).toContain(`removed ${path.join(root, UNIT)}: it differed from the unit epctl writes (--force)`);
    expect(await files(root)).toEqual([CONFIG]);
  });

  it('refuses a unit still enabled, naming the link and `systemctl disable --now epctl`, exit 73; --force removes the unit and says the link is left', async () => {
    const root = await tempDir();
    expect((await epctl(['service', 'install', '--root', root])).exitCode).toBe(0);
    const wants = path.join(root, 'etc/systemd/system/multi-user.target.wants');
    await fs.mkdir(wants);
    await fs.symlink('/etc/systemd/system/epctl.service', path.join(wants, 'epctl.service'));
    const r = await epctl(['service', 'uninstall', '--root', root]);
    expect(r.exitCode).toBe(73);
    expect(isOneLineRefusal(r), r.stderr).toBe(true);
    expect(r.stderr).toContain(`${path.join(wants, 'epctl.service')}`);
    expect(r.stderr).toContain('systemctl disable --now epctl');
    expect(await files(root)).toEqual([CONFIG, UNIT, 'etc/systemd/system/multi-user.target.wants/epctl.service']);

    const forced = await epctl(['service', 'uninstall', '--root', root, '--force', '--json']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    const j = JSON.parse(forced.stdout);
    expect(j.unit.action).toBe('removed');
    expect(j.enabledBy).toEqual([path.join(wants, 'epctl.service')]);
    expect(j.notes[0]).toContain('systemctl disable --now epctl');
    expect(await files(root)).toEqual([CONFIG, 'etc/systemd/system/multi-user.target.wants/epctl.service']);
  });

  it('--dry-run says what it would remove and the command to run first, and removes nothing', async () => {
    const root = await tempDir();
    expect((await epctl(['service', 'install', '--root', root])).exitCode).toBe(0);
    const r = await epctl(['service', 'uninstall', '--root', root, '--purge', '--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`would remove ${path.join(root, UNIT)}`);
    expect(r.stdout).toContain(`would remove ${path.join(root, CONFIG)}`);
    expect(r.stdout).toContain('first, on the target system: systemctl disable --now epctl');
    expect(r.stdout).toContain('then, after the uninstall: systemctl daemon-reload');
    expect(await files(root)).toEqual([CONFIG, UNIT]);
  });

  it('refuses board options and a config path a unit cannot hold, exit 64; --help teaches the order and what stays', async () => {
    const root = await tempDir();
    for (const args of [['--mock', 'imx95'], ['-c', 'epctl.yaml']]) {
      const r = await epctl(['service', 'uninstall', '--root', root, ...args]);
      expect(r.exitCode, args.join(' ')).toBe(64);
      expect(isOneLineRefusal(r), r.stderr).toBe(true);
    }
    const help = await epctl(['service', 'uninstall', '--help']);
    expect(help.exitCode).toBe(0);
    for (const s of ['systemctl disable --now epctl', 'systemctl daemon-reload', '--purge', '--force', '--root', '--json', '/var/lib/epctl', 'epctl clear', 'exits 0'])
      expect(help.stdout, s).toContain(s);
    expect((await epctl(['service', '--help'])).stdout).toContain('uninstall');
  });
});

describe('packaging/epctl.service', () => {
  it('is exactly what `epctl service install --dry-run` renders with the defaults (a package installs this file)', async () => {
    const r = await epctl(['service', 'install', '--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    // (the helper drops the output's final newline)
    expect(await fs.readFile('packaging/epctl.service', 'utf8')).toBe(`${r.stdout}\n`);
  });
});

describe('the example config', () => {
  it('is valid as written, and its commented example is valid once uncommented', async () => {
    const dir = await tempDir();
    await fs.writeFile(path.join(dir, 'as-written.yaml'), EXAMPLE_CONFIG);
    await fs.writeFile(path.join(dir, 'example.yaml'), uncommentExample(EXAMPLE_CONFIG));
    const plain = await epctl(['validate', '-c', path.join(dir, 'as-written.yaml'), '--json']);
    expect(plain.exitCode, plain.stdout).toBe(0);
    expect(JSON.parse(plain.stdout)).toMatchObject({ valid: true, functions: 0, controllers: 0 });
    const example = await epctl(['validate', '-c', path.join(dir, 'example.yaml'), '--json']);
    expect(example.exitCode, example.stdout).toBe(0);
    expect(JSON.parse(example.stdout)).toMatchObject({ valid: true, functions: 1, controllers: 1 });
  });
});
