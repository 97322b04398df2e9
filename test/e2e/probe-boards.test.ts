// probe on every built-in board: the doorbell verdict each one must get (per its upstream DT), and
// the same answer from the recorded fixtures in test/fixtures/sysroot (--root).
import { describe, it, expect } from 'vitest';
import { createFakeKernel } from '../../src/fake/index.js';
import { SysrootKernel } from '../../src/kernel/sysroot.js';
import { probe, exitCodeOf, type BoardState } from '../../src/probe/probe.js';
import { BOARDS } from '../../src/boards/index.js';
import { VARIANTS } from '../../scripts/fixtures.js';
import { fixtureDir } from '../helpers/fixtures.js';

/**
 * board → per controller [capable, code]; the doorbell per upstream DT, on the
 * default 7.3.4 kernel, whose pci_epf_alloc_doorbell() falls back to the DesignWare eDMA's
 * embedded doorbell where the MSI path gives -ENODEV and the controller has eDMA registers
 * (pci-ep-msi.c, pcie-designware.c: i.MX95's "dma" reg, i.MX8MP's and RK3588's 1 MiB iATU
 * window; Layerscape has neither).
 */
const EXPECTED: Record<string, [boolean, string][]> = {
  imx95: [[true, 'capable'], [true, 'capable']],
  'imx95-v6.18': [[true, 'capable'], [true, 'embedded']],
  'imx95-vendor': [[true, 'capable'], [true, 'capable']],
  imx8mp: [[true, 'embedded']],
  ls1028a: [[false, 'no-msi-map'], [false, 'no-msi-map']],
  lx2160a: Array.from({ length: 6 }, () => [false, 'no-msi-map'] as [boolean, string]),
  rk3588: [[true, 'embedded']],
  'rk3588-msi-map': [[true, 'capable']],
  'qemu-virt': [[true, 'capable']],
  'qemu-virt-msi-parent': [[false, 'msi-parent-only']],
  'qemu-virt-no-msi': [[false, 'no-msi-map']],
};

const verdicts = (s: BoardState) => s.controllers.map((c) => [c.doorbell.capable, c.doorbell.code]);

