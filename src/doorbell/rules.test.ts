import { describe, expect, it } from 'vitest';
import { dtPort } from '../../test/helpers/dt-port.js';
import { bytes, cells, flag, node, ref, str, type DtNodeSpec, type DtValue } from '../devicetree/spec.js';
import { DeviceTree, DuplicatePhandleError } from '../devicetree/tree.js';
import { parseRelease } from '../kernel/version.js';
import { doorbellVerdict, gatherDoorbellFacts, type DoorbellInput, type DoorbellVerdict } from './rules.js';
import { BOARDS } from '../boards/index.js';
import { createFakeKernel } from '../fake/index.js';
import { probe } from '../probe/probe.js';
import type { DoorbellImplementation } from '../procfs/kallsyms.js';

const its = (label: string, extra: Record<string, DtValue> = {}): DtNodeSpec =>
  node({ compatible: str('arm,gic-v3-its'), 'msi-controller': flag(), '#msi-cells': cells(1), ...extra }, {}, label);

/** imx95.dtsi (nxp-imx/linux-imx): i.MX95 with the vendor RC msi-maps; `ep0` are extra props of pcie0_ep. */
function imx95(ep0: Record<string, DtValue> = {}, opts: { itsStatus?: string } = {}): DtNodeSpec {
  return node({ compatible: str('fsl,imx95') }, {
    'interrupt-controller@48000000': node({ compatible: str('arm,gic-v3'), 'interrupt-controller': flag() }, {
      'msi-controller@48040000': its('its', opts.itsStatus ? { status: str(opts.itsStatus) } : {}),
    }),
    soc: node({ compatible: str('simple-bus') }, {
      'pcie@4c300000': node({ compatible: str('fsl,imx95-pcie'), 'msi-map': cells(0, ref('its'), 0x10, 1, 0x100, ref('its'), 0x11, 7), 'msi-map-mask': cells(0x1ff), status: str('disabled') }, {}, 'pcie0'),
      'pcie-ep@4c300000': node({ compatible: str('fsl,imx95-pcie-ep'), status: str('okay'), ...ep0 }, {}, 'pcie0_ep'),
      'pcie@4c380000': node({ compatible: str('fsl,imx95-pcie'), 'msi-map': cells(0, ref('its'), 0x98, 1, 0x100, ref('its'), 0x99, 7), 'msi-map-mask': cells(0x1ff) }, {}, 'pcie1'),
      'pcie-ep@4c380000': node({ compatible: str('fsl,imx95-pcie-ep'), status: str('disabled') }, {}, 'pcie1_ep'),
    }),
  });
}

/** rk3588-extra.dtsi: RK3588, EP node at root level, RC using its1; the GIC itself is an MBI controller. */
function rk3588(ep: Record<string, DtValue> = {}): DtNodeSpec {
  return node({ compatible: str('radxa,rock-5b', 'rockchip,rk3588') }, {
    'interrupt-controller@fe600000': node({ compatible: str('arm,gic-v3'), 'msi-controller': flag(), 'mbi-ranges': cells(424, 56) }, {
      'msi-controller@fe640000': its('its0'),
      'msi-controller@fe660000': its('its1'),
    }, 'gic'),
    'pcie@fe150000': node({ compatible: str('rockchip,rk3588-pcie', 'rockchip,rk3568-pcie'), 'msi-map': cells(0, ref('its1'), 0, 0x1000), status: str('disabled') }, {}, 'pcie3x4'),
    'pcie-ep@fe150000': node({ compatible: str('rockchip,rk3588-pcie-ep'), ...ep }, {}, 'pcie3x4_ep'),
  });
}

/** imx8mp.dtsi: i.MX8MP, GIC-v3 without an ITS. */
const imx8mp = node({}, {
  'interrupt-controller@38800000': node({ compatible: str('arm,gic-v3'), 'interrupt-controller': flag() }),
  'soc@0': node({ compatible: str('fsl,imx8mp-soc', 'simple-bus') }, {
    'pcie@33800000': node({ compatible: str('fsl,imx8mp-pcie') }),
    'pcie-ep@33800000': node({ compatible: str('fsl,imx8mp-pcie-ep') }, {}, 'pcie_ep'),
  }),
});

/** scripts/lane/dts.ts: QEMU virt, EP node at the root, no RC node beside it. */
function qemu(ep: Record<string, DtValue>): DtNodeSpec {
  return node({ compatible: str('linux,dummy-virt') }, {
    'intc@8000000': node({ compatible: str('arm,gic-v3') }, { 'its@8080000': its('its') }),
    'pcie@10000000': node({ compatible: str('pci-host-ecam-generic'), 'msi-map': cells(0, ref('its'), 0, 0x10000) }),
    'pcie-ep@7e000000': node({ compatible: str('cdns,cdns-pcie-ep'), ...ep }),
  });
}

