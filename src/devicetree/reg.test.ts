import { describe, expect, it } from 'vitest';
import { dtPort } from '../../test/helpers/dt-port.js';
import { getBoard } from '../boards/index.js';
import { DtParseError } from './decode.js';
import { cells, flag, node, str } from './spec.js';
import { DeviceTree } from './tree.js';
import { cpuRegs, memoryMap, type CpuRange } from './reg.js';

const treeOf = (board: string): DeviceTree => {
  const b = getBoard(board);
  return new DeviceTree(dtPort(b.dt, { symbols: b.dtSymbols }));
};
const hex = (r: CpuRange): string => `${r.node}#${r.index}${r.name ? `(${r.name})` : ''} 0x${r.base.toString(16)}+0x${r.size.toString(16)} ${r.kind}`;

describe('cpuRegs on the board profiles', () => {
  it('qemu-virt: the ITS under the GIC (empty ranges) is at 0x08080000, 128 KiB', async () => {
    const r = await cpuRegs(treeOf('qemu-virt'), '/intc@8000000/its@8080000');
    expect(r.translatable).toBe(true);
    expect(r.ranges.map(hex)).toEqual(['/intc@8000000/its@8080000#0 0x8080000+0x20000 device']);
  });

  it('qemu-virt: /memory is RAM, the fake-epc carve-out is reserved, the EP names its entries', async () => {
    const t = treeOf('qemu-virt');
    expect((await cpuRegs(t, '/memory@40000000')).ranges.map(hex)).toEqual(['/memory@40000000#0 0x40000000+0x40000000 memory']);
    expect((await cpuRegs(t, '/reserved-memory/fake-epc@7e000000')).ranges.map(hex)).toEqual(['/reserved-memory/fake-epc@7e000000#0 0x7e000000+0x2000000 reserved']);
    expect((await cpuRegs(t, '/pcie-ep@7e000000')).ranges.map(hex)).toEqual([
      '/pcie-ep@7e000000#0(reg) 0x7e000000+0x1000000 device',
      '/pcie-ep@7e000000#1(mem) 0x7f000000+0x1000000 device',
    ]);
  });

  it('a reusable (CMA) reserved-memory region is marked so', async () => {
    const dt = node({ '#address-cells': cells(2), '#size-cells': cells(2) }, {
      'reserved-memory': node({ '#address-cells': cells(2), '#size-cells': cells(2), ranges: flag() }, {
        'linux,cma@90000000': node({ compatible: str('shared-dma-pool'), reusable: flag(), reg: cells(0, 0x90000000, 0, 0x1000000) }),
      }),
    });
    const r = await cpuRegs(new DeviceTree(dtPort(dt)), '/reserved-memory/linux,cma@90000000');
    expect(r.ranges).toEqual([{ node: '/reserved-memory/linux,cma@90000000', index: 0, name: undefined, base: 0x90000000n, size: 0x1000000n, kind: 'reserved', reusable: true }]);
  });

  it('qemu-virt: a cpu node is not CPU-addressable (/cpus has no ranges)', async () => {
    const r = await cpuRegs(treeOf('qemu-virt'), '/cpus/cpu@0');
    expect(r).toMatchObject({ translatable: false, bus: '/cpus' });
  });

  it('imx95: the EP entries through /soc (empty ranges), addr_space at 0x9_0000_0000', async () => {
    const r = await cpuRegs(treeOf('imx95'), '/soc/pcie-ep@4c300000');
    expect(r.ranges.map(hex)).toEqual([
      '/soc/pcie-ep@4c300000#0(dbi) 0x4c300000+0x10000 device',
      '/soc/pcie-ep@4c300000#1(atu) 0x4c360000+0x1000 device',
      '/soc/pcie-ep@4c300000#2(dbi2) 0x4c320000+0x1000 device',
      '/soc/pcie-ep@4c300000#3(app) 0x4c340000+0x2000 device',
      '/soc/pcie-ep@4c300000#4(dma) 0x4c370000+0x10000 device',
      '/soc/pcie-ep@4c300000#5(addr_space) 0x900000000+0x100000000 device',
    ]);
  });

  it('imx95: lpuart1 through aips1, a 1-cell bus mapped by a (1, 2, 1)-cell ranges', async () => {
    const r = await cpuRegs(treeOf('imx95'), '/soc/bus@44000000/serial@44380000');
    expect(r.ranges.map(hex)).toEqual(['/soc/bus@44000000/serial@44380000#0 0x44380000+0x1000 device']);
  });
});