describe('probe on every built-in board', () => {
  it('covers every board profile', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(Object.keys(BOARDS).sort());
  });

  for (const [board, expected] of Object.entries(EXPECTED)) {
    it(`gives ${board} the doorbell verdicts of its upstream DT`, async () => {
      const s = await probe(createFakeKernel({ board }));
      expect(verdicts(s)).toEqual(expected);
      expect(s.controllers.map((c) => c.name)).toEqual(BOARDS[board]!.controllers.map((c) => c.name).sort());
      expect(s.kernel.release).toBe(BOARDS[board]!.vendorKernel?.release ?? '7.3.4');
      expect(s.problems).toEqual([]);
      expect(exitCodeOf(s)).toBe(0);
      for (const c of s.controllers) {
        expect(c.doorbell.reason).toMatch(/\.$/);
        if (!c.doorbell.capable) expect(c.doorbell.reason.length).toBeGreaterThan(20);
      }
    });
  }

  it('says msi-parent alone is not enough and gives the msi-map fix (drivers/of/irq.c)', async () => {
    const [c] = (await probe(createFakeKernel({ board: 'qemu-virt-msi-parent' }))).controllers;
    expect(c!.doorbell.reason).toContain('msi-parent alone is not enough on mainline');
    expect(c!.doorbell.reason).toContain("Can't find MSI domain for EPC");
    expect(c!.doorbell.fix).toContain('msi-map = <0x0 &its 0x0 0x1>;');
  });

  it('warns that the i.MX95 v6.18 DT gives pcie0_ep the DeviceID of pcie1 (imx95.dtsi)', async () => {
    const [pcie0] = (await probe(createFakeKernel({ board: 'imx95-v6.18' }))).controllers;
    expect(pcie0!.doorbell.warnings.join(' ')).toMatch(/0x98.*0x10|0x10.*0x98/);
    expect(pcie0!.doorbell.fix).toContain('msi-map = <0x0 &its 0x10 0x1>;');
  });

  it('takes the RK3588 fix from the RC node: its1, DeviceID 0 (rk3588-extra.dtsi)', async () => {
    const [c] = (await probe(createFakeKernel({ board: 'rk3588' }))).controllers;
    expect(c!.doorbell.fix).toContain('msi-map = <0x0 &its1 0x0 0x1>;');
  });

  it('says "this SoC has no ITS" on the i.MX8MP, offers no DT fix, and on 7.3 names the embedded eDMA doorbell instead', async () => {
    const [c] = (await probe(createFakeKernel({ board: 'imx8mp' }))).controllers;
    expect(c!.doorbell).toMatchObject({ capable: true, mode: 'embedded' });
    expect(c!.doorbell.notes.join(' ')).toMatch(/no ITS/);
    expect(c!.doorbell.fix).toBeUndefined();
    // Linux 6.12 has neither the doorbell nor the fallback.
    const [old] = (await probe(createFakeKernel({ board: 'imx8mp', kernel: '6.12' }))).controllers;
    expect(old!.doorbell).toMatchObject({ capable: false, mode: 'none' });
  });

  it('gives the embedded verdict only where the kernel has the fallback (its symbol in /proc/kallsyms)', async () => {
    const [c] = (await probe(createFakeKernel({ board: 'imx8mp' }))).controllers;
    expect(c!.doorbell.code).toBe('embedded');
    // Layerscape: DesignWare, but no eDMA registers in its DT, so -ENODEV after the MSI failure.
    const ls = (await probe(createFakeKernel({ board: 'ls1028a' }))).controllers;
    expect(ls.map((x) => [x.doorbell.capable, x.doorbell.mode])).toEqual([[false, 'none'], [false, 'none']]);
    expect(ls[0]!.doorbell.notes.join(' ')).toContain('Failed to allocate doorbell: -19');
    // Cadence (QEMU lane): no auxiliary resources at all, -EOPNOTSUPP (observed 7.3.4: -95).
    const [q] = (await probe(createFakeKernel({ board: 'qemu-virt-no-msi' }))).controllers;
    expect(q!.doorbell.notes.join(' ')).toContain('Failed to allocate doorbell: -95');
  });

  it('says no doorbell on 6.12 and 6.1 kernels, whatever the DT (pci-ep-msi.c is v6.17+)', async () => {
    for (const kernel of ['6.1', '6.12']) {
      const [c] = (await probe(createFakeKernel({ board: 'qemu-virt', kernel }))).controllers;
      expect(c!.doorbell).toMatchObject({ capable: false, code: 'kernel-too-old' });
    }
  });

  it('says no when the kernel is built without CONFIG_PCI_ENDPOINT_MSI_DOORBELL', async () => {
    const [c] = (await probe(createFakeKernel({ board: 'qemu-virt', config: { PCI_ENDPOINT_MSI_DOORBELL: 'n' } }))).controllers;
    expect(c!.doorbell).toMatchObject({ capable: false, code: 'config-disabled' });
  });

  it('reports a device-tree file it may not read against that controller only, and still reports the rest (exit 7)', async () => {
    const k = createFakeKernel({ board: 'imx95' });
    const path = '/sys/firmware/devicetree/base/soc/pcie-ep@4c300000/msi-map';
    k.injectFault({ op: 'read', path, errno: 'EACCES' });
    const s = await probe(k);
    expect(exitCodeOf(s)).toBe(7);
    expect(s.problems).toEqual([expect.objectContaining({ code: 'unreadable-file', path, exitCode: 7 })]);
    expect(s.problems[0]!.message).toContain('permission denied');
    const [broken, other] = s.controllers;
    expect(broken).toMatchObject({ name: '4c300000.pcie-ep', doorbell: { capable: false, mode: 'unknown' } });
    expect(broken!.doorbell.reason).toContain(path);
    expect(other).toMatchObject({ name: '4c380000.pcie-ep', doorbell: { capable: true } });
  });

  it('reports the doorbell IRQs a linked vNTB function holds (observed in the QEMU lanes)', async () => {
    const k = createFakeKernel({ board: 'qemu-virt' });
    const fn = '/sys/kernel/config/pci_ep/functions/pci_epf_vntb/v';
    await k.mkdir(fn);
    await k.write(`${fn}/pci_epf_vntb.0/db_count`, '4');
    await k.symlink('/sys/kernel/config/pci_ep/controllers/7e000000.pcie-ep', `${fn}/primary/epc`);
    const [c] = (await probe(k)).controllers;
    // The lane boots virtio-rng on 15 and 16, so the doorbells start at 17 (observed 7.3.4 by the differential).
    expect(c!.doorbellIrqs).toEqual([0, 1, 2, 3].map((i) => ({ virq: 17 + i, hwirq: i, actions: ['pci_epf_vntb_db'], count: 0 })));
  });
});

describe('probe on the recorded fixtures (--root)', () => {
  for (const [name, opts] of Object.entries(VARIANTS)) {
    it(`reads test/fixtures/sysroot/${name}.tar.gz as the simulated board it was recorded from`, async () => {
      const live = await probe(createFakeKernel(opts));
      const recorded = await probe(new SysrootKernel(await fixtureDir(name)));
      expect(recorded.source.backend).toBe('sysroot');
      expect({ ...recorded, source: null }).toEqual({ ...live, source: null });
    });
  }
});
