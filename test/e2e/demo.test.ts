// The README's first command (`npm run demo`, scripts/demo.mjs): probe, apply a vNTB config with
// doorbells, the simulated host rings them, doorbell status shows the virqs and exact counts; it
// leaves nothing behind.
import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import { sandbox } from '../helpers/cli.js';

describe('npm run demo', () => {
  it('shows a doorbell work on the simulated i.MX95: four virqs, each rung exactly 3 times, ready; its temp dir removed', async () => {
    const box = await sandbox();
    try {
      const r = await execa(process.execPath, ['scripts/demo.mjs'], { reject: false, env: { NO_COLOR: '1', ...box.env }, timeout: 60_000 });
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const out = String(r.stdout);
      expect(out).toMatch(/^\$ epctl probe --mock imx95$/m);
      expect(out).toMatch(/^4c300000\.pcie-ep\s+\/soc\/pcie-ep@4c300000\s+okay\s+imx6q-pcie\s+0\s+yes$/m);
      expect(out).toMatch(/^applied: \d+ operations, every write read back$/m);
      expect(out.match(/^ {2}doorbell \d: write 0x0000000\d at offset 0x00000040, rang 3×, \/proc\/interrupts count 3$/gm)).toHaveLength(4);
      const rows = out.match(/^ {4}\d+\s+[0-3]\s+ITS-pMSI-4c300000\.pcie-ep\s+3( 0){5}\s+3\s+pci_epf_vntb_db$/gm);
      expect(rows).toHaveLength(4);
      expect(out).toMatch(/function pci_epf_vntb\/func1 {2}mode its {2}ready/);
      expect(out).toMatch(/^ready: every doorbell function is ready$/m);
      expect(await box.leftInTmp()).toEqual([]);
    } finally {
      await box.dispose();
    }
  });
});

describe('npm run demo, interrupted', () => {
  it('stops after the running step on SIGINT, exits 130, and removes its temp dir', async () => {
    const box = await sandbox();
    try {
      const child = execa(process.execPath, ['scripts/demo.mjs'], { reject: false, env: { NO_COLOR: '1', ...box.env }, timeout: 60_000 });
      // Once the first step has printed, interrupt.
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
      child.kill('SIGINT');
      const r = await child;
      expect(r.exitCode).toBe(130);
      expect(await box.leftInTmp()).toEqual([]);
    } finally {
      await box.dispose();
    }
  });
});