async function verdict(
  spec: DtNodeSpec,
  path: string,
  opts: { release?: string | undefined; config?: 'y' | 'n' | undefined; symbols?: boolean; implementation?: DoorbellImplementation } = {},
): Promise<DoorbellVerdict & { input: DoorbellInput }> {
  const tree = new DeviceTree(dtPort(spec, { symbols: opts.symbols ?? true }));
  const facts = await gatherDoorbellFacts(tree, path);
  const release = 'release' in opts ? opts.release : '7.3.4';
  const input: DoorbellInput = {
    ...facts,
    kernel: release === undefined ? undefined : parseRelease(release),
    config: 'config' in opts ? opts.config : 'y',
    controller: '4c300000.pcie-ep',
    ...(opts.implementation ? { implementation: opts.implementation } : {}),
  };
  return { ...doorbellVerdict(input), input };
}

const EP = '/soc/pcie-ep@4c300000';
const RK_EP = '/pcie-ep@fe150000';
/** The rule as 7.3.4 words it (pci-ep-msi.c after the embedded-doorbell split). */
const FIRST_EPF = /^Only the first function linked to .* "Doorbell doesn't support multiple EPF"\.$/;

describe('doorbellVerdict: capable', () => {
  // imx95.dtsi: after the Oct-2025 fix pcie0_ep has msi-map = <0x0 &its 0x10 0x1>
  it('is capable when the EP node maps ID 0 to the ITS with the DeviceID its RC node uses', async () => {
    const v = await verdict(imx95({ 'msi-map': cells(0, ref('its'), 0x10, 1) }), EP);
    expect(v.capable).toBe(true);
    expect(v.code).toBe('capable');
    expect(v.reason).toBe('pcie-ep@4c300000 sends ID 0 to &its DeviceID 0x10 through its own msi-map, so the kernel can allocate doorbells for 4c300000.pcie-ep.');
    expect(v.warnings).toEqual([]);
    expect(v.fix).toBeUndefined();
  });

  // drivers/pci/endpoint/pci-ep-msi.c, first check
  it('always notes that only the first function linked to the controller can own doorbells', async () => {
    const v = await verdict(imx95({ 'msi-map': cells(0, ref('its'), 0x10, 1) }), EP);
    expect(v.notes.at(-1)).toMatch(FIRST_EPF);
    const no = await verdict(imx8mp, '/soc@0/pcie-ep@33800000');
    expect(no.notes.at(-1)).toMatch(FIRST_EPF);
    // v6.17 as merged words it with "MSI".
    const v617 = await verdict(imx95({ 'msi-map': cells(0, ref('its'), 0x10, 1) }), EP, { release: '6.17.3' });
    expect(v617.notes.at(-1)).toMatch(/"MSI doorbell doesn't support multiple EPF"\.$/);
  });

  // bbe4b2f7d6533: the v6.18 DT put pcie1's 0x98 on pcie0_ep
  it('warns that a host ring would never arrive when the EP DeviceID differs from the RC node\'s (i.MX95 v6.18 DT bug)', async () => {
    const v = await verdict(imx95({ 'msi-map': cells(0, ref('its'), 0x98, 1) }), EP);
    expect(v.capable).toBe(true);
    expect(v.warnings).toEqual([
      'pcie-ep@4c300000 gives the ITS DeviceID 0x98 but its RC node pcie@4c300000 uses 0x10 for requester ID 0: the kernel allocates the doorbell, but a host ring would never arrive (the i.MX95 DT of v6.18 put pcie1\'s 0x98 on pcie0_ep this way).',
    ]);
    expect(v.fix).toBe('&pcie0_ep {\n\tmsi-map = <0x0 &its 0x10 0x1>;\n};');
    // The allocation succeeds (capable), but the rings are lost: marked so no view says plain "yes".
    expect(v.ringLost).toBe(true);
  });

  // linux-pci, Niklas Cassel 2024: RK3588 with its0 instead of its1 gave no IRQ
  it('warns when the EP node uses another ITS than its RC node (RK3588 its0 instead of its1)', async () => {
    const v = await verdict(rk3588({ 'msi-map': cells(0, ref('its0'), 0, 1) }), RK_EP);
    expect(v.capable).toBe(true);
    expect(v.warnings[0]).toMatch(/sends ID 0 to &its0 but its RC node pcie@fe150000 uses &its1: the kernel allocates the doorbell, but a host ring would never arrive/);
    expect(v.fix).toBe('&pcie3x4_ep {\n\tmsi-map = <0x0 &its1 0x0 0x1>;\n};');
    expect(v.ringLost).toBe(true);
  });

  // linux-pci, v21 Tested-by: Niklas Cassel's tested msi-map = <0x0000 &its1 0x0000 0x1000>
  it('is capable on RK3588 with the RC\'s msi-map copied onto the EP node', async () => {
    const v = await verdict(rk3588({ 'msi-map': cells(0, ref('its1'), 0, 0x1000) }), RK_EP);
    expect(v).toMatchObject({ capable: true, code: 'capable', warnings: [] });
  });

  // drivers/irqchip/irq-gic-its-msi-parent.c: of_pmsi_get_dev_id reads msi-parent first
  it('warns when an msi-parent on the EP node overrides the DeviceID its msi-map gives', async () => {
    const v = await verdict(imx95({ 'msi-map': cells(0, ref('its'), 0x10, 1), 'msi-parent': cells(ref('its'), 0x10) }), EP);
    expect(v.capable).toBe(true);
    expect(v.warnings).toEqual([]);
    const w = await verdict(imx95({ 'msi-map': cells(0, ref('its'), 0x10, 1), 'msi-parent': cells(ref('its'), 0) }), EP);
    expect(w.warnings[0]).toBe('pcie-ep@4c300000 also has msi-parent naming the ITS, and the ITS takes the DeviceID from it (0x0), not from msi-map (0x10).');
    expect(w.fix).toBe('&pcie0_ep {\n\t/delete-property/ msi-parent;\n\tmsi-map = <0x0 &its 0x10 0x1>;\n};');
  });

  it('notes that the DeviceID cannot be checked when no RC node sits beside the EP node', async () => {
    const v = await verdict(qemu({ 'msi-map': cells(0, ref('its'), 0, 1) }), '/pcie-ep@7e000000');
    expect(v.capable).toBe(true);
    expect(v.notes[0]).toMatch(/found no RC node beside pcie-ep@7e000000 to check DeviceID 0x0 against/);
  });
});

