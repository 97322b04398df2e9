// The epctl command line as a person meets it: a separate process, its output and its exit
// code (README "Exit codes"); every mistake gives one message that names the path or option and
// the fix, and never a stack trace.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import { epctl, noStackTrace } from '../helpers/cli.js';

import { fixtureArchive, fixtureCopy, fixtureDir } from '../helpers/fixtures.js';
import { tempDirs } from '../helpers/tmp.js';

const tmp = tempDirs('epctl-cli');

const copyFixture = fixtureCopy;

describe('epctl probe', () => {
  it('never says "yes" for a controller whose doorbell the kernel allocates but a host ring would never reach', async () => {
    const r = await epctl(['probe', '--mock', 'imx95-v6.18']);
    expect(r.stdout).toMatch(/^4c300000\.pcie-ep\s+\S+\s+okay\s+imx6q-pcie\s+0\s+no: rings lost, see warning$/m);
    const j = JSON.parse((await epctl(['probe', '--mock', 'imx95-v6.18', '--json'])).stdout);
    expect(j.controllers[0].doorbell).toMatchObject({ capable: true, ringLost: true });
  });

  it('runs the README command on the simulated i.MX95 and shows both controllers at a glance', async () => {
    const r = await epctl(['probe', '--mock', 'imx95']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^CONTROLLER\s+DT NODE\s+STATUS\s+DRIVER\s+START\s+DOORBELL$/m);
    expect(r.stdout).toMatch(/^4c300000\.pcie-ep\s+\/soc\/pcie-ep@4c300000\s+okay\s+imx6q-pcie\s+0\s+yes$/m);
    expect(r.stdout).toMatch(/^4c380000\.pcie-ep\s+/m);
    expect(r.stderr).toBe('');
  });

  it('prints JSON with kernel, functionDrivers and per-controller doorbell verdicts', async () => {
    const r = await epctl(['probe', '--mock', 'qemu-virt-msi-parent', '--json']);
    expect(r.exitCode).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.kernel.release).toBe('7.3.4');
    expect(s.functionDrivers).toEqual(['nvmet_pci_epf', 'pci_epf_ntb', 'pci_epf_test', 'pci_epf_vntb']);
    expect(s.controllers[0]).toMatchObject({ name: '7e000000.pcie-ep', dtNode: '/pcie-ep@7e000000', doorbell: { capable: false, code: 'msi-parent-only' } });
    expect(s.controllers[0].doorbell.fix).toContain('msi-map');
  });

  it('accepts the global options after the command too', async () => {
    const r = await epctl(['--mock', 'rk3588', 'probe', '--kernel', '6.12', '--json']);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).kernel.release).toBe('6.12.117');
  });

  it('lists the known boards for an unknown --mock board and exits 64', async () => {
    const r = await epctl(['probe', '--mock', 'imx99']);
    expect(r.exitCode).toBe(64);
    expect(r.stderr).toContain('unknown board "imx99"; known boards: imx95,');
    expect(noStackTrace(r)).toBe(true);
  });

  it('gives a script the failure as JSON on stdout when --json is set', async () => {
    const r = await epctl(['probe', '--root', '/nonexistent/board', '--json']);
    expect(r.exitCode).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { kind: 'EpctlError', exitCode: 3, message: expect.stringContaining('/nonexistent/board') } });
  });

  it('refuses an unknown --kernel with the versions it models, exit 64', async () => {
    const r = await epctl(['probe', '--mock', 'imx95', '--kernel', '5.10']);
    expect(r.exitCode).toBe(64);
    expect(r.stderr).toContain('give --kernel 6.1, 6.12, 7.3');
    expect(noStackTrace(r)).toBe(true);
  });

  it('refuses --kernel without --mock, and --root with --mock, exit 64', async () => {
    expect((await epctl(['probe', '--kernel', '6.12'])).exitCode).toBe(64);
    const both = await epctl(['probe', '--root', fixtureArchive('imx95'), '--mock', 'imx95']);
    expect(both.exitCode).toBe(64);
    expect(both.stderr).toContain('--root and --mock cannot be used together');
  });

  it('says a --root that does not exist is not a board, exit 3', async () => {
    const r = await epctl(['probe', '--root', '/nonexistent/board']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('--root /nonexistent/board: no such file or directory');
    expect(r.stderr).toContain('epctl snapshot');
    expect(noStackTrace(r)).toBe(true);
  });

  it('says a --root without /sys is not a board, exit 3', async () => {
    const dir = await tmp();
    const r = await epctl(['probe', '--root', dir]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(`there is no ${dir}/sys`);
    expect(noStackTrace(r)).toBe(true);
  });

  it('says configfs is not mounted and how to mount it, exit 4', async () => {
    const r = await epctl(['probe', '--root', fixtureArchive('qemu-virt-configfs-unmounted')]);
    expect(r.exitCode).toBe(4);
    expect(r.stdout).toContain('error: configfs is not mounted at /sys/kernel/config');
    expect(r.stdout).toContain('mount -t configfs none /sys/kernel/config');
  });

  it('says the kernel has no PCI endpoint configfs and which options to build, exit 5', async () => {
    const r = await epctl(['probe', '--root', await fixtureDir('qemu-virt-6.12-no-pci-ep')]);
    expect(r.exitCode).toBe(5);
    expect(r.stdout).toContain('/sys/kernel/config/pci_ep does not exist');
    expect(r.stdout).toContain('CONFIG_PCI_ENDPOINT_CONFIGFS=y');
  });

  it('names the disabled EP nodes when no controller probed, exit 6', async () => {
    const r = await epctl(['probe', '--root', fixtureArchive('imx95-ep-disabled')]);
    expect(r.exitCode).toBe(6);
    expect(r.stdout).toContain('no endpoint controller has probed');
    expect(r.stdout).toContain('/soc/pcie-ep@4c300000, /soc/pcie-ep@4c380000 are disabled');
  });

  it('names a truncated msi-map property and the fix, exit 7', async () => {
    const dir = await copyFixture('qemu-virt');
    const prop = path.join(dir, 'sys/firmware/devicetree/base/pcie-ep@7e000000/msi-map');
    const bytes = await fs.readFile(prop);
    await fs.chmod(prop, 0o644);
    await fs.writeFile(prop, bytes.subarray(0, 14));
    const r = await epctl(['probe', '--root', dir]);
    expect(r.exitCode).toBe(7);
    expect(r.stdout).toContain('/sys/firmware/devicetree/base/pcie-ep@7e000000/msi-map');
    expect(r.stdout).toMatch(/14 bytes/);
    expect(noStackTrace(r)).toBe(true);
  });

  it('says which msi-map phandle resolves to nothing, exit 7', async () => {
    const dir = await copyFixture('qemu-virt');
    const prop = path.join(dir, 'sys/firmware/devicetree/base/pcie-ep@7e000000/msi-map');
    await fs.chmod(prop, 0o644);
    await fs.writeFile(prop, Buffer.from([0, 0, 0, 0, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 1]));
    const r = await epctl(['probe', '--root', dir, '--json']);
    expect(r.exitCode).toBe(7);
    const s = JSON.parse(r.stdout);
    expect(s.controllers[0].doorbell).toMatchObject({ capable: false, code: 'msi-map-dangling' });
    expect(s.controllers[0].doorbell.reason).toContain('0x1234');
    expect(s.problems[0]).toMatchObject({ code: 'bad-device-tree', path: '/sys/firmware/devicetree/base/pcie-ep@7e000000/msi-map' });
  });

  it('names the line of a malformed /proc/interrupts, exit 7', async () => {
    const dir = await copyFixture('qemu-virt');
    await fs.chmod(path.join(dir, 'proc/interrupts'), 0o644);
    await fs.writeFile(path.join(dir, 'proc/interrupts'), '           CPU0       \n 11:        572  GICv3  27 Level     arch_timer\n 12:  notanumber\n');
    const r = await epctl(['probe', '--root', dir]);
    expect(r.exitCode).toBe(7);
    expect(r.stdout).toContain('/proc/interrupts:3');
    expect(noStackTrace(r)).toBe(true);
  });

  it('says the kernel exposes no device tree when the DT is missing, exit 7', async () => {
    const dir = await copyFixture('qemu-virt');
    await fs.rm(path.join(dir, 'sys/firmware/devicetree'), { recursive: true });
    const r = await epctl(['probe', '--root', dir]);
    expect(r.exitCode).toBe(7);
    expect(r.stdout).toContain('/sys/firmware/devicetree/base');
    expect(r.stdout).toMatch(/DOORBELL\n7e000000\.pcie-ep .* unknown$/m);
  });

  it('turns an unknown option into a usage error, exit 64', async () => {
    const r = await epctl(['probe', '--bogus']);
    expect(r.exitCode).toBe(64);
    expect(r.stderr).toContain("unknown option '--bogus'");
  });
});

