// A real-sized board for benchmarks: the rk3588-msi-map profile (doorbell-capable, so probe
// follows msi-map to the ITS, reads the RC sibling and looks for idle EP nodes) with its device
// tree padded to about a thousand nodes of about ten properties, shaped like an upstream RK3588
// tree: a few hundred devices at the root (compatible pair, reg, interrupts, clocks, resets,
// power domain, pinctrl, status, a phandle on every other one, a label each, so /__symbols__ is
// as long as dtc -@ makes it) and a pinctrl node with groups of pin configurations. The board is
// recorded with `epctl snapshot`'s own code from the fake kernel, then its device tree and
// /sys/firmware/fdt are written straight from the padded tree (what the fake would show, in a
// second instead of half a minute of copying through the fake).
import fs from 'node:fs/promises';
import os from 'node:os';
import nodePath from 'node:path';
import { rk3588MsiMap } from '../../src/boards/rk3588.js';
import type { BoardProfile } from '../../src/boards/types.js';
import { cells, flatten, node, str, type DtNodeSpec } from '../../src/devicetree/spec.js';
import { encodeFdt } from '../../src/devicetree/fdt-encode.js';
import { FDT_PATH } from '../../src/devicetree/fdt.js';
import { DT_BASE } from '../../src/devicetree/tree.js';
import { createFakeKernel } from '../../src/fake/index.js';
import { snapshot } from '../../src/snapshot/record.js';

const DEVICES = ['i2c', 'spi', 'serial', 'mmc', 'usb', 'pwm', 'watchdog', 'dma-controller', 'video-codec', 'iommu', 'syscon', 'clock-controller'];

/** The profile's tree with `devices` root-level devices and `groups` × `pins` pinctrl nodes added. */
export function paddedRk3588(devices = 300, groups = 140, pins = 4): BoardProfile {
  const base = rk3588MsiMap;
  const children: Record<string, DtNodeSpec> = { ...base.dt.children };
  let phandle = 0x1000;
  for (let i = 0; i < devices; i++) {
    const kind = DEVICES[i % DEVICES.length]!;
    const addr = 0xf0000000 + i * 0x10000;
    children[`${kind}@${addr.toString(16)}`] = node(
      {
        compatible: str(`rockchip,rk3588-${kind}`, `rockchip,rk3399-${kind}`),
        reg: cells(0, addr, 0, 0x10000),
        interrupts: cells(0, 100 + i, 4, 0),
        clocks: cells(0x10, i, 0x10, i + 1),
        'clock-names': str('baudclk', 'apb_pclk'),
        resets: cells(0x10, i),
        'power-domains': cells(0x11, i % 40),
        'pinctrl-names': str('default'),
        'pinctrl-0': cells(0x2000 + (i % (groups * pins))),
        status: str(i % 3 === 0 ? 'disabled' : 'okay'),
        ...(i % 2 === 0 ? { phandle: cells(phandle++) } : {}),
      },
      {},
      `dev${i}`,
    );
  }
  const pinctrl: Record<string, DtNodeSpec> = {};
  let pin = 0x2000;
  for (let g = 0; g < groups; g++) {
    const group: Record<string, DtNodeSpec> = {};
    for (let p = 0; p < pins; p++)
      group[`pin${g}-${p}`] = node(
        {
          'rockchip,pins': cells(g % 5, p, 1, 0x3000),
          'bias-pull-up': { kind: 'empty' },
          'drive-strength': cells(8),
          'input-schmitt-enable': { kind: 'empty' },
          'slew-rate': cells(1),
          'output-low': { kind: 'empty' },
          'power-source': cells(1800),
          function: str(`func${g}`),
          phandle: cells(pin++),
        },
        {},
        `pin${g}_${p}`,
      );
    pinctrl[`group${g}`] = node({ 'rockchip,grf': cells(0x12), 'pinctrl-single,register-width': cells(32) }, group);
  }
  children['pinctrl'] = node({ compatible: str('rockchip,rk3588-pinctrl'), ranges: { kind: 'empty' }, '#address-cells': cells(2), '#size-cells': cells(2) }, pinctrl, 'pinctrl');
  return { ...base, name: 'rk3588-1000-nodes', dt: { ...base.dt, children } };
}

/** Node and property counts of a profile's tree (for the benchmark's detail line). */
export function treeSize(spec: DtNodeSpec): { nodes: number; properties: number } {
  let nodes = 0;
  let properties = 0;
  const walk = (n: DtNodeSpec): void => {
    nodes++;
    properties += Object.keys(n.props).length + 1; // + the kernel's `name`
    for (const c of Object.values(n.children)) walk(c);
  };
  walk(spec);
  return { nodes, properties };
}

/**
 * Records the padded board into a new temporary directory twice: `withFdt` as the fake kernel
 * shows it, `withoutFdt` the same minus /sys/firmware/fdt. `remove()` deletes both.
 */
export async function recordBigBoard(profile = paddedRk3588()): Promise<{ withFdt: string; withoutFdt: string; remove: () => Promise<void> }> {
  const tmp = await fs.mkdtemp(nodePath.join(os.tmpdir(), 'epctl-bench-'));
  const remove = () => fs.rm(tmp, { recursive: true, force: true });
  try {
    const withFdt = nodePath.join(tmp, 'fdt');
    const withoutFdt = nodePath.join(tmp, 'no-fdt');
    const flat = flatten(profile.dt, { symbols: profile.dtSymbols ?? false });
    for (const dir of [withFdt, withoutFdt]) {
      await snapshot(createFakeKernel({ board: { ...profile, dt: rk3588MsiMap.dt } }), dir);
      const base = nodePath.join(dir, DT_BASE);
      await fs.rm(base, { recursive: true });
      for (const n of flat.nodes) await fs.mkdir(base + n, { recursive: true });
      for (let i = 0; i < flat.properties.length; i += 256)
        await Promise.all(flat.properties.slice(i, i + 256).map((p) => fs.writeFile(`${base}${p.node}/${p.name}`, p.bytes, { mode: 0o444 })));
    }
    await fs.writeFile(nodePath.join(withFdt, FDT_PATH), encodeFdt(flat), { mode: 0o400 });
    await fs.rm(nodePath.join(withoutFdt, FDT_PATH));
    return { withFdt, withoutFdt, remove };
  } catch (e) {
    await remove();
    throw e;
  }
}