describe('doorbellVerdict: kernel and config', () => {
  // 1c3b002c6bf6: pci-ep-msi.c landed in v6.17
  it('says no on a kernel older than 6.17, with the DT fix still given', async () => {
    const v = await verdict(rk3588(), RK_EP, { release: '6.12.117+deb12-arm64' });
    expect(v).toMatchObject({ capable: false, code: 'kernel-too-old' });
    expect(v.reason).toBe('Linux 6.12.117+deb12-arm64 has no RC-to-EP doorbell: drivers/pci/endpoint/pci-ep-msi.c arrived in v6.17.');
    expect(v.fix).toBe('&pcie3x4_ep {\n\tmsi-map = <0x0 &its1 0x0 0x1>;\n};');
    expect(v.notes[0]).toMatch(/^Once that is solved: Neither pcie-ep@fe150000 nor its parent devices have an msi-map/);
  });

  // include/linux/pci-ep-msi.h: with the option off pci_epf_alloc_doorbell() is a stub returning -ENODATA
  it('says no when CONFIG_PCI_ENDPOINT_MSI_DOORBELL is off', async () => {
    const v = await verdict(imx95({ 'msi-map': cells(0, ref('its'), 0x10, 1) }), EP, { config: 'n' });
    expect(v).toMatchObject({ capable: false, code: 'config-disabled' });
    expect(v.reason).toMatch(/without CONFIG_PCI_ENDPOINT_MSI_DOORBELL, so pci_epf_alloc_doorbell\(\) always fails with ENODATA/);
    expect(v.fix).toBeUndefined();
  });

  it('follows the release and the DT when the kernel version or config cannot be read, and says what was not checked (capable stays a boolean)', async () => {
    const good = imx95({ 'msi-map': cells(0, ref('its'), 0x10, 1) });
    const k = await verdict(good, EP, { release: undefined });
    expect(k).toMatchObject({ capable: true, mode: 'its', code: 'capable' });
    expect(k.notes.join(' ')).toMatch(/kernel version is unknown .*v6\.17 or newer with CONFIG_PCI_ENDPOINT_MSI_DOORBELL=y/);
    const c = await verdict(good, EP, { config: undefined });
    expect(c).toMatchObject({ capable: true, mode: 'its', code: 'capable' });
    expect(c.notes.join(' ')).toContain('/boot/config-7.3.4');
    expect(c.notes.join(' ')).toContain('/lib/modules/7.3.4/modules.builtin');
    for (const v of [k, c]) expect(typeof v.capable).toBe('boolean');
  });

  it('says no, not unknown, when the DT alone already rules the doorbell out', async () => {
    const v = await verdict(imx8mp, '/soc@0/pcie-ep@33800000', { release: undefined, config: undefined });
    expect(v).toMatchObject({ capable: false, code: 'no-its' });
  });

  // drivers/of/platform.c: a disabled node gets no platform device
  it('says no for a disabled controller node and adds status = "okay" to the fix', async () => {
    const v = await verdict(imx95({ status: str('disabled') }), EP);
    expect(v).toMatchObject({ capable: false, code: 'controller-disabled' });
    expect(v.fix).toBe('&pcie0_ep {\n\tstatus = "okay";\n\tmsi-map = <0x0 &its 0x10 0x1>;\n};');
  });
});

