// Every built-in board profile is checked against its own device tree: the controller facts
// the fake kernel publishes (EPC name, paths, max-functions, CPUs) must follow from the DT by
// the kernel's rules, not be typed in twice. Rules: drivers/of/device.c
// (naming), drivers/base/core.c (sysfs paths) and drivers/of/kobj.c (DT layout).
import { describe, expect, it } from 'vitest';
import { BOARDS, boardNames, getBoard } from './index.js';
import type { BoardProfile } from './types.js';
import { dmaCtrlBarOf } from './common.js';
import { dmaCtrlBar } from '../devicetree/dwc.js';
import { EpctlError } from '../kernel/errors.js';
import { createFakeKernel } from '../fake/index.js';
import { EXIT } from '../exit-codes.js';
import { flatten, type DtNodeSpec, type DtValue, type FlatTree } from '../devicetree/spec.js';

const profiles = Object.values(BOARDS);

/** Root-to-node chain of [full node name, spec] for a path such as /soc/pcie-ep@4c300000. */
function chain(root: DtNodeSpec, path: string): [string, DtNodeSpec][] | undefined {
  const out: [string, DtNodeSpec][] = [['', root]];
  let at = root;
  for (const part of path.split('/').filter(Boolean)) {
    const next = at.children[part];
    if (next === undefined) return undefined;
    out.push([part, next]);
    at = next;
  }
  return out;
}

function numbers(v: DtValue | undefined, what: string): number[] {
  if (v === undefined) return [];
  if (v.kind === 'empty') return [];
  if (v.kind !== 'cells') throw new Error(`${what} is not a cell list`);
  return v.cells.map((c) => {
    if (typeof c !== 'number') throw new Error(`${what} holds a phandle`);
    return c;
  });
}

const big = (cs: readonly number[]): bigint => cs.reduce((acc, c) => (acc << 32n) | BigInt(c >>> 0), 0n);
// Linux defaults when a bus omits them (OF_ROOT_NODE_ADDR_CELLS_DEFAULT etc.); our DTs set them.
const addrCells = (n: DtNodeSpec): number => numbers(n.props['#address-cells'], '#address-cells')[0] ?? 2;
const sizeCells = (n: DtNodeSpec): number => numbers(n.props['#size-cells'], '#size-cells')[0] ?? 1;

/**
 * The CPU address of a node's first reg entry, translated up through every parent bus's
 * `ranges` as of_address_to_resource() does; undefined when the node has no reg or a bus
 * on the way has no ranges (untranslatable).
 */
function firstRegAddress(nodes: [string, DtNodeSpec][]): bigint | undefined {
  const [, self] = nodes[nodes.length - 1]!;
  const parent = nodes[nodes.length - 2]![1];
  const reg = numbers(self.props['reg'], 'reg');
  if (reg.length === 0) return undefined;
  let addr = big(reg.slice(0, addrCells(parent)));
  for (let i = nodes.length - 2; i > 0; i--) {
    const bus = nodes[i]![1];
    const busParent = nodes[i - 1]![1];
    const ranges = bus.props['ranges'];
    if (ranges === undefined) return undefined;
    if (ranges.kind === 'empty') continue; // identity
    const [ca, pa, sz] = [addrCells(bus), addrCells(busParent), sizeCells(bus)];
    const r = numbers(ranges, 'ranges');
    let mapped: bigint | undefined;
    for (let o = 0; o + ca + pa + sz <= r.length; o += ca + pa + sz) {
      const child = big(r.slice(o, o + ca));
      const parentBase = big(r.slice(o + ca, o + ca + pa));
      const size = big(r.slice(o + ca + pa, o + ca + pa + sz));
      if (addr >= child && addr < child + size) mapped = addr - child + parentBase;
    }
    if (mapped === undefined) return undefined;
    addr = mapped;
  }
  return addr;
}

/** of_device_make_bus_id(): "%llx.%pOFn" from the translated first reg, else the full node name. */
function platformDeviceName(nodes: [string, DtNodeSpec][]): string {
  const [full] = nodes[nodes.length - 1]!;
  const addr = firstRegAddress(nodes);
  return addr === undefined ? full : `${addr.toString(16)}.${full.split('@')[0]}`;
}

function strings(v: DtValue | undefined): string[] {
  return v?.kind === 'strings' ? [...v.values] : [];
}

/** Every node of a spec with its path. */
function walk(n: DtNodeSpec, path = ''): [string, DtNodeSpec][] {
  return [[path, n], ...Object.entries(n.children).flatMap(([name, c]) => walk(c, `${path}/${name}`))];
}