describe('epctl --mock-state', () => {
  it('creates the state file, reuses it, and refuses it for another board', async () => {
    const file = path.join(await tmp(), 'board.json');
    expect((await epctl(['probe', '--mock', 'imx95', '--mock-state', file])).exitCode).toBe(0);
    const state = JSON.parse(await fs.readFile(file, 'utf8'));
    expect(state).toMatchObject({ format: 'epctl-fake-kernel', board: 'imx95', release: '7.3.4' });
    expect((await epctl(['probe', '--mock', 'imx95', '--mock-state', file])).exitCode).toBe(0);
    const other = await epctl(['probe', '--mock', 'rk3588', '--mock-state', file]);
    expect(other.exitCode).toBe(64);
    expect(other.stderr).toContain('the state was made for board imx95, not rk3588');
    const kernel = await epctl(['probe', '--mock', 'imx95', '--kernel', '6.12', '--mock-state', file]);
    expect(kernel.exitCode).toBe(64);
    expect(kernel.stderr).toContain('made for kernel 7.3.4, not 6.12.117');
  });

  it('refuses a file that is not a state file, naming it', async () => {
    const file = path.join(await tmp(), 'bad.json');
    await fs.writeFile(file, '{ not json');
    const r = await epctl(['probe', '--mock', 'imx95', '--mock-state', file]);
    expect(r.exitCode).toBe(64);
    expect(r.stderr).toContain(`${file} is not a mock state file`);
    expect(noStackTrace(r)).toBe(true);
  });
});