describe('translation through non-identity ranges', () => {
  const dt = node({ '#address-cells': cells(2), '#size-cells': cells(2) }, {
    'bus@80000000': node(
      // child 0x0.. ↦ CPU 0x1_8000_0000, 16 MiB; child 0x2000000.. ↦ CPU 0x2000_0000, 4 KiB
      { '#address-cells': cells(1), '#size-cells': cells(1), ranges: cells(0x0, 0x1, 0x80000000, 0x1000000, 0x2000000, 0x0, 0x20000000, 0x1000) },
      {
        'dev@100': node({ reg: cells(0x100, 0x40, 0x2000800, 0x1000) }),
        'gap@5000000': node({ reg: cells(0x5000000, 0x10) }),
        'nested@10000': node({ '#address-cells': cells(1), '#size-cells': cells(1), ranges: cells(0x0, 0x10000, 0x1000) }, { 'x@20': node({ reg: cells(0x20, 0x8) }) }),
        'closed@0': node({ '#address-cells': cells(1), '#size-cells': cells(0) }, { 'y@1': node({ reg: cells(0x1) }) }),
      },
    ),
    'bad-ranges@0': node({ '#address-cells': cells(1), '#size-cells': cells(1), ranges: cells(0, 0, 0) }, { 'z@0': node({ reg: cells(0, 4) }) }),
    'bad-reg@0': node({ reg: cells(0, 0x1000, 0) }),
    'off@0': node({ reg: cells(0, 0x3000, 0, 0x10), status: str('disabled') }),
    'offbus@0': node({ '#address-cells': cells(2), '#size-cells': cells(2), ranges: flag(), status: str('disabled') }, { 'w@0': node({ reg: cells(0, 0x4000, 0, 0x10) }) }),
  });
  const tree = (): DeviceTree => new DeviceTree(dtPort(dt));

  it('maps each entry through the window holding it, cutting one that runs past the window', async () => {
    const r = await cpuRegs(tree(), '/bus@80000000/dev@100');
    // The second entry starts 0x800 into a 0x1000 window: only 0x800 bytes are on the bus.
    expect(r.ranges.map(hex)).toEqual(['/bus@80000000/dev@100#0 0x180000100+0x40 device', '/bus@80000000/dev@100#1 0x20000800+0x800 device']);
  });

  it('drops an entry no window covers, as of_translate_address gives OF_BAD_ADDR', async () => {
    expect((await cpuRegs(tree(), '/bus@80000000/gap@5000000')).ranges).toEqual([]);
  });

  it('translates through two levels', async () => {
    expect((await cpuRegs(tree(), '/bus@80000000/nested@10000/x@20')).ranges.map(hex)).toEqual(['/bus@80000000/nested@10000/x@20#0 0x180010020+0x8 device']);
  });

  it('a bus without ranges makes its children untranslatable', async () => {
    expect(await cpuRegs(tree(), '/bus@80000000/closed@0/y@1')).toMatchObject({ translatable: false, bus: '/bus@80000000/closed@0' });
  });

  it('malformed ranges and reg throw DtParseError naming the file', async () => {
    await expect(cpuRegs(tree(), '/bad-ranges@0/z@0')).rejects.toThrow(DtParseError);
    await expect(cpuRegs(tree(), '/bad-ranges@0/z@0')).rejects.toThrow(/bad-ranges@0\/ranges: 3 cells is not a whole number of \(1 child-address \+ 2 parent-address \+ 1 size\)-cell entries/);
    await expect(cpuRegs(tree(), '/bad-reg@0')).rejects.toThrow(/bad-reg@0\/reg: 3 cells/);
  });

  it('memoryMap: enabled nodes only (a disabled bus hides its children), bad nodes reported, not thrown', async () => {
    const map = await memoryMap(tree());
    const nodes = new Set(map.ranges.map((r) => r.node));
    expect(nodes.has('/off@0')).toBe(false);
    expect(nodes.has('/offbus@0/w@0')).toBe(false);
    expect(nodes.has('/bus@80000000/dev@100')).toBe(true);
    expect(map.problems.map((p) => p.path).sort()).toEqual(['/sys/firmware/devicetree/base/bad-ranges@0/ranges', '/sys/firmware/devicetree/base/bad-reg@0/reg']);
  });
});

describe('memoryMap on the board profiles', () => {
  it('qemu-virt: RAM, the carve-out, the GIC, the ITS, the UART, the EP; no cpu or PCI-child entries', async () => {
    const map = await memoryMap(treeOf('qemu-virt'));
    expect(map.problems).toEqual([]);
    expect(map.ranges.map(hex)).toEqual(
      expect.arrayContaining([
        '/memory@40000000#0 0x40000000+0x40000000 memory',
        '/intc@8000000#0 0x8000000+0x10000 device',
        '/intc@8000000/its@8080000#0 0x8080000+0x20000 device',
        '/reserved-memory/fake-epc@7e000000#0 0x7e000000+0x2000000 reserved',
        '/pcie-ep@7e000000#0(reg) 0x7e000000+0x1000000 device',
        '/pl011@9000000#0 0x9000000+0x1000 device',
      ]),
    );
    expect(map.ranges.some((r) => r.node.startsWith('/cpus'))).toBe(false);
  });

  it('imx95: the disabled RC nodes are left out, both EPs are in', async () => {
    const map = await memoryMap(treeOf('imx95'));
    const nodes = new Set(map.ranges.map((r) => r.node));
    expect(nodes.has('/soc/pcie@4c300000')).toBe(false);
    expect(nodes.has('/soc/pcie-ep@4c300000')).toBe(true);
    expect(nodes.has('/soc/pcie-ep@4c380000')).toBe(true);
  });

  // These profiles carry no /memory node (the bootloader adds it): only device ranges.
  it.each(['ls1028a', 'lx2160a', 'rk3588', 'imx8mp'])('%s: reads without problems and finds its endpoint controllers', async (board) => {
    const b = getBoard(board);
    const map = await memoryMap(treeOf(board));
    expect(map.problems).toEqual([]);
    for (const c of b.controllers) if (c.dtPath) expect(map.ranges.some((r) => r.node === c.dtPath), c.dtPath).toBe(true);
  });
});
