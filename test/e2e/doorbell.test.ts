// `epctl doorbell status` as a person and a script run it: the report, its JSON, --wait-ready's
// exit codes (0 ready, 75 timed out with the reasons), a wait that an apply in another process
// satisfies, the usage refusals, and `epctl status` showing readiness and the link.
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import fs from 'node:fs/promises';
import { epctl, isOneLineRefusal, noStackTrace } from '../helpers/cli.js';
import { tempDirs } from '../helpers/tmp.js';
import { EXIT } from '../../src/exit-codes.js';

const tmp = tempDirs('epctl-doorbell', { each: true });
const EXAMPLE_VNTB = path.resolve('examples/pci-epf-vntb.yaml');

describe('epctl doorbell status', () => {
  it('reports a fresh board: no doorbell function, exit 0, the DesignWare link state', async () => {
    const r = await epctl(['doorbell', 'status', '--mock', 'imx95']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^controller 4c300000\.pcie-ep {2}start 0 {2}doorbell yes$/m);
    expect(r.stdout).toMatch(/^ {2}link: DETECT_QUIET \(0x00\): no link/m);
    expect(r.stdout).toMatch(/^ready: no$/m);
    expect(r.stderr).toBe('');
  });

  it('after apply of the vNTB how-to: ready, 16 doorbells in the JSON; --wait-ready exits 0 at once', async () => {
    const dir = await tmp();
    const board = ['--mock', 'qemu-virt', '--mock-state', path.join(dir, 'board.json')];
    expect((await epctl(['apply', ...board, '-c', EXAMPLE_VNTB])).exitCode).toBe(0);
    const r = await epctl(['doorbell', 'status', ...board, '--json', '--wait-ready', '--timeout', '5']);
    expect(r.exitCode, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ ready: true, waiting: [], controllers: [{ name: '7e000000.pcie-ep', functions: [{ function: 'pci_epf_vntb/func1', mode: 'its', ready: true, expected: 16 }] }] });
    expect(s.controllers[0].functions[0].irqs).toHaveLength(16);
    const human = await epctl(['doorbell', 'status', ...board]);
    expect(human.stdout).toMatch(/^ {2}function pci_epf_vntb\/func1 {2}mode its {2}ready {2}\(16\/16 doorbell irqs now\)$/m);
    expect(human.stdout).toMatch(/^ {4}IRQ +INDEX +CHIP +PER-CPU +TOTAL +ACTION$/m);
    expect(human.stdout).toContain('modprobe ntb_hw_epf');

    // epctl status shows the same readiness per function, and the link per controller.
    const st = JSON.parse((await epctl(['status', ...board, '--json'])).stdout);
    expect(st.readiness['pci_epf_vntb/func1']).toMatchObject({ ready: true, mode: 'its' });
    expect(st.links['7e000000.pcie-ep']).toMatchObject({ available: false, why: 'no-ltssm-file' });
    expect((await epctl(['status', ...board])).stdout).toMatch(/^ {2}doorbell: its, ready: all 16 doorbells/m);
  });

  it('--wait-ready on the polled fallback times out with exit 75 and says why', async () => {
    const dir = await tmp();
    const board = ['--mock', 'qemu-virt-msi-parent', '--mock-state', path.join(dir, 'board.json')];
    const config = path.join(dir, 'vntb.yaml');
    await fs.writeFile(config, (await fs.readFile(EXAMPLE_VNTB, 'utf8')).replace(/^ {4}doorbell: true\n/m, ''));
    expect((await epctl(['apply', ...board, '-c', config])).exitCode).toBe(0);
    const t0 = Date.now();
    const r = await epctl(['doorbell', 'status', ...board, '--wait-ready', '--timeout', '1.5', '--json']);
    expect(r.exitCode).toBe(EXIT.NOT_READY);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(JSON.parse(r.stdout)).toMatchObject({ ready: false, controllers: [{ functions: [{ mode: 'polled', ready: false }] }] });
    expect(r.stderr).toMatch(/^epctl: waiting for doorbells \(\d+ s left\):$/m);
    expect(r.stderr).toMatch(/^epctl: doorbells not ready after 1\.5 s:$/m);
    expect(r.stderr).toMatch(/pci_epf_vntb\/func1: bound to 7e000000\.pcie-ep, but .* fell back to polling/);
    expect(noStackTrace(r)).toBe(true);
  });

  it('--wait-ready waits for an apply made by another process meanwhile, then exits 0', async () => {
    const dir = await tmp();
    const board = ['--mock', 'qemu-virt', '--mock-state', path.join(dir, 'board.json')];
    const waiting = epctl(['doorbell', 'status', ...board, '--wait-ready', '--timeout', '20'], { timeout: 30_000 });
    await new Promise((res) => setTimeout(res, 1200));
    expect((await epctl(['apply', ...board, '-c', EXAMPLE_VNTB, '--wait', '20'])).exitCode).toBe(0);
    const r = await waiting;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('no pci_epf_test or pci_epf_vntb function exists');
    expect(r.stdout).toMatch(/^ready: every doorbell function is ready$/m);
  });

  it('a recording keeps the link state: snapshot records ltssm_status, doorbell status --root reads it', async () => {
    const dir = await tmp();
    const rec = path.join(dir, 'rec');
    expect((await epctl(['snapshot', rec, '--mock', 'rk3588'])).exitCode).toBe(0);
    expect(await fs.readFile(path.join(rec, 'sys/kernel/debug/dwc_pcie_a40000000.pcie-ep/ltssm_status'), 'utf8')).toBe('DETECT_QUIET (0x00)\n');
    const s = JSON.parse((await epctl(['doorbell', 'status', '--root', rec, '--json'])).stdout);
    expect(s.controllers[0].link).toMatchObject({ available: true, state: 'DETECT_QUIET', linkUp: false });
  });

  it('refuses --timeout without --wait-ready and a --timeout that is not seconds (exit 64, one line and a fix)', async () => {
    const a = await epctl(['doorbell', 'status', '--mock', 'qemu-virt', '--timeout', '5']);
    expect(a.exitCode).toBe(EXIT.USAGE);
    expect(isOneLineRefusal(a)).toBe(true);
    expect(a.stderr).toContain('--timeout only applies with --wait-ready');
    for (const bad of ['soon', '-1', '1e3', '99999999']) {
      const b = await epctl(['doorbell', 'status', '--mock', 'qemu-virt', '--wait-ready', '--timeout', bad]);
      expect(b.exitCode, bad).toBe(EXIT.USAGE);
      expect(isOneLineRefusal(b)).toBe(true);
    }
  });
});