describe('doorbellVerdict: device tree', () => {
  // pci-ep-msi.c: msi-parent does not work for the doorbell (observed 7.3.4)
  it('says msi-parent alone is not enough and gives the msi-map that replaces it', async () => {
    const v = await verdict(qemu({ 'msi-parent': cells(ref('its'), 0) }), '/pcie-ep@7e000000');
    expect(v).toMatchObject({ capable: false, code: 'msi-parent-only' });
    expect(v.reason).toBe(
      'pcie-ep@7e000000 has msi-parent but no msi-map, and msi-parent alone is not enough on mainline: observed on a real 7.3.4 kernel, an EP node with only msi-parent = <&its 0> gets "Can\'t find MSI domain for EPC" (even though the v9 posting of the series speaks of msi-parent), because the doorbell finds its MSI domain through msi-map.',
    );
    // The msi-parent's one argument is the DeviceID the ITS would have used: the fix keeps it.
    expect(v.fix).toBe('&{/pcie-ep@7e000000} {\n\t/delete-property/ msi-parent;\n\tmsi-map = <0x0 &its 0x0 0x1>;\n};');
    expect(v.notes).toContain("The DeviceID 0x0 is the argument of this node's msi-parent; check it against the SoC reference manual.");
  });

  // rk3588-extra.dtsi: RK3588 upstream has no msi-map → "Can't find MSI domain for EPC"
  it('says no without any msi-map and takes the fix\'s ITS and DeviceID from the RC node', async () => {
    const v = await verdict(rk3588(), RK_EP);
    expect(v).toMatchObject({ capable: false, code: 'no-msi-map' });
    expect(v.reason).toBe('Neither pcie-ep@fe150000 nor its parent devices have an msi-map, so pci_epf_alloc_doorbell() logs "Can\'t find MSI domain for EPC".');
    expect(v.fix).toBe('&pcie3x4_ep {\n\tmsi-map = <0x0 &its1 0x0 0x1>;\n};');
  });

  it('refers to nodes by path when the DTB has no __symbols__', async () => {
    const v = await verdict(rk3588(), RK_EP, { symbols: false });
    expect(v.fix).toBe('&{/pcie-ep@fe150000} {\n\tmsi-map = <0x0 &{/interrupt-controller@fe600000/msi-controller@fe660000} 0x0 0x1>;\n};');
  });

  // fsl-ls1028a.dtsi: LS1028A RC nodes carry msi-parent = <&its 0>, EP nodes nothing
  it('falls back on the RC node\'s msi-parent argument for the DeviceID and says to check it', async () => {
    const ls = node({}, {
      'interrupt-controller@6000000': node({ compatible: str('arm,gic-v3') }, { 'msi-controller@6020000': its('its') }),
      soc: node({ compatible: str('simple-bus') }, {
        'pcie@3400000': node({ compatible: str('fsl,ls1028a-pcie'), 'msi-parent': cells(ref('its'), 0) }, {}, 'pcie1'),
        'pcie-ep@3400000': node({ compatible: str('fsl,ls1028a-pcie-ep') }, {}, 'pcie_ep1'),
      }),
    });
    const v = await verdict(ls, '/soc/pcie-ep@3400000');
    expect(v).toMatchObject({ code: 'no-msi-map', fix: '&pcie_ep1 {\n\tmsi-map = <0x0 &its 0x0 0x1>;\n};' });
    expect(v.notes).toContain("The DeviceID 0x0 is the argument of the RC node's msi-parent; check it against the SoC reference manual.");
  });

  // imx8mp.dtsi: i.MX8MP has no ITS
  it('says this SoC has no ITS and offers no DT fix when there is no arm,gic-v3-its node', async () => {
    const v = await verdict(imx8mp, '/soc@0/pcie-ep@33800000');
    expect(v).toMatchObject({ capable: false, code: 'no-its' });
    expect(v.reason).toMatch(/^This SoC has no ITS/);
    expect(v.fix).toBeUndefined();
  });

  // fd120c38fefd (irq-gic-v3-its.c): only the GIC-v3 ITS is immutable (RK3588's GIC MBI is not)
  it('says no when msi-map sends ID 0 to a controller that is not an ITS', async () => {
    const v = await verdict(rk3588({ 'msi-map': cells(0, ref('gic'), 0, 1) }), RK_EP);
    expect(v).toMatchObject({ capable: false, code: 'target-not-its' });
    expect(v.reason).toMatch(/sends ID 0 to \/interrupt-controller@fe600000 \("arm,gic-v3"\), which is not a GIC-v3 ITS/);
    expect(v.fix).toBe('&pcie3x4_ep {\n\tmsi-map = <0x0 &its1 0x0 0x1>;\n};');
    // v6.17 shipped the immutable check with the core (1f2ed78e43ab): the same verdict there.
    const v617 = await verdict(rk3588({ 'msi-map': cells(0, ref('gic'), 0, 1) }), RK_EP, { release: '6.17.3' });
    expect(v617).toMatchObject({ capable: false, code: 'target-not-its' });
  });

  it('says no when msi-map sends ID 0 to a disabled ITS, and the fix enables it', async () => {
    const v = await verdict(imx95({ 'msi-map': cells(0, ref('its'), 0x10, 1) }, { itsStatus: 'disabled' }), EP);
    expect(v).toMatchObject({ capable: false, code: 'its-disabled' });
    expect(v.fix).toBe('&its {\n\tstatus = "okay";\n};');
  });

  // drivers/of/irq.c: a node whose msi-map has no entry for ID 0 ends the search there
  it('says no when the msi-map has no entry covering ID 0', async () => {
    const v = await verdict(imx95({ 'msi-map': cells(0x100, ref('its'), 0x11, 7), 'msi-map-mask': cells(0x1ff) }), EP);
    expect(v).toMatchObject({ capable: false, code: 'msi-map-no-entry' });
    expect(v.reason).toBe('The msi-map of /soc/pcie-ep@4c300000 has no entry covering ID 0 (msi-map-mask 0x1ff), which ends the kernel\'s search, so it logs "Can\'t find MSI domain for EPC".');
    expect(v.fix).toBe('&pcie0_ep {\n\tmsi-map = <0x0 &its 0x10 0x1>;\n};');
  });

  it('says no when the covering entry names a phandle no node has', async () => {
    const v = await verdict(imx95({ 'msi-map': cells(0, 0x99, 0x10, 1) }), EP);
    expect(v).toMatchObject({ capable: false, code: 'msi-map-dangling' });
    expect(v.reason).toContain('names phandle 0x99, which no node has');
  });

  // drivers/of/base.c of_map_id: "Error: Bad msi-map length"
  it('says no for a malformed msi-map and quotes the kernel\'s error line', async () => {
    const v = await verdict(imx95({ 'msi-map': bytes(0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x10, 0, 1) }), EP);
    expect(v).toMatchObject({ capable: false, code: 'msi-map-malformed' });
    expect(v.reason).toBe(
      '/sys/firmware/devicetree/base/soc/pcie-ep@4c300000/msi-map is malformed (14 bytes is not a whole number of 4-cell (id-base, phandle, msi-base, length) entries), so the kernel logs "/soc/pcie-ep@4c300000: Error: Bad msi-map length: 14" and finds no MSI domain through it.',
    );
    expect(v.fix).toBe('&pcie0_ep {\n\tmsi-map = <0x0 &its 0x10 0x1>;\n};');
  });

  // drivers/of/irq.c: the ITS takes the DeviceID from the EP node's own map
  it('says no when only a parent device has the msi-map, since the ITS reads the EP node alone', async () => {
    const spec = imx95();
    const soc = spec.children['soc']!;
    const withSocMap = node({ ...spec.props }, { ...spec.children, soc: node({ ...soc.props, 'msi-map': cells(0, ref('its'), 0x10, 1) }, soc.children) });
    const v = await verdict(withSocMap, EP);
    expect(v).toMatchObject({ capable: false, code: 'msi-map-not-on-controller' });
    expect(v.reason).toMatch(/^Only \/soc, a parent device, has an msi-map for ID 0: .*"Failed to allocate MSI"\)\.$/);
  });

  it('says no when msi-parent names the ITS with other than one argument cell', async () => {
    const v = doorbellVerdict({
      ...(await gatherDoorbellFacts(new DeviceTree(dtPort(imx95({ 'msi-map': cells(0, ref('its'), 0x10, 1) }), { symbols: true })), EP)),
      epDeviceId: { source: 'bad-msi-parent', args: [] },
      kernel: parseRelease('7.3.4'),
      config: 'y',
      controller: '4c300000.pcie-ep',
    });
    expect(v).toMatchObject({ capable: false, code: 'msi-parent-bad-args' });
  });

  it('suggests the first enabled ITS and says to check it when several exist and no RC node tells which', async () => {
    const spec = node({}, {
      gic: node({ compatible: str('arm,gic-v3') }, { 'its@0': its('its0', { status: str('disabled') }), 'its@1': its('its1') }),
      'pcie-ep@1000': node({ compatible: str('x,pcie-ep') }),
    });
    const v = await verdict(spec, '/pcie-ep@1000');
    expect(v.fix).toBeUndefined();
    expect(v.fixMissing).toMatch(/^add msi-map = <0x0 &its1 DEVICEID 0x1>; to &\{\/pcie-ep@1000\}, where DEVICEID is the ITS DeviceID .*root-complex node \/pcie@1000 /);
    expect(v.notes[0]).toMatch(/^This SoC has 2 ITS nodes; the fix uses &its1/);
  });

  it('never writes a placeholder into a fix: where the DeviceID cannot be known it says where to find it', async () => {
    for (const board of Object.values(BOARDS))
      for (const kernel of ['6.12', '7.3']) {
        const s = await probe(createFakeKernel({ board: board.name, kernel }));
        for (const c of s.controllers) {
          expect(c.doorbell.fix ?? '').not.toMatch(/<devid>|DEVICEID|…/);
          if (c.doorbell.fixMissing) expect(c.doorbell.fixMissing).toMatch(/SoC reference manual/);
        }
      }
  });
});

