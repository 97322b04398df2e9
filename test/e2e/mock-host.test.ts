// `epctl mock host`: the simulated host driven from the command line, the board kept in
// --mock-state between runs, as a person would use it after `epctl apply`.
import { describe, it, expect, afterEach } from 'vitest';
import path from 'node:path';
import { epctl, noStackTrace, isOneLineRefusal, sandbox } from '../helpers/cli.js';

const EXAMPLES = path.resolve('examples');
let box: Awaited<ReturnType<typeof sandbox>> | undefined;

afterEach(async () => {
  await box?.dispose();
  box = undefined;
});

async function board(mock: string, example: string): Promise<{ run: (...args: string[]) => ReturnType<typeof epctl> }> {
  box = await sandbox();
  const b = box;
  const state = path.join(b.dir, 'board.json');
  const run = (...args: string[]): ReturnType<typeof epctl> => epctl([...args, '--mock', mock, '--mock-state', state], { cwd: b.dir, env: b.env });
  const applied = await run('apply', '-c', path.join(EXAMPLES, example), '--yes');
  expect(applied.exitCode, applied.stderr).toBe(0);
  return { run };
}

describe('epctl mock host', () => {
  it('pci-epf-test on qemu-virt: enable, ring ×2, status, disable, each saved in --mock-state', async () => {
    const { run } = await board('qemu-virt', 'pci-epf-test.yaml');
    const enable = await run('mock', 'host', 'enable', '--json');
    expect(enable.exitCode, enable.stderr).toBe(0);
    expect(JSON.parse(enable.stdout).functions[0]).toMatchObject({ function: 'pci_epf_test/func1', ok: true, registers: { status: 0x440, dbBar: 1, dbOffset: 0x10040, dbData: 0 } });
    const ring = await run('mock', 'host', 'ring', '--count', '2', '--json');
    expect(JSON.parse(ring.stdout).functions[0]).toMatchObject({ ok: true, registers: { status: 0x640 }, doorbells: [{ index: 0, rings: 2, count: 2 }] });
    const status = await run('mock', 'host', 'status');
    expect(status.stdout).toContain('STATUS 0x00000640 (IRQ_RAISED | DOORBELL_SUCCESS | DOORBELL_ENABLE_SUCCESS)');
    const disable = await run('mock', 'host', 'disable', '--json');
    expect(JSON.parse(disable.stdout).functions[0]).toMatchObject({ ok: true, registers: { status: 0x1040, dbBar: 0xffffffff } });
    expect(await box!.leftInTmp()).toEqual([]);
  });

  it('msi-parent board: enable fails with the reason, disable is refused (never sent), no oops', async () => {
    const { run } = await board('qemu-virt-msi-parent', 'pci-epf-test.yaml');
    const enable = await run('mock', 'host', 'enable', '--function', 'func1');
    expect(enable.exitCode).toBe(1);
    expect(enable.stdout).toContain('Failed to enable doorbell');
    expect(enable.stdout).toContain('STATUS 0x00000840');
    const disable = await run('mock', 'host', 'disable', '--function', 'func1', '--json');
    expect(disable.exitCode).toBe(1);
    expect(JSON.parse(disable.stdout).functions[0].message).toMatch(/not sent: .*failed ENABLE.*oops/);
    const state = await run('status', '--json');
    expect(state.exitCode).toBe(0);
    expect(noStackTrace(disable)).toBe(true);
  });

  it('vNTB: ring doorbell 2 bumps only its row', async () => {
    const { run } = await board('qemu-virt', 'pci-epf-vntb.yaml');
    const ring = await run('mock', 'host', 'ring', '--function', 'func1', '--doorbell', '2', '--json');
    expect(ring.exitCode, ring.stderr).toBe(0);
    expect(JSON.parse(ring.stdout).functions[0]).toMatchObject({ mode: 'msi', doorbells: [{ index: 2, data: 2, offset: 0x40, rings: 1, count: 1 }] });
    const status = JSON.parse((await run('mock', 'host', 'status', '--json')).stdout).functions[0];
    expect(status.doorbells.map((d: { count: number }) => d.count)).toEqual([0, 0, 1, ...new Array(13).fill(0)]);
  });

  it('without --mock: exit 64, one line and the fix', async () => {
    box = await sandbox();
    const r = await epctl(['mock', 'host', 'status'], { cwd: box.dir, env: box.env });
    expect(r.exitCode).toBe(64);
    expect(isOneLineRefusal(r)).toBe(true);
    expect(r.stderr).toContain('needs --mock BOARD');
  });

  it('a function that is not linked is named with the fix', async () => {
    box = await sandbox();
    const r = await epctl(['mock', 'host', 'ring', '--mock', 'qemu-virt'], { cwd: box.dir, env: box.env });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/no pci_epf_test or pci_epf_vntb function.*\n {2}fix: .*epctl apply/);
  });
});
