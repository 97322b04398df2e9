// plan, apply, clear and save as a person runs them on a simulated board kept in a state file:
// exit codes (0 nothing to do / done, 2 changes pending, 1 refused or failed, 65 bad config),
// the save → clear → apply round trip, the lock, and recordings refused for changes.
import { describe, it, expect } from 'vitest';
import fs from 'node:fs/promises';
import path from 'node:path';
import { epctl, noStackTrace } from '../helpers/cli.js';
import { fixtureArchive } from '../helpers/fixtures.js';
import { tempDirs } from '../helpers/tmp.js';

const tmp = tempDirs('epctl-converge', { each: true });
const EXAMPLE_TEST = path.resolve('examples/pci-epf-test.yaml');
const EXAMPLE_VNTB = path.resolve('examples/pci-epf-vntb.yaml');

describe('plan and apply', () => {
  it('plans (exit 2), applies (0), then has nothing to do (0), keeping the board and what epctl made', async () => {
    const dir = await tmp();
    const state = path.join(dir, 'board.json');
    const board = ['--mock', 'qemu-virt', '--mock-state', state];
    const plan = await epctl(['plan', ...board, '-c', EXAMPLE_VNTB]);
    expect(plan.exitCode).toBe(2);
    expect(plan.stdout).toMatch(/^ {2}\+ mkdir functions\/pci_epf_vntb\/func1$/m);
    expect(plan.stdout).toMatch(/^ {2}~ echo 1 > functions\/pci_epf_vntb\/func1\/<type-group>\/num_mws$/m);
    expect(plan.stdout).toMatch(/^ {2}\+ ln -s controllers\/7e000000\.pcie-ep functions\/pci_epf_vntb\/func1\/primary\/7e000000\.pcie-ep$/m);
    expect(plan.stdout).toMatch(/^13 operations: 2 to add, 11 to change, 0 to remove$/m);

    const applied = await epctl(['apply', ...board, '-c', EXAMPLE_VNTB]);
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/^applied: 13 operations, every write read back$/m);
    const owned = JSON.parse(await fs.readFile(`${state}.epctl-state.json`, 'utf8'));
    expect(owned).toEqual({ format: 'epctl-state', version: 1, board: 'mock:qemu-virt', functions: ['pci_epf_vntb/func1'] });

    for (const verb of ['plan', 'apply']) {
      const again = await epctl([verb, ...board, '-c', EXAMPLE_VNTB]);
      expect(again.exitCode).toBe(0);
      expect(again.stdout).toMatch(/nothing to do: the board matches the config/);
    }
    const status = JSON.parse((await epctl(['status', ...board, '--json'])).stdout);
    expect(status.pciEp.functions[0]).toMatchObject({ driver: 'pci_epf_vntb', name: 'func1', primary: '7e000000.pcie-ep' });
    expect(status.pciEp.controllers[0].files.start).toEqual({ text: '1\n' });
    // status says what epctl made, from the same record apply keeps.
    expect(status.ownership).toEqual({ stateFile: `${state}.epctl-state.json`, functions: ['pci_epf_vntb/func1'] });
    expect((await epctl(['status', ...board])).stdout).toMatch(/^function pci_epf_vntb\/func1 .*\(made by epctl\)$/m);
  });

  it('prints the apply as JSON for a script, with every operation done', async () => {
    const r = await epctl(['apply', '--mock', 'qemu-virt', '-c', EXAMPLE_TEST, '--json']);
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.ok).toBe(true);
    expect(out.done.map((d: { op: { kind: string } }) => d.op.kind)).toEqual(['mkdir', 'write', 'write', 'write', 'write', 'link', 'start']);
    expect(out.kernelLog.length).toBeGreaterThan(0);
  });

  it('refuses a config the board cannot take with the reason and the fix, changing nothing (exit 1)', async () => {
    const dir = await tmp();
    const state = path.join(dir, 'board.json');
    const r = await epctl(['apply', '--mock', 'imx95', '--mock-state', state, '-c', EXAMPLE_TEST]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/error: functions\.0\.controller: "auto" needs exactly one endpoint controller and the board has 2: 4c300000\.pcie-ep, 4c380000\.pcie-ep\n {2}fix: name the controller/);
    expect(r.stdout).toMatch(/nothing was changed/);
    const status = JSON.parse((await epctl(['status', '--mock', 'imx95', '--mock-state', state, '--json'])).stdout);
    expect(status.pciEp.functions).toEqual([]);
    expect(noStackTrace(r)).toBe(true);
  });

  it('a bad config file is exit 65 before the board is opened', async () => {
    const dir = await tmp();
    const file = path.join(dir, 'bad.yaml');
    await fs.writeFile(file, 'version: 1\nfunctions:\n  - { driver: pci_epf_test, name: f, msi_interrupts: 64 }\n');
    const state = path.join(dir, 'board.json');
    const r = await epctl(['apply', '--mock', 'qemu-virt', '--mock-state', state, '-c', file]);
    expect(r.exitCode).toBe(65);
    expect(r.stderr).toMatch(/bad\.yaml:3:\d+: functions\.0\.msi_interrupts: /);
    await expect(fs.access(state)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses to change a recording, and plans against one', async () => {
    const root = fixtureArchive('imx95');
    const apply = await epctl(['apply', '--root', root, '-c', EXAMPLE_TEST]);
    expect(apply.exitCode).toBe(64);
    expect(apply.stderr).toMatch(/is a recording: `epctl apply` changes a board/);
    const plan = await epctl(['plan', '--root', root, '-c', EXAMPLE_TEST]);
    expect(plan.exitCode).toBe(1);
    expect(plan.stdout).toMatch(/"auto" needs exactly one endpoint controller/);
    expect(noStackTrace(plan)).toBe(true);
  });
});

