// The rendered unit against systemd itself: `systemd-analyze verify` accepts it without a word
// (an unknown directive is only a warning there, so stderr must be empty), and
// `systemd-analyze security --offline=yes` rates it. systemd-analyze is required, never skipped
// (.ci/run installs Debian's systemd).
import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import fs from 'node:fs/promises';
import path from 'node:path';
import { tempDirs } from '../../test/helpers/tmp.js';
import { DEFAULT_BIN, DEFAULT_WATCHDOG_SEC, UNIT_DIRECTORY, badGroup, renderUnit, unsafePath, type UnitOptions } from './unit.js';
import { DEFAULT_SOCKET } from '../agent/client.js';
import { DEFAULT_STATE_FILE } from '../state/ownership.js';

const tempDir = tempDirs('epctl-unit');

const defaults: UnitOptions = { bin: DEFAULT_BIN, config: '/etc/epctl/epctl.yaml', devmem: false, watchdogSec: DEFAULT_WATCHDOG_SEC };
const variants: Record<string, Partial<UnitOptions>> = { default: {}, devmem: { devmem: true }, 'socket group': { socketGroup: 'epctl' }, 'devmem and socket group': { devmem: true, socketGroup: 'epctl' } };

/** Writes the unit for OPTS as DIR/epctl.service (the name systemd judges it by). */
async function unitFile(dir: string, opts: UnitOptions): Promise<string> {
  const file = path.join(dir, 'epctl.service');
  await fs.writeFile(file, renderUnit(opts));
  return file;
}

interface Security {
  exposure: number;
  /** The names of the checks it fails (✗), e.g. "PrivateDevices=". */
  failed: string[];
}

async function security(file: string): Promise<Security> {
  const r = await execa('systemd-analyze', ['security', '--offline=yes', '--no-pager', file], { reject: false, env: { SYSTEMD_COLORS: '0' } });
  expect(r.exitCode, r.stderr).toBe(0);
  const m = /Overall exposure level for epctl\.service: (\d+\.\d)/.exec(r.stdout);
  expect(m, r.stdout).not.toBeNull();
  const failed = r.stdout.split('\n').filter((l) => l.startsWith('✗')).map((l) => l.slice(1).trim().split(/\s+/)[0]!);
  return { exposure: Number(m![1]), failed };
}