/** The spec node a label names, through the flattened label table. */
function labelled(board: BoardProfile, tree: FlatTree, label: string): DtNodeSpec {
  const path = tree.labels[label];
  if (path === undefined) throw new Error(`no label ${label}`);
  const nodes = chain(board.dt, path);
  if (nodes === undefined) throw new Error(`no node ${path}`);
  return nodes[nodes.length - 1]![1];
}

function prop(tree: FlatTree, node: string, name: string): number[] | undefined {
  const p = tree.properties.find((q) => q.node === node && q.name === name);
  if (p === undefined) return undefined;
  const view = new DataView(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength);
  return Array.from({ length: p.bytes.length / 4 }, (_, i) => view.getUint32(i * 4, false));
}

describe.each(profiles.map((b) => [b.name, b] as const))('board profile %s', (_name, board) => {
  it('flattens with every &label reference resolved', () => {
    expect(() => flatten(board.dt, { symbols: board.dtSymbols })).not.toThrow();
  });

  it('declares as many CPUs as the DT has cpu@ nodes', () => {
    const cpus = board.dt.children['cpus'];
    expect(cpus).toBeDefined();
    expect(Object.keys(cpus!.children).filter((k) => k.startsWith('cpu@'))).toHaveLength(board.cpus);
  });

  it('has at least one controller', () => {
    expect(board.controllers.length).toBeGreaterThan(0);
  });

  describe.each(board.controllers.map((c) => [c.name, c] as const))('controller %s', (_epc, c) => {
    const nodes = chain(board.dt, c.dtPath);

    it('points at an enabled DT node whose compatible is an EP binding', () => {
      expect(nodes, c.dtPath).toBeDefined();
      const spec = nodes![nodes!.length - 1]![1];
      const status = strings(spec.props['status']);
      // A missing status means enabled (of_device_is_available).
      expect(status.length === 0 || status[0] === 'okay').toBe(true);
      expect(strings(spec.props['compatible'])[0]).toMatch(/-pcie-ep$/);
    });

    it('is named by the kernel rule "%llx.%pOFn" from the translated first reg (drivers/of/device.c)', () => {
      expect(c.name).toBe(platformDeviceName(nodes!));
    });

    it('lives under /sys/devices/platform along its DT bus devices (drivers/of/platform.c)', () => {
      const buses = nodes!.slice(1, -1).map((_, i) => platformDeviceName(nodes!.slice(0, i + 2)));
      expect(c.devicePath).toBe(['/sys/devices/platform', ...buses, c.name].join('/'));
    });

    it('reserves a DMA-register BAR exactly where the compatible says (devicetree/dwc.ts dmaCtrlBar)', () => {
      const spec = nodes![nodes!.length - 1]![1];
      const want = dmaCtrlBar(strings(spec.props['compatible']));
      expect(dmaCtrlBarOf(c.features)).toEqual(want);
      if (want) expect(c.features.bars[want.bar]!.type).toBe('reserved');
    });

    it('takes maxFunctions from the DT max-functions byte, default 1 (pci-ep.yaml)', () => {
      const v = nodes![nodes!.length - 1]![1].props['max-functions'];
      expect(c.maxFunctions).toBe(v?.kind === 'u8' ? v.values[0] : 1);
    });
  });

  it('points every msi-map and msi-parent at a node with msi-controller and #msi-cells = <1>', () => {
    const tree = flatten(board.dt, { symbols: board.dtSymbols });
    for (const [path, n] of walk(board.dt)) {
      for (const name of ['msi-map', 'msi-parent'] as const) {
        const v = n.props[name];
        if (v === undefined) continue;
        expect(v.kind, `${path} ${name}`).toBe('cells');
        if (v.kind !== 'cells') continue;
        const stride = name === 'msi-map' ? 4 : 2; // <id-base &its msi-base length> | <&its id>
        const at = name === 'msi-map' ? 1 : 0;
        expect(v.cells.length % stride, `${path} ${name}`).toBe(0);
        for (let i = at; i < v.cells.length; i += stride) {
          const target = v.cells[i];
          expect(typeof target, `${path} ${name}[${i}]`).toBe('object');
          const its = labelled(board, tree, (target as { ref: string }).ref);
          expect(its.props['msi-controller']?.kind).toBe('empty');
          expect(numbers(its.props['#msi-cells'], '#msi-cells')).toEqual([1]);
        }
      }
    }
  });

  it('enables ARM_GIC_V3_ITS exactly when the DT has an arm,gic-v3-its node', () => {
    const hasIts = walk(board.dt).some(([, n]) => strings(n.props['compatible']).includes('arm,gic-v3-its'));
    expect(board.kernelConfig['ARM_GIC_V3_ITS'] === 'y').toBe(hasIts);
  });

  it('lists each boot IRQ number once', () => {
    const irqs = board.irqs.map((i) => i.irq);
    expect(new Set(irqs).size).toBe(irqs.length);
  });
});

