// `epctl devmem` as a person runs it, on simulated boards: the help teaches, every bad argument or
// refused access exits 64 with one line and a fix before anything is touched, --root is refused,
// --json carries results and failures, and an access reaches the simulated physical bus.
import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { epctl, isOneLineRefusal, noStackTrace, sandbox, type CliResult } from '../helpers/cli.js';

type Sandbox = Awaited<ReturnType<typeof sandbox>>;
const boxes: Sandbox[] = [];
async function run(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const b = await sandbox();
  boxes.push(b);
  const r = await epctl(args, { cwd: b.dir, env: { ...b.env, ...env } });
  // Nothing an epctl devmem run makes is left behind.
  expect(await b.leftInTmp()).toEqual([]);
  return r;
}
afterEach(async () => {
  for (const b of boxes.splice(0)) await b.dispose();
});

function expectRefusal(r: CliResult, code: number, says: RegExp | string): void {
  expect(r.exitCode, r.stderr).toBe(code);
  if (typeof says === 'string') expect(r.stderr).toContain(says);
  else expect(r.stderr).toMatch(says);
  expect(isOneLineRefusal(r), r.stderr).toBe(true);
  expect(noStackTrace(r)).toBe(true);
  expect(r.stdout).toBe('');
}

describe('epctl devmem', () => {
  it('--help explains the checks, --force, the read-back and shows GITS_TRANSLATER', async () => {
    const r = await run(['devmem', '--help']);
    expect(r.exitCode).toBe(0);
    for (const s of ['epctl devmem 0x08090040 --mock qemu-virt', 'GITS_TRANSLATER', '--force', 'write-1-to-clear', 'FIFO', 'aligned', 'plain RAM', 'busybox', 'CONFIG_STRICT_DEVMEM'])
      expect(r.stdout).toContain(s);
  });

  it('is listed by `epctl --help`', async () => {
    const r = await run(['--help']);
    expect(r.stdout).toMatch(/^\s+devmem .*<addr>/m);
  });

  it.each([
    [['devmem', '0x08090042', '--mock', 'qemu-virt'], /32-bit read at 0x08090042 is not aligned to 4 bytes/],
    [['devmem', '0x08090041', '16', '--mock', 'qemu-virt', '--force'], /--force does not lift this/],
    [['devmem', '0x20000000', '--mock', 'qemu-virt'], /0x20000000 lies in no reg range of an enabled device-tree node/],
    [['devmem', '0x40000000', '32', '1', '--mock', 'qemu-virt'], /stores into plain RAM \(\/memory@40000000 reg\[0\].*can corrupt the running kernel/],
    // i.MX95: the RC node at 0x4c300000 is disabled; the EP's dbi is 64 KiB, then a gap.
    [['devmem', '0x4c310000', '--mock', 'imx95'], /nearest range below is \/soc\/pcie-ep@4c300000 reg\[0\] "dbi"/],
    [['devmem', 'zz', '--mock', 'qemu-virt'], 'devmem ADDR "zz": not a number'],
    [['devmem', '0755', '--mock', 'qemu-virt'], 'busybox devmem would read as octal'],
    [['devmem', '0x08090040', '24', '--mock', 'qemu-virt'], 'devmem WIDTH "24": not an access width'],
    [['devmem', '0x08090040', 'b', '0x100', '--mock', 'qemu-virt'], 'devmem VALUE "0x100": does not fit in 8 bits'],
    [['devmem', '0x08090040', '--no-read-back', '--mock', 'qemu-virt'], '--no-read-back only applies to a write'],
    [['--root', '.', 'devmem', '0x08090040'], '`epctl devmem` cannot run on a recorded board (--root)'],
  ])('epctl %j exits 64 with one line and a fix', async (args, says) => {
    expectRefusal(await run(args), 64, says);
  });

  it('a refusal under --json is JSON on stdout naming its kind', async () => {
    const r = await run(['devmem', '0x20000000', '--mock', 'qemu-virt', '--json']);
    expect(r.exitCode).toBe(64);
    const out = JSON.parse(r.stdout) as { error: { kind: string; exitCode: number; hint: string } };
    expect(out.error).toMatchObject({ kind: 'DevmemRefusedError', exitCode: 64 });
    expect(out.error.hint).toMatch(/--force/);
  });

  it('qemu-virt: GITS_TRANSLATER is read on the simulated bus (write-only: reads as zero), reported against the ITS node', async () => {
    const r = await run(['devmem', '0x08090040', '--mock', 'qemu-virt', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({ access: 'read', address: '0x08090040', width: 32, origin: 'mock:qemu-virt', read: '0x00000000', reg: { node: '/intc@8000000/its@8080000', index: 0, kind: 'device' } });
  });

  it('qemu-virt: a CPU store of db_data[0] to GITS_TRANSLATER rings vNTB doorbell 0, as the lane plays the host', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'epctl-devmem-'));
    try {
      const state = ['--mock', 'qemu-virt', '--mock-state', path.join(dir, 'board.json')];
      expect((await run(['apply', ...state, '-c', path.resolve('examples/pci-epf-vntb.yaml'), '--yes'])).exitCode).toBe(0);
      const w = await run(['devmem', '0x08090040', '32', '0', ...state]);
      expect(w.exitCode, w.stderr).toBe(0);
      const irqs = await run(['probe', ...state, '--json']);
      const c = (JSON.parse(irqs.stdout) as { controllers: { doorbellIrqs: { hwirq: number; count: number }[] }[] }).controllers[0]!;
      expect(c.doorbellIrqs).toHaveLength(16);
      expect(c.doorbellIrqs.map((d) => d.count)).toEqual([1, ...new Array<number>(15).fill(0)]);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('--force past the ranges says what it skipped, and nothing answering there is a Bus error', async () => {
    const r = await run(['devmem', '0x20000000', '8', '--mock', 'qemu-virt', '--force']);
    expect(noStackTrace(r)).toBe(true);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/devmem read of 8 bits at 0x20000000 failed: EIO.*\n {2}fix: Bus error/);
  });
});

// A live run (no --mock) with a fake busybox alone on PATH: it answers a read with 0x00000640 as
// busybox's devmem prints it and logs its argv; nothing reaches /dev/mem.
const FAKE_BUSYBOX = `#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
fs.appendFileSync(path.join(__dirname, 'calls.log'), process.argv.slice(2).join(' ') + '\\n');
if (process.argv.length === 5) process.stdout.write('0x00000640\\n');
`;

async function fakeBusybox(): Promise<{ dir: string; calls: () => Promise<string[]> }> {
  const b = await sandbox();
  boxes.push(b);
  const dir = b.dir;
  await fs.writeFile(path.join(dir, 'package.json'), '{"type":"commonjs"}\n');
  await fs.symlink(process.execPath, path.join(dir, 'node'));
  await fs.writeFile(path.join(dir, 'busybox'), FAKE_BUSYBOX, { mode: 0o755 });
  return { dir, calls: async () => (await fs.readFile(path.join(dir, 'calls.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean) };
}

describe('epctl devmem on a live system, through busybox', () => {
  it('without a device tree (an ACPI or x86 host) it refuses with exit 7 unless --force, running nothing', async () => {
    const t = await fakeBusybox();
    const r = await run(['devmem', '0x1000'], { PATH: t.dir });
    // This suite runs on machines with and without /sys/firmware/devicetree.
    if (r.exitCode === 7) {
      expect(r.stderr).toMatch(/without a device tree epctl cannot check 0x00001000/);
      expect(r.stderr).toMatch(/fix: .*--force/);
    } else expect(r.exitCode).toBe(64);
    expect(await t.calls()).toEqual([]);
  });

  it('--force: a read runs `busybox devmem ADDR 32` and prints the value and what was skipped', async () => {
    const t = await fakeBusybox();
    const r = await run(['devmem', '0x1000', '--force'], { PATH: t.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^0x00001000: 0x00000640 {2}\(32-bit read\)$/m);
    expect(r.stdout).toMatch(/--force skipped: 32-bit read at 0x00001000 lies in no reg range/);
    expect(r.stdout).toMatch(/on \/$/m);
    expect(await t.calls()).toEqual(['devmem 0x1000 32']);
  });

  it('--force: a write is stored, read back, and a differing read-back is explained, not an error', async () => {
    const t = await fakeBusybox();
    const r = await run(['devmem', '0x1004', 'w', '0x40', '--force', '--json'], { PATH: t.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ access: 'write', address: '0x00001004', width: 32, written: '0x00000040', read: '0x00000640', readBackDiffers: true, reg: null });
    expect(await t.calls()).toEqual(['devmem 0x1004 32 0x40', 'devmem 0x1004 32']);
    const human = await run(['devmem', '0x1004', '32', '0x40', '--force'], { PATH: t.dir });
    expect(human.stdout).toMatch(/read back 0x00000640 {2}\(differs from the value written: normal for write-1-to-clear/);
  });

  it('no busybox on PATH: exit 1 naming the package to install', async () => {
    const b = await sandbox();
    boxes.push(b);
    const r = await run(['devmem', '0x1000', '--force'], { PATH: b.dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/ENOENT: no such file or directory, devmem '\/dev\/mem'/);
    expect(r.stderr).toMatch(/fix: neither devmem nor busybox is on PATH: install busybox/);
    expect(noStackTrace(r)).toBe(true);
  });
});
