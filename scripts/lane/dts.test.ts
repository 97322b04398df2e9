import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../test/helpers/tmp.js';
import { DT_VARIANTS, editDts, labelIts, variantControllers } from './dts.js';

const tmp = tempDirs('epctl-dts');

// The shape of `qemu-system-aarch64 -M virt,gic-version=3,its=on,dumpdtb=… -smp 1`, decompiled, trimmed.
const QEMU_DTS = `/dts-v1/;

/ {
\tinterrupt-parent = <0x8002>;
\t#size-cells = <0x02>;
\t#address-cells = <0x02>;
\tcompatible = "linux,dummy-virt";

\tmemory@40000000 {
\t\treg = <0x00 0x40000000 0x00 0x40000000>;
\t\tdevice_type = "memory";
\t};

\tintc@8000000 {
\t\tphandle = <0x8002>;
\t\treg = <0x00 0x8000000 0x00 0x10000 0x00 0x80a0000 0x00 0xf60000>;
\t\tcompatible = "arm,gic-v3";
\t\tranges;
\t\t#size-cells = <0x02>;
\t\t#address-cells = <0x02>;
\t\tinterrupt-controller;
\t\t#interrupt-cells = <0x03>;

\t\tits@8080000 {
\t\t\tphandle = <0x8003>;
\t\t\treg = <0x00 0x8080000 0x00 0x20000>;
\t\t\t#msi-cells = <0x01>;
\t\t\tmsi-controller;
\t\t\tcompatible = "arm,gic-v3-its";
\t\t};
\t};

\tchosen {
\t\tstdout-path = "/pl011@9000000";
\t\trng-seed = <0x7578b4e0 0x5237a91c>;
\t\tkaslr-seed = <0x5a7bb92d 0xdd7becb1>;
\t};
};
`;

describe('the device-tree variants', () => {
  it('labels the one ITS node and refuses a tree without one', () => {
    expect(labelIts(QEMU_DTS)).toContain('\t\tits: its@8080000 {');
    expect(() => labelIts(QEMU_DTS.replace('its@8080000', 'foo@8080000'))).toThrow(/expected one its@… node.*found 0/);
  });

  it('each variant carries its MSI wiring on the EP node and drops QEMU\'s random seeds', () => {
    const map = editDts(QEMU_DTS, 'msi-map');
    expect(map).toContain('msi-map = <0x0 &its 0x0 0x1>;');
    expect(map).toContain('fake_epc_ram: fake-epc@7e000000 {');
    expect(map).toContain('reg = <0x00 0x7e000000 0x00 0x2000000>;');
    expect(map).not.toMatch(/rng-seed|kaslr-seed/);
    expect(editDts(QEMU_DTS, 'msi-parent')).toContain('msi-parent = <&its 0x0>;');
    expect(editDts(QEMU_DTS, 'no-msi')).not.toMatch(/msi-(map|parent) =/);
    const two = editDts(QEMU_DTS, 'two-epc');
    expect(two).toContain('pcie-ep@7c000000 {');
    expect(two).toContain('reg = <0x00 0x7c000000 0x00 0x4000000>;');
    expect(variantControllers('two-epc')).toEqual(['7e000000.pcie-ep', '7c000000.pcie-ep']);
  });

  it('the EP nodes go inside the root node, after everything QEMU wrote', () => {
    const out = editDts(QEMU_DTS, 'no-msi');
    expect(out.indexOf('pcie-ep@7e000000')).toBeGreaterThan(out.indexOf('chosen {'));
    expect(out.trimEnd()).toMatch(/\t};\n};$/);
  });

  const haveDtc = (() => {
    try {
      execFileSync('dtc', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  it.runIf(haveDtc)('every variant compiles with dtc -@ and resolves &its to the ITS phandle', async () => {
    const dir = await tmp();
    for (const v of DT_VARIANTS) {
      const src = path.join(dir, `${v}.dts`);
      const dtb = path.join(dir, `${v}.dtb`);
      fs.writeFileSync(src, editDts(QEMU_DTS, v));
      execFileSync('dtc', ['-q', '-@', '-I', 'dts', '-O', 'dtb', '-o', dtb, src]);
      const back = execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts', dtb], { encoding: 'utf8' });
      expect(back).toContain('its = "/intc@8000000/its@8080000";');
      if (v === 'msi-map') expect(back).toContain('msi-map = <0x00 0x8003 0x00 0x01>;');
    }
  });
});