describe('save, clear, apply', () => {
  it('round-trips: save → clear → apply restores the board, and the saved YAML keeps the comments', async () => {
    const dir = await tmp();
    const state = path.join(dir, 'board.json');
    const board = ['--mock', 'qemu-virt', '--mock-state', state];
    expect((await epctl(['apply', ...board, '-c', EXAMPLE_VNTB])).exitCode).toBe(0);
    const before = JSON.parse((await epctl(['status', ...board, '--json'])).stdout).pciEp;
    const saved = path.join(dir, 'saved.yaml');
    await fs.copyFile(EXAMPLE_VNTB, saved);
    const save = await epctl(['save', ...board, saved]);
    expect(save.exitCode, save.stderr).toBe(0);
    const text = await fs.readFile(saved, 'utf8');
    expect(text).toMatch(/^# The vNTB function of Documentation\/PCI\/endpoint\/pci-vntb-howto\.rst/);
    expect(text).toMatch(/^ {4}doorbell: true$/m);
    expect(await fs.readFile(`${saved}.1`, 'utf8')).toBe(await fs.readFile(EXAMPLE_VNTB, 'utf8'));

    const clear = await epctl(['clear', ...board]);
    expect(clear.exitCode, clear.stdout).toBe(0);
    expect(JSON.parse((await epctl(['status', ...board, '--json'])).stdout).pciEp.functions).toEqual([]);

    expect((await epctl(['apply', ...board, '-c', saved])).exitCode).toBe(0);
    const after = JSON.parse((await epctl(['status', ...board, '--json'])).stdout).pciEp;
    // The EPF device is new (its index may differ in the type group's name); the rest is identical.
    const strip = (s: unknown) => JSON.parse(JSON.stringify(s).replace(/pci_epf_vntb\.\d+/g, 'pci_epf_vntb.N'));
    expect(strip(after)).toEqual(strip(before));
  });

  it('clear leaves a function epctl did not make, and --all removes it', async () => {
    const dir = await tmp();
    const state = path.join(dir, 'board.json');
    const board = ['--mock', 'qemu-virt', '--mock-state', state];
    // A function someone made by hand: saved and re-applied under another state file.
    const other = ['--mock', 'qemu-virt', '--mock-state', state, '--state', path.join(dir, 'someone-else.json')];
    expect((await epctl(['apply', ...other, '-c', EXAMPLE_TEST])).exitCode).toBe(0);
    const clear = await epctl(['clear', ...board]);
    expect(clear.exitCode).toBe(0);
    expect(clear.stdout).toMatch(/note: pci_epf_test\/func1: left alone: epctl did not make it/);
    expect(JSON.parse((await epctl(['status', ...board, '--json'])).stdout).pciEp.functions).toHaveLength(1);
    const all = await epctl(['clear', ...board, '--all']);
    expect(all.exitCode).toBe(0);
    expect(all.stdout).toMatch(/- rmdir functions\/pci_epf_test\/func1/);
    expect(JSON.parse((await epctl(['status', ...board, '--json'])).stdout).pciEp.functions).toEqual([]);
  });
});

describe('one epctl at a time', () => {
  it('fails naming the live holder of the lock, and takes over a dead one', async () => {
    const dir = await tmp();
    const state = path.join(dir, 'board.json');
    const lock = `${state}.lock`;
    const os = await import('node:os');
    await fs.writeFile(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), command: 'apply', since: '2026-11-30T00:00:00.000Z' }));
    const busy = await epctl(['apply', '--mock', 'qemu-virt', '--mock-state', state, '-c', EXAMPLE_TEST]);
    expect(busy.exitCode).toBe(1);
    expect(busy.stderr).toContain(`another epctl (pid ${process.pid} on ${os.hostname()}, \`epctl apply\`, since 2026-11-30T00:00:00.000Z) is changing this board`);
    expect(busy.stderr).toMatch(/fix: wait for it, or give --wait SECONDS/);

    // A holder that died (no such pid) leaves a stale lock: the next run takes it.
    await fs.writeFile(lock, JSON.stringify({ pid: 2 ** 22 + 1, host: os.hostname(), command: 'apply', since: '2026-11-30T00:00:00.000Z' }));
    const r = await epctl(['apply', '--mock', 'qemu-virt', '--mock-state', state, '-c', EXAMPLE_TEST]);
    expect(r.exitCode, r.stderr).toBe(0);
    await expect(fs.access(lock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('two applies at once on one simulated board both land, even with separate ownership records: the lock is the board\'s and covers reading and saving it', async () => {
    const dir = await tmp();
    const state = path.join(dir, 'board.json');
    const runs = await Promise.all(
      [
        ['fa', 'pci_epf_test', 'msi_interrupts: 1'],
        ['vb', 'pci_epf_vntb', 'type: { db_count: 4 }'],
      ].map(async ([name, driver, attr]) => {
        const c = path.join(dir, `${name}.yaml`);
        await fs.writeFile(c, `version: 1\nfunctions:\n  - { driver: ${driver}, name: ${name}, ${attr} }\n`);
        return epctl(['apply', '--mock', 'qemu-virt', '--mock-state', state, '--state', path.join(dir, `${name}.owned.json`), '-c', c, '--wait', '30'], { timeout: 60_000 });
      }),
    );
    for (const r of runs) expect(r.exitCode, r.stderr).toBe(0);
    const fns = JSON.parse((await epctl(['status', '--mock', 'qemu-virt', '--mock-state', state, '--json'])).stdout).pciEp.functions.map((f: { name: string }) => f.name);
    // Each run leaves the other's function alone (it is not in its record): neither is lost.
    expect(fns.sort()).toEqual(['fa', 'vb']);
  });

  it('refuses a --wait that is not a number of seconds', async () => {
    const r = await epctl(['apply', '--mock', 'qemu-virt', '-c', EXAMPLE_TEST, '--wait', 'soon']);
    expect(r.exitCode).toBe(64);
    expect(r.stderr).toMatch(/--wait "soon" is not a number of seconds/);
  });
});