describe('gatherDoorbellFacts', () => {
  it('collects the DT half of the input as plain data', async () => {
    const tree = new DeviceTree(dtPort(imx95({ 'msi-map': cells(0, ref('its'), 0x98, 1) }), { symbols: true }));
    const facts = await gatherDoorbellFacts(tree, EP);
    expect(JSON.parse(JSON.stringify(facts))).toEqual(facts);
    expect(facts).toMatchObject({
      controllerPath: EP,
      controllerLabel: 'pcie0_ep',
      status: 'okay',
      chain: [EP, '/soc'],
      msiMap: { kind: 'mapped', deviceId: 0x98, target: '/interrupt-controller@48000000/msi-controller@48040000' },
      target: { label: 'its', compatible: ['arm,gic-v3-its'], available: true },
      epDeviceId: { source: 'msi-map', deviceId: 0x98 },
      its: [{ path: '/interrupt-controller@48000000/msi-controller@48040000', label: 'its', available: true }],
      rcSibling: { path: '/soc/pcie@4c300000', label: 'pcie0', deviceId: 0x10, source: 'msi-map' },
    });
  });
});

describe('gatherDoorbellFacts: blaming the file actually wrong', () => {
  const ITS = '/interrupt-controller@48000000/msi-controller@48040000';
  const base = '/sys/firmware/devicetree/base';
  const gather = (spec: DtNodeSpec, fdt?: true) => gatherDoorbellFacts(new DeviceTree(dtPort(spec, { symbols: true, ...(fdt ? { fdt } : {}) })), EP);

  it('gathers the same facts from the boot blob as from the walk, reading far fewer files', async () => {
    const spec = imx95({ 'msi-map': cells(0, ref('its'), 0x98, 1) });
    const walkPort = dtPort(spec, { symbols: true });
    const blobPort = dtPort(spec, { symbols: true, fdt: true });
    const walked = await gatherDoorbellFacts(new DeviceTree(walkPort), EP);
    expect(await gatherDoorbellFacts(new DeviceTree(blobPort), EP)).toEqual(walked);
    expect(blobPort.calls.length).toBeLessThan(walkPort.calls.length / 2);
  });

  it.each([['with the blob', true as const], ['without it', undefined]])(
    'throws a duplicate phandle naming both phandle files, not the msi-map that uses it (%s)',
    async (_, fdt) => {
      const spec = imx95({ 'msi-map': cells(0, ref('its'), 0x10, 1) });
      const gic = spec.children['interrupt-controller@48000000']!;
      // The ITS and a second node both hold phandle 5.
      const dup = node(spec.props, {
        ...spec.children,
        'interrupt-controller@48000000': node(gic.props, { 'msi-controller@48040000': its('its', { phandle: cells(5) }) }),
        'mailbox@0': node({ phandle: cells(5) }),
      });
      const e = await gather(dup, fdt).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(DuplicatePhandleError);
      expect(e).toMatchObject({ exitCode: 7, files: [`${base}${ITS}/phandle`, `${base}/mailbox@0/phandle`] });
    },
  );

  it('throws a status outside the specification on the controller node instead of calling it disabled', async () => {
    await expect(gather(imx95({ status: str('okya') }))).rejects.toThrow(`${base}${EP}/status: "okya" is not a status`);
  });

  it('throws an ITS #msi-cells that is not one cell, naming that file, when msi-parent needs it', async () => {
    const spec = node({}, {
      'interrupt-controller@48000000': node({ compatible: str('arm,gic-v3') }, { 'msi-controller@48040000': its('its', { '#msi-cells': bytes(0, 1) }) }),
      soc: node({ compatible: str('simple-bus') }, { 'pcie-ep@4c300000': node({ compatible: str('fsl,imx95-pcie-ep'), 'msi-parent': cells(ref('its'), 0x10) }) }),
    });
    await expect(gather(spec)).rejects.toThrow(`${base}${ITS}/#msi-cells: 2 bytes where one 32-bit cell`);
  });

  it('calls an msi-map-mask of the wrong length a malformed msi-map, naming the mask file', async () => {
    const facts = await gather(imx95({ 'msi-map': cells(0, ref('its'), 0x10, 1), 'msi-map-mask': bytes(0, 0xff) }));
    expect(facts.msiMap).toMatchObject({ kind: 'malformed', path: `${base}${EP}/msi-map-mask` });
  });

  it('throws an ITS compatible without its final NUL instead of calling the target "not an ITS"', async () => {
    const spec = imx95({ 'msi-map': cells(0, ref('its'), 0x10, 1) });
    const gic = spec.children['interrupt-controller@48000000']!;
    const broken = node(spec.props, {
      ...spec.children,
      'interrupt-controller@48000000': node(gic.props, { 'msi-controller@48040000': its('its', { compatible: bytes(...Buffer.from('arm,gic-v3-its')) }) }),
    });
    await expect(gather(broken)).rejects.toThrow(`${base}${ITS}/compatible: 14 bytes of strings without a final NUL`);
  });
});