describe('epctl snapshot', () => {
  it('writes a .tar.gz that --root reads directly', async () => {
    const file = path.join(await tmp(), 'board.tar.gz');
    expect((await epctl(['--mock', 'rk3588', 'snapshot', file])).exitCode).toBe(0);
    const r = await epctl(['probe', '--root', file, '--json']);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).controllers[0].name).toBe('a40000000.pcie-ep');
    expect((await epctl(['--mock', 'rk3588', 'snapshot', file])).stderr).toContain('exists');
  });

  it('says a file that is not a snapshot archive is not a board, exit 3', async () => {
    const file = path.join(await tmp(), 'junk.tar.gz');
    await fs.writeFile(file, 'not gzip');
    const r = await epctl(['probe', '--root', file]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('not a readable .tar.gz');
    expect(noStackTrace(r)).toBe(true);
  });

  it('records a board that --root then probes to the same result', async () => {
    const dir = path.join(await tmp(), 'rec');
    const rec = await epctl(['--mock', 'imx95-v6.18', 'snapshot', dir, '--json']);
    expect(rec.exitCode).toBe(0);
    expect(JSON.parse(rec.stdout).controllers).toEqual(['4c300000.pcie-ep', '4c380000.pcie-ep']);
    const a = JSON.parse((await epctl(['probe', '--mock', 'imx95-v6.18', '--json'])).stdout);
    const b = JSON.parse((await epctl(['probe', '--root', dir, '--json'])).stdout);
    expect({ ...b, source: null }).toEqual({ ...a, source: null });
  });

  it('never writes into a directory that is not empty, exit 64', async () => {
    const dir = await tmp();
    await fs.writeFile(path.join(dir, 'keep'), 'x');
    const r = await epctl(['--mock', 'imx95', 'snapshot', dir]);
    expect(r.exitCode).toBe(64);
    expect(r.stderr).toContain('is not empty');
    expect(await fs.readdir(dir)).toEqual(['keep']);
  });
});

