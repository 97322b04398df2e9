// `epctl doorbell watch` as a person runs it: --json lines for the doorbells another process
// allocates and rings on a shared --mock-state board, a clean stop on SIGINT with the file left
// as the other process saved it, plain lines and the polling caveats when not a terminal.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { BIN, epctl, noStackTrace } from '../helpers/cli.js';
import { tempDirs } from '../helpers/tmp.js';
import { openPort } from '../../src/kernel/open.js';
import type { FakeKernelImpl } from '../../src/fake/kernel.js';

const tmp = tempDirs('epctl-dbwatch');
const CHIP = 'ITS-pMSI-7e000000.pcie-ep';

/** Another epctl process changing the shared board: load, change, save. */
async function other(file: string, fn: (k: FakeKernelImpl) => void): Promise<void> {
  const o = await openPort({ mock: 'qemu-virt', mockState: file });
  fn(o.port as FakeKernelImpl);
  await o.close();
}

async function until(pred: () => boolean, what: () => string): Promise<void> {
  for (const deadline = Date.now() + 15000; !pred(); await new Promise((r) => setTimeout(r, 20)))
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
}

describe('epctl doorbell watch', () => {
  for (const source of ['tracefs', 'poll']) {
    it(`--json --source ${source}: one object per line for rings another process makes, stops on SIGINT, file untouched`, async () => {
      const dir = await tmp();
      const file = path.join(dir, 'board.json');
      let virq = 0;
      await other(file, (k) => {
        virq = k.irq.request(CHIP, 0, 'Edge', 'pci_epf_vntb_db');
      });
      const child = execa(process.execPath, [BIN, 'doorbell', 'watch', '--mock', 'qemu-virt', '--mock-state', file, '--json', '--source', source, '--interval', '5'], { reject: false, env: { NO_COLOR: '1', TMPDIR: dir }, timeout: 30000 });
      let out = '';
      let err = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      await until(() => out.includes('"allocated"'), () => out + err);
      await other(file, (k) => {
        for (let i = 0; i < 4; i++) k.irq.fire(virq, 0);
      });
      await until(() => out.includes('"count":4,'), () => out + err);
      const saved = await fs.stat(file);
      child.kill('SIGINT');
      const r = await child;
      expect(r.exitCode).toBe(0);
      expect(noStackTrace({ exitCode: 0, stdout: out, stderr: err })).toBe(true);
      const lines = out.trimEnd().split('\n').map((l) => JSON.parse(l));
      for (const l of lines) expect(Object.keys(l)).toEqual(['time', 'event', 'controller', 'virq', 'index', 'chip', 'action', 'count', 'delta', 'rate']);
      expect(lines[0]).toMatchObject({ event: 'allocated', controller: '7e000000.pcie-ep', virq, index: 0, chip: CHIP, action: 'pci_epf_vntb_db', count: 0, delta: 0 });
      expect(lines.filter((l) => l.event === 'rung').reduce((s, l) => s + l.delta, 0)).toBe(4);
      if (source === 'tracefs') expect(lines.filter((l) => l.event === 'rung')).toHaveLength(4);
      else expect(err).toMatch(/cannot see:\n {2}- a doorbell allocated and freed between two polls is never seen/);
      const after = await fs.stat(file);
      expect([after.ino, after.mtimeMs]).toEqual([saved.ino, saved.mtimeMs]);
      expect((await fs.readdir(dir)).sort()).toEqual(['board.json']);
    });
  }

  it('prints plain lines when stdout is not a terminal, and stops after --duration', async () => {
    const r = await epctl(['doorbell', 'watch', '--mock', 'qemu-virt', '--duration', '0.2']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^epctl: watching doorbells through tracefs irq events \(\/sys\/kernel\/tracing\/instances\/epctl-\d+\)\nepctl: 0 events \(tracefs\)$/);
  });

  it('refuses a bad --count with the fix, and --source tracefs where the kernel has no FTRACE', async () => {
    const bad = await epctl(['doorbell', 'watch', '--mock', 'qemu-virt', '--count', '0']);
    expect(bad.exitCode).toBe(64);
    expect(bad.stderr).toMatch(/^epctl: --count 0: not a positive whole number\n {2}fix: /);
    // imx95 on 6.12 models a kernel without FTRACE (qemu-virt models the lane's, which has it).
    const none = await epctl(['doorbell', 'watch', '--mock', 'imx95', '--kernel', '6.12', '--source', 'tracefs']);
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toMatch(/CONFIG_FTRACE[\s\S]*fix: .*--source poll/);
  });
});