describe('doorbellVerdict: the code the kernel carries, by its symbols (/proc/kallsyms), outranks its release', () => {
  const ITS_MAP = { 'msi-map': cells(0, ref('its'), 0x10, 1) };
  it('says no when the symbols show no doorbell code, even on a 7.3 release with a good DT', async () => {
    const v = await verdict(imx95(ITS_MAP), EP, { implementation: 'none' });
    expect(v).toMatchObject({ capable: false, code: 'no-doorbell-code' });
    expect(v.reason).toMatch(/neither pci_epf_write_msi_msg .* nor pci_epc_write_msi_msg .*carries no RC-to-EP doorbell code, whatever its release says/);
  });

  it('says yes for a 6.6 vendor kernel carrying the merged code (a backport), judging the DT by the merged rules', async () => {
    const v = await verdict(imx95(ITS_MAP), EP, { release: '6.6.52', implementation: 'merged' });
    expect(v).toMatchObject({ capable: true, code: 'capable' });
  });

  it('on the v9 posting, wants msi-parent: msi-map alone is refused, with the msi-parent fix using the RC node\'s DeviceID', async () => {
    const v = await verdict(imx95(ITS_MAP), EP, { release: '6.6.52', config: 'n', implementation: 'posted-v9' });
    expect(v).toMatchObject({ capable: false, code: 'v9-no-msi-parent' });
    expect(v.reason).toMatch(/carries the v9 posting .* pcie-ep@4c300000 has no msi-parent, so it logs "Failed to allocate MSI"/);
    expect(v.fix).toBe('&pcie0_ep {\n\tmsi-parent = <&its 0x10>;\n};');
    expect(v.notes.join(' ')).toMatch(/has an msi-map, which is what the merged code reads; this kernel's v9 code does not read it/);
  });

  it('on the v9 posting, msi-parent to the ITS is capable whatever CONFIG_PCI_ENDPOINT_MSI_DOORBELL says (v9 has no such option)', async () => {
    const v = await verdict(imx95({ 'msi-parent': cells(ref('its'), 0x10) }), EP, { release: '6.6.52', config: 'n', implementation: 'posted-v9' });
    expect(v).toMatchObject({ capable: true, code: 'capable', warnings: [] });
    expect(v.reason).toMatch(/msi-parent sends it to &its DeviceID 0x10, so the kernel can allocate doorbells/);
    expect(v.notes.join(' ')).toMatch(/"MSI doorbell only support one endpoint function"/);
  });

  it('on the v9 posting, a mutable MSI parent is accepted but warned about: a doorbell can be lost after an affinity change', async () => {
    const v = await verdict(rk3588({ 'msi-parent': cells(ref('gic')), status: str('okay') }), RK_EP, { release: '6.1.75', config: 'n', implementation: 'posted-v9' });
    expect(v).toMatchObject({ capable: true, code: 'capable' });
    expect(v.warnings.join(' ')).toMatch(/&gic is not a GIC-v3 ITS: its doorbell address\/data can change when the IRQ's affinity changes, and a host ring written to the old address is then lost/);
  });

  it('on the v9 posting, a DeviceID that differs from the RC node\'s is a warning with the fix', async () => {
    const v = await verdict(imx95({ 'msi-parent': cells(ref('its'), 0x98) }), EP, { release: '6.6.52', implementation: 'posted-v9' });
    expect(v.capable).toBe(true);
    expect(v.warnings.join(' ')).toMatch(/DeviceID 0x98 but its RC node pcie@4c300000 uses 0x10/);
    expect(v.fix).toBe('&pcie0_ep {\n\tmsi-parent = <&its 0x10>;\n};');
    expect(v.ringLost).toBe(true);
  });

  it('the simulated vendor board (imx95-vendor) shows the v9 code through /proc/kallsyms, and probe judges it by it', async () => {
    const s = await probe(createFakeKernel({ board: 'imx95-vendor' }));
    expect(s.kernel).toMatchObject({ release: '6.6.52', doorbellCode: true, doorbellImplementation: 'posted-v9' });
    expect(s.controllers.map((c) => [c.doorbell.capable, c.doorbell.code])).toEqual([[true, 'capable'], [true, 'capable']]);
    const merged = await probe(createFakeKernel({ board: 'imx95' }));
    expect(merged.kernel.doorbellImplementation).toBe('merged');
    const old = await probe(createFakeKernel({ board: 'imx95', kernel: '6.12' }));
    expect(old.kernel).toMatchObject({ doorbellImplementation: 'none', doorbellCode: false });
    expect(old.controllers[0]!.doorbell.code).toBe('kernel-too-old');
  });
});

describe('doorbellVerdict: GICv5 and the embedded (eDMA) fallback', () => {
  /** A GICv5 SoC: its ITS is not immutable (drivers/irqchip/irq-gic-v5-its.c). */
  const gicv5 = (ep: Record<string, DtValue>): DtNodeSpec =>
    node({ compatible: str('vendor,gicv5-soc') }, {
      'interrupt-controller@40000000': node({ compatible: str('arm,gic-v5') }, {
        'msi-controller@40100000': node({ compatible: str('arm,gic-v5-its'), 'msi-controller': flag(), '#msi-cells': cells(1) }, {}, 'its5'),
      }),
      soc: node({ compatible: str('simple-bus') }, { 'pcie-ep@4c300000': node({ compatible: str('vendor,pcie-ep'), ...ep }, {}, 'pcie_ep') }),
    });

  it('refuses an msi-map to a GICv5 ITS as mutable, and says no DT line helps without a GIC-v3 ITS', async () => {
    const v = await verdict(gicv5({ 'msi-map': cells(0, ref('its5'), 0x10, 1) }), EP);
    expect(v).toMatchObject({ capable: false, mode: 'none', code: 'target-gicv5' });
    expect(v.reason).toMatch(/GICv5 ITS .*"Mutable MSI controller not supported"/);
    const none = await verdict(gicv5({}), EP);
    expect(none).toMatchObject({ capable: false, code: 'no-its' });
    expect(none.reason).toMatch(/GICv5/);
  });

  /** One input, the embedded facts varied: what 7.3.4's pci_epf_alloc_doorbell() does after the MSI path's -ENODEV. */
  async function embedded(opts: { driver?: string; regNames?: string[]; atuSize?: number; code?: boolean; msiMap?: boolean }): Promise<DoorbellVerdict> {
    const names = opts.regNames ?? ['dbi', 'atu', 'dma'];
    // The soc bus has the DT defaults: 2 address cells, 1 size cell.
    const reg = names.flatMap((n, i) => [0, 0x10000000 + i * 0x200000, n === 'atu' ? (opts.atuSize ?? 0x100000) : 0x10000]);
    const spec = imx95({ 'reg-names': str(...names), reg: cells(...reg), ...(opts.msiMap ? { 'msi-map': cells(0, ref('its'), 0x10, 1) } : {}) });
    const tree = new DeviceTree(dtPort(spec, { symbols: true }));
    const facts = await gatherDoorbellFacts(tree, EP);
    return doorbellVerdict({ ...facts, kernel: parseRelease('7.3.4'), config: 'y', controller: '4c300000.pcie-ep', implementation: 'merged', ...(opts.driver === undefined ? {} : { driver: opts.driver }), ...(opts.code === undefined ? {} : { embeddedCode: opts.code }) });
  }

  it('gives the embedded doorbell on a DesignWare controller with eDMA registers when the kernel has the fallback', async () => {
    for (const regNames of [['dbi', 'atu', 'dma'], ['dbi', 'atu']]) {
      const v = await embedded({ driver: 'imx6q-pcie', code: true, regNames });
      expect(v, regNames.join()).toMatchObject({ capable: true, mode: 'embedded', code: 'embedded' });
      expect(v.reason).toContain(regNames.includes('dma') ? 'its "dma" reg entry' : 'the iATU window');
      // The ITS fix is still offered: one IRQ per doorbell.
      expect(v.fix).toContain('msi-map');
      expect(v.warnings.join(' ')).toMatch(/interrupt emulation/);
    }
  });

  it('says none, naming the errno the kernel logs, where the fallback cannot help', async () => {
    const cadence = await embedded({ driver: 'cdns-pcie', code: true });
    expect(cadence).toMatchObject({ capable: false, mode: 'none' });
    expect(cadence.notes.join(' ')).toContain('Failed to allocate doorbell: -95');
    const small = await embedded({ driver: 'imx6q-pcie', code: true, regNames: ['dbi', 'atu'], atuSize: 0x80000 });
    expect(small).toMatchObject({ capable: false, mode: 'none' });
    expect(small.notes.join(' ')).toContain('Failed to allocate doorbell: -19');
    // Without the fallback's symbol (pci_epc_get_aux_resources) the MSI verdict stands alone.
    expect(await embedded({ driver: 'imx6q-pcie', code: false })).toMatchObject({ capable: false, mode: 'none', code: 'no-msi-map' });
    // An unknown driver: no guess, a note.
    const unknown = await embedded({ code: true });
    expect(unknown).toMatchObject({ capable: false, mode: 'none' });
    expect(unknown.notes.join(' ')).toMatch(/driver is unknown/);
  });

  /** rk3588() with the EP node's reg entries (dbi, dbi2, apb, addr_space, 1 MiB atu: eDMA in the iATU window). */
  async function rkVerdict(ep: Record<string, DtValue>, release = '7.3.4'): Promise<DoorbellVerdict> {
    // This root has the DT defaults (2 address cells, 1 size cell).
    const reg = cells(0xa, 0x40000000, 0x100000, 0xa, 0x40100000, 0x100000, 0, 0xfe150000, 0x10000, 0x9, 0, 0x40000000, 0xa, 0x40300000, 0x100000);
    const spec = rk3588({ reg, 'reg-names': str('dbi', 'dbi2', 'apb', 'addr_space', 'atu'), ...ep });
    const facts = await gatherDoorbellFacts(new DeviceTree(dtPort(spec, { symbols: true })), RK_EP);
    return doorbellVerdict({ ...facts, kernel: parseRelease(release), config: 'y', controller: 'a40000000.pcie-ep', implementation: 'merged', driver: 'rockchip-dw-pcie', embeddedCode: true, edmaDriver: 'y' });
  }

  it('RK3588 embedded: names BAR4, where the doorbell is published (offset 0xa0), DB_BAR 4 and vNTB\'s db_bar 4', async () => {
    const v = await rkVerdict({});
    expect(v).toMatchObject({ capable: true, mode: 'embedded', reservedBar: 4, doorbellBar: { bar: 4, offset: 0xa0 } });
    expect(v.notes[0]).toMatch(/^The eDMA registers of pcie-ep@fe150000 sit in BAR4, which its driver reserves .*offset 0xa0.*pci-epf-test reports DB_BAR 4; vNTB needs its doorbell BAR to be BAR4 \(db_bar = 4 in its pci_epf_vntb\.N\/ group; .*-EINVAL and it polls, silently\.$/);
  });

  it('RK3588 with an ITS doorbell: BAR4 is still reserved, said in a note, and no doorbell lives there', async () => {
    const v = await rkVerdict({ 'msi-map': cells(0, ref('its1'), 0, 0x1000) });
    expect(v).toMatchObject({ capable: true, mode: 'its', reservedBar: 4 });
    expect(v.doorbellBar).toBeUndefined();
    expect(v.notes.join('\n')).toMatch(/reserves BAR4 for its DMA registers \(BAR_RESERVED\).*"Invalid BAR type"/);
  });

  it('other controllers reserve no DMA BAR', async () => {
    const v = await embedded({ driver: 'imx6q-pcie', code: true });
    expect(v.reservedBar).toBeUndefined();
    expect(v.doorbellBar).toBeUndefined();
  });

  it('never falls back when the MSI path works (an ITS doorbell) or fails with something other than ENODEV', async () => {
    expect(await embedded({ driver: 'imx6q-pcie', code: true, msiMap: true })).toMatchObject({ capable: true, mode: 'its', code: 'capable' });
  });
});