describe('epctl in a pipe', () => {
  it('stops quietly with exit 74 when the reader closes the pipe early (epctl … | head)', async () => {
    const { spawn } = await import('node:child_process');
    const { BIN } = await import('../helpers/cli.js');
    const child = spawn(process.execPath, [BIN, 'boards'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    expect(stderr).toBe('');
    expect(code).toBe(74);
  });
});

describe('epctl --help', () => {
  it('teaches the commands, the examples and the exit codes', async () => {
    const r = await epctl(['--help']);
    expect(r.exitCode).toBe(0);
    for (const s of ['probe', 'snapshot', 'boards', '--mock <board>', '--root <dir|file>', 'Exit codes:', 'epctl probe --mock imx95']) expect(r.stdout).toContain(s);
  });

  it('lists the simulated boards', async () => {
    const r = await epctl(['boards', '--json']);
    expect(JSON.parse(r.stdout).map((b: { name: string }) => b.name)).toContain('qemu-virt-msi-parent');
  });
});

describe('epctl status', () => {
  it('shows a fresh simulated board, and a recorded one as JSON with the same tree', async () => {
    const r = await epctl(['status', '--mock', 'imx95']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^controller 4c300000\.pcie-ep {2}start=0$/m);
    const j = await epctl(['status', '--root', fixtureArchive('imx95'), '--json']);
    expect(j.exitCode).toBe(0);
    const s = JSON.parse(j.stdout) as { pciEp: { present: boolean; controllers: { name: string }[] } };
    expect(s.pciEp.present).toBe(true);
    expect(s.pciEp.controllers.map((c) => c.name)).toEqual(['4c300000.pcie-ep', '4c380000.pcie-ep']);
  });

  it('exits 5 naming pci_ep where the kernel has no endpoint configfs', async () => {
    const r = await epctl(['status', '--root', fixtureArchive('qemu-virt-6.12-no-pci-ep')]);
    expect(r.exitCode).toBe(5);
    expect(r.stdout).toContain('/sys/kernel/config/pci_ep does not exist');
  });
});

describe('epctl validate', () => {
  it('prints each issue as FILE:LINE:COLUMN with the field and exits 65; a valid file exits 0; --json gives the issues', async () => {
    const dir = await tmp();
    const file = path.join(dir, 'board.yaml');
    await fs.writeFile(file, 'version: 1\nfunctions:\n  - driver: pci_epf_test\n    name: f\n    controller: auto\n    msix_interrupts: 4096\n');
    const bad = await epctl(['validate', '-c', file]);
    expect(bad.exitCode).toBe(65);
    expect(bad.stderr).toContain(`${file}:6:22: functions.0.msix_interrupts: `);
    expect(bad.stderr).toMatch(/\n {2}fix: /);
    const j = await epctl(['validate', '-c', file, '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ valid: false, issues: [{ line: 6, column: 22, field: 'functions.0.msix_interrupts' }] });
    await fs.writeFile(file, 'version: 1\nfunctions:\n  - { driver: pci_epf_test, name: f, controller: auto, msix_interrupts: 4 }\n');
    const ok = await epctl(['validate', '-c', file]);
    expect(ok).toMatchObject({ exitCode: 0, stdout: `${file}: valid (1 functions, 0 controllers)` });
  });

  it('refuses board options: validate reads no board', async () => {
    const r = await epctl(['validate', '--mock', 'imx95', '-c', 'x.yaml']);
    expect(r.exitCode).toBe(64);
  });
});