describe('the unit before systemd', () => {
  for (const [name, v] of Object.entries(variants))
    it(`systemd-analyze verify accepts the ${name} unit without a warning`, async () => {
      // verify wants ExecStart='s binary to exist and be executable: a stand-in in a temp root.
      const root = await tempDir();
      const bin = path.join(root, 'usr/bin/epctl');
      await fs.mkdir(path.dirname(bin), { recursive: true });
      await fs.writeFile(bin, '#!/bin/sh\n', { mode: 0o755 });
      const file = await unitFile(root, { ...defaults, ...v, bin, config: path.join(root, 'etc/epctl/epctl.yaml') });
      const r = await execa('systemd-analyze', ['verify', '--man=no', '--generators=no', file], { reject: false, env: { SYSTEMD_COLORS: '0' } });
      expect({ exitCode: r.exitCode, stderr: r.stderr, stdout: r.stdout }).toEqual({ exitCode: 0, stderr: '', stdout: '' });
    });

  it('the default unit has an overall exposure of at most 2.0', async () => {
    const s = await security(await unitFile(await tempDir(), defaults));
    expect(s.exposure).toBeLessThanOrEqual(2.0);
    // What it keeps, each for a reason the unit's comments give.
    expect(s.failed.sort()).toEqual(
      [
        'CapabilityBoundingSet=~CAP_SYSLOG',
        'CapabilityBoundingSet=~CAP_SYS_MODULE',
        'DeviceAllow=',
        'MemoryDenyWriteExecute=',
        'NotifyAccess=',
        'PrivateUsers=',
        'ProcSubset=',
        'ProtectKernelLogs=',
        'ProtectKernelModules=',
        'ProtectKernelTunables=',
        'RestrictAddressFamilies=~AF_UNIX',
        'RootDirectory=/RootImage=',
        'SystemCallFilter=~@module',
        'SystemCallFilter=~@privileged',
        'User=/DynamicUser=',
      ].sort(),
    );
  });

  it('--devmem costs exactly /dev/mem: PrivateDevices= off and CAP_SYS_RAWIO, nothing else (2.3 at most)', async () => {
    const base = await security(await unitFile(await tempDir(), defaults));
    const devmem = await security(await unitFile(await tempDir(), { ...defaults, devmem: true }));
    expect(devmem.failed.filter((f) => !base.failed.includes(f)).sort()).toEqual(['CapabilityBoundingSet=~CAP_SYS_RAWIO', 'PrivateDevices=']);
    expect(base.failed.filter((f) => !devmem.failed.includes(f))).toEqual([]);
    expect(devmem.exposure).toBeLessThanOrEqual(2.3);
  });

  it("README.md's service section states the exposures measured here", async () => {
    const readme = (await fs.readFile('README.md', 'utf8')).split(/^## Run as a service$/m)[1]!.split(/^## /m)[0]!;
    const base = await security(await unitFile(await tempDir(), defaults));
    const devmem = await security(await unitFile(await tempDir(), { ...defaults, devmem: true }));
    expect(readme).toContain(`rates the unit **${base.exposure.toFixed(1)} OK**`);
    expect(readme).toContain(`**${devmem.exposure.toFixed(1)} OK** with \`--devmem\``);
  });

  it('a socket group changes no exposure', async () => {
    const s = await security(await unitFile(await tempDir(), { ...defaults, socketGroup: 'epctl' }));
    expect(s).toEqual(await security(await unitFile(await tempDir(), defaults)));
  });
});

describe('renderUnit', () => {
  it("names as StateDirectory= and RuntimeDirectory= the directories of the agent's default state file and socket", () => {
    const unit = renderUnit({ bin: DEFAULT_BIN, config: '/etc/epctl/epctl.yaml', devmem: false, watchdogSec: DEFAULT_WATCHDOG_SEC });
    expect(unit).toMatch(new RegExp(`^StateDirectory=${UNIT_DIRECTORY}$`, 'm'));
    expect(unit).toMatch(new RegExp(`^RuntimeDirectory=${UNIT_DIRECTORY}$`, 'm'));
    expect(path.dirname(DEFAULT_STATE_FILE)).toBe(`/var/lib/${UNIT_DIRECTORY}`);
    expect(path.dirname(DEFAULT_SOCKET)).toBe(`/run/${UNIT_DIRECTORY}`);
  });

  const directives = (text: string): string[] => text.split('\n').filter((l) => /^[A-Z]\w+=/.test(l));

  it('runs the agent as a watched, notifying, restartable service with its own state and runtime directories', () => {
    const d = directives(renderUnit({ ...defaults, watchdogSec: 12 }));
    for (const want of ['Type=notify', 'NotifyAccess=all', 'WatchdogSec=12s', 'Restart=on-failure', 'ExecReload=/bin/kill -HUP $MAINPID', 'RuntimeDirectory=epctl', 'StateDirectory=epctl'])
      expect(d).toContain(want);
    expect(d).toContain('ExecStart=/usr/bin/epctl agent -c /etc/epctl/epctl.yaml');
  });

  it('gives /dev/mem and CAP_SYS_RAWIO only with devmem', () => {
    const off = renderUnit(defaults);
    const on = renderUnit({ ...defaults, devmem: true });
    expect(off).not.toMatch(/\/dev\/mem|CAP_SYS_RAWIO/);
    expect(directives(off)).toEqual(expect.arrayContaining(['PrivateDevices=yes', 'DeviceAllow=/dev/kmsg r']));
    expect(directives(on)).toEqual(expect.arrayContaining(['PrivateDevices=no', 'DevicePolicy=closed', 'DeviceAllow=/dev/kmsg r', 'DeviceAllow=/dev/mem rw', 'CapabilityBoundingSet=CAP_SYS_MODULE CAP_SYSLOG CAP_SYS_RAWIO']));
  });

  it('passes the socket group to the agent and makes the agent a member of it', () => {
    const d = directives(renderUnit({ ...defaults, socketGroup: 'pcie' }));
    expect(d).toContain('ExecStart=/usr/bin/epctl agent -c /etc/epctl/epctl.yaml --socket-group pcie');
    expect(d).toContain('SupplementaryGroups=pcie');
    expect(d).toContain('SystemCallFilter=init_module finit_module @chown');
  });

  it('explains, in a comment right above it, every protection it leaves off and every privilege it keeps', () => {
    for (const opts of [defaults, { ...defaults, devmem: true, socketGroup: 'pcie' }]) {
      const lines = renderUnit(opts).split('\n');
      const kept = lines.filter((l) => /=no$|^(CapabilityBoundingSet|NotifyAccess|ReadWritePaths|DeviceAllow|SupplementaryGroups|SystemCallFilter)=/.test(l));
      expect(kept.length).toBeGreaterThan(8);
      for (const l of kept) {
        // The comment is the block above its group: walk up over directives of the same group.
        let i = lines.indexOf(l) - 1;
        while (i >= 0 && /^[A-Z]\w+=/.test(lines[i]!) && lines[i]!.split('=')[0] === l.split('=')[0]) i--;
        if (l.startsWith('NotifyAccess=') || l.startsWith('DeviceAllow=') || l.startsWith('ReadWritePaths=')) while (i >= 0 && /^[A-Z]\w+=/.test(lines[i]!)) i--;
        expect(lines[i], `no comment above ${l}`).toMatch(/^# /);
      }
    }
  });

  it('takes plain absolute paths and group names, and says what is wrong with the others', () => {
    expect(unsafePath('/usr/bin/epctl')).toBeUndefined();
    expect(unsafePath('/opt/epctl-1.0/epctl.js')).toBeUndefined();
    for (const bad of ['epctl', './epctl', '/opt/my epctl', '/opt/%n', '/opt/$HOME', '/opt/a"b', '/opt/a\\b', '/opt/../bin', '/opt/./x', '/opt/a\nb', '/'])
      expect(unsafePath(bad), bad).toBeDefined();
    expect(badGroup('epctl')).toBeUndefined();
    expect(badGroup('_pcie-users')).toBeUndefined();
    for (const bad of ['', 'Root', '1x', 'a b', 'a'.repeat(33)]) expect(badGroup(bad), bad).toBeDefined();
  });
});