describe('board registry', () => {
  it('files every profile under its own name, names unique', () => {
    for (const [key, b] of Object.entries(BOARDS)) expect(b.name).toBe(key);
    const names = profiles.map((b) => b.name);
    expect(new Set(names).size).toBe(names.length);
    expect(boardNames()).toEqual(Object.keys(BOARDS));
  });

  it('returns a known board by name', () => {
    expect(getBoard('imx95')).toBe(BOARDS['imx95']);
  });

  it('refuses an unknown board with a usage error that lists the known ones', () => {
    let caught: unknown;
    try {
      getBoard('nope');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(EpctlError);
    const err = caught as EpctlError;
    expect(err.exitCode).toBe(EXIT.USAGE);
    expect(err.message).toBe(`unknown board "nope"; known boards: ${boardNames().join(', ')}`);
  });

  it('does not treat Object.prototype names as boards', () => {
    expect(() => getBoard('toString')).toThrow(EpctlError);
  });
});

// The doorbell-relevant DT facts, pinned to the upstream DTs and the QEMU lane.
describe('msi-map history', () => {
  const epMap = (board: string, path: string): number[] | undefined => {
    const b = getBoard(board);
    const tree = flatten(b.dt, { symbols: b.dtSymbols });
    return prop(tree, path, 'msi-map');
  };
  const phandle = (board: string, label: string): number => {
    const b = getBoard(board);
    const tree = flatten(b.dt, { symbols: b.dtSymbols });
    return prop(tree, tree.labels[label]!, 'phandle')![0]!;
  };

  it('imx95 carries the Oct-2025 fix: pcie0_ep → DeviceID 0x10, pcie1_ep → 0x98', () => {
    const its = phandle('imx95', 'its');
    expect(epMap('imx95', '/soc/pcie-ep@4c300000')).toEqual([0, its, 0x10, 1]);
    expect(epMap('imx95', '/soc/pcie-ep@4c380000')).toEqual([0, its, 0x98, 1]);
  });

  it('imx95-v6.18 has pcie1 map (0x98) on pcie0_ep and nothing on pcie1_ep', () => {
    const its = phandle('imx95-v6.18', 'its');
    expect(epMap('imx95-v6.18', '/soc/pcie-ep@4c300000')).toEqual([0, its, 0x98, 1]);
    expect(epMap('imx95-v6.18', '/soc/pcie-ep@4c380000')).toBeUndefined();
  });

  it('rk3588 reserves BAR4 for the eDMA registers (rk3588_bar4_rsvd: DMA_CTRL_MMIO at 0, 0x2000 bytes); rk3568-like BARs stay resizable', () => {
    for (const name of ['rk3588', 'rk3588-msi-map']) {
      const bars = getBoard(name).controllers[0]!.features.bars;
      expect(bars.map((b) => b.type)).toEqual(['resizable', 'resizable', 'resizable', 'resizable', 'reserved', 'resizable']);
      expect(bars[4]!.dmaCtrl).toEqual({ offset: 0, size: 0x2000 });
    }
  });

  it('rk3588 EP has no msi-map upstream; rk3588-msi-map maps IDs 0..0xfff to its1 like the RC', () => {
    expect(epMap('rk3588', '/pcie-ep@fe150000')).toBeUndefined();
    const its1 = phandle('rk3588-msi-map', 'its1');
    expect(epMap('rk3588-msi-map', '/pcie-ep@fe150000')).toEqual([0, its1, 0, 0x1000]);
    expect(epMap('rk3588-msi-map', '/pcie@fe150000')).toEqual([0, its1, 0, 0x1000]);
  });

  it('Layerscape EP nodes carry neither msi-map nor msi-parent', () => {
    for (const name of ['ls1028a', 'lx2160a']) {
      for (const c of getBoard(name).controllers) {
        const n = chain(getBoard(name).dt, c.dtPath)!.at(-1)![1];
        expect(n.props['msi-map']).toBeUndefined();
        expect(n.props['msi-parent']).toBeUndefined();
      }
    }
  });

  it('qemu-virt ITS has phandle 0x8003 and the EP maps ID 0 to DeviceID 0 (scripts/lane/dts.ts)', () => {
    expect(phandle('qemu-virt', 'its')).toBe(0x8003);
    expect(epMap('qemu-virt', '/pcie-ep@7e000000')).toEqual([0, 0x8003, 0, 1]);
    expect(epMap('qemu-virt', '/pcie@10000000')).toEqual([0, 0x8003, 0, 0x10000]);
    const b = getBoard('qemu-virt');
    expect(flatten(b.dt, { symbols: true }).labels['its']).toBe('/intc@8000000/its@8080000');
  });

  it('qemu-virt-msi-parent has only msi-parent = <&its 0>, qemu-virt-no-msi neither', () => {
    const parent = getBoard('qemu-virt-msi-parent');
    const t = flatten(parent.dt, { symbols: true });
    expect(prop(t, '/pcie-ep@7e000000', 'msi-parent')).toEqual([0x8003, 0]);
    expect(prop(t, '/pcie-ep@7e000000', 'msi-map')).toBeUndefined();
    const none = flatten(getBoard('qemu-virt-no-msi').dt, { symbols: true });
    expect(prop(none, '/pcie-ep@7e000000', 'msi-parent')).toBeUndefined();
    expect(prop(none, '/pcie-ep@7e000000', 'msi-map')).toBeUndefined();
  });
});

describe('qemu-virt boot state', () => {
  it('has exactly the /proc/interrupts rows of the lane 7.3.4 boot before any doorbell (seen by the differential)', () => {
    expect(getBoard('qemu-virt').irqs).toEqual([
      { irq: 11, chip: 'GICv3', hwirq: 27, trigger: 'Level', actions: ['arch_timer'], counts: [1125] },
      { irq: 13, chip: 'GICv3', hwirq: 33, trigger: 'Level', actions: ['uart-pl011'], counts: [0] },
      { irq: 15, chip: 'ITS-PCI-MSIX-0000:00:01.0', hwirq: 0, trigger: 'Edge', actions: ['virtio0-config'], counts: [0] },
      { irq: 16, chip: 'ITS-PCI-MSIX-0000:00:01.0', hwirq: 1, trigger: 'Edge', actions: ['virtio0-input'], counts: [5] },
    ]);
  });

  it('registers the EPF drivers the lane kernel builds (functions/ observed 7.3.4 by the differential)', () => {
    expect(getBoard('qemu-virt').functionDrivers).toEqual(['pci_epf_test', 'pci_epf_ntb', 'pci_epf_vntb', 'nvmet_pci_epf']);
  });

  it('names the RC 4010000000.pcie, as the lane logs it (observed 6.12)', () => {
    expect(platformDeviceName(chain(getBoard('qemu-virt').dt, '/pcie@10000000')!)).toBe('4010000000.pcie');
  });
});

describe('controller driver facts', () => {
  it('marks a controller DesignWare (dwc) exactly when its driver is one of drivers/pci/controller/dwc/ (doorbell/rules.ts DWC_EP_DRIVERS)', async () => {
    const { DWC_EP_DRIVERS } = await import('../doorbell/rules.js');
    for (const board of Object.values(BOARDS))
      for (const c of board.controllers) expect(c.dwc, `${board.name} ${c.name} (${c.driver})`).toBe((DWC_EP_DRIVERS as readonly string[]).includes(c.driver));
  });
});

describe('boards that can be NVMe endpoints (nvmet_pci_epf, 6.14+)', () => {
  for (const name of ['imx95', 'imx95-v6.18', 'rk3588', 'rk3588-msi-map']) {
    it(`${name} on its default kernel: modprobe nvmet_pci_epf and null_blk give the nvmet tree, the function group and /dev/nullb0`, async () => {
      const k = createFakeKernel({ board: name });
      expect(await k.readdir('/sys/kernel/config')).not.toContain('nvmet');
      await k.loadModule('nvmet_pci_epf');
      await k.loadModule('null_blk');
      expect(await k.readdir('/sys/kernel/config')).toContain('nvmet');
      expect(await k.readdir('/sys/kernel/config/pci_ep/functions')).toContain('nvmet_pci_epf');
      expect(await k.exists('/dev/nullb0')).toBe(true);
    });
  }

  it('not on a release without the driver (imx95-vendor, 6.6): modprobe nvmet_pci_epf is not found, null_blk still loads', async () => {
    const k = createFakeKernel({ board: 'imx95-vendor' });
    await expect(k.loadModule('nvmet_pci_epf')).rejects.toMatchObject({ code: 'ENOENT' });
    await k.loadModule('null_blk');
    expect(await k.exists('/dev/nullb0')).toBe(true);
  });
});
