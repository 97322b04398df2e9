// plan's refusals: every config a board cannot take is refused before anything is written,
// with the field, the reason in the kernel's terms and the fix; and the hazard rules by version.
import { describe, it, expect } from 'vitest';
import { createFakeKernel, type FakeKernel } from '../fake/index.js';
import { parseConfig } from '../config/load.js';
import { planFor } from './converge.js';

const FUNCS = '/sys/kernel/config/pci_ep/functions';
const QEMU_EPC = '7e000000.pcie-ep';

async function refusalsOf(board: string, kernel: string, yaml: string, setup?: (k: FakeKernel) => Promise<void>) {
  const k = createFakeKernel({ board, kernel });
  await setup?.(k);
  const { plan } = await planFor(k, parseConfig(`version: 1\n${yaml}`, 'x.yaml'), new Set(['pci_epf_vntb/sec', 'pci_epf_vntb/p', 'pci_epf_test/vf']));
  return plan.refusals.map((r) => `${r.where}: ${r.reason} | fix: ${r.fix.split('\n')[0]}`);
}

const CASES: { what: string; board: string; kernel?: string; yaml: string; want: RegExp; setup?: (k: FakeKernel) => Promise<void> }[] = [
  { what: 'an unknown controller', board: 'qemu-virt', yaml: 'functions: [{ driver: pci_epf_test, name: f, controller: nope, msi_interrupts: 1 }]', want: /^functions\.0\.controller: the board has no endpoint controller nope \(it has 7e000000\.pcie-ep\) \| fix: use one of the names `epctl probe` lists$/ },
  { what: '"auto" on a two-controller board', board: 'imx95', yaml: 'controllers: { auto: { start: true } }', want: /^controllers\.auto: "auto" needs exactly one endpoint controller and the board has 2: 4c300000\.pcie-ep, 4c380000\.pcie-ep \| fix: name the controller$/ },
  { what: 'vNTB through secondary/', board: 'ls1028a', yaml: 'functions: [{ driver: pci_epf_vntb, name: v, primary: 3400000.pcie-ep, secondary: 3500000.pcie-ep, type: { db_count: 4 } }]', want: /^functions\.0\.secondary: vNTB binds through its primary controller only .*crashes the kernel when that link is removed \(epf_ntb_unbind\) \| fix: drop secondary$/ },
  { what: 'pci_epf_test through secondary/', board: 'ls1028a', yaml: 'functions: [{ driver: pci_epf_test, name: t, primary: 3400000.pcie-ep, secondary: 3500000.pcie-ep, msi_interrupts: 1 }]', want: /^functions\.0\.secondary: pci_epf_test binds through one controller; a secondary\/ link fails to bind .*crash/ },
  { what: 'NTB without its second controller', board: 'ls1028a', yaml: 'functions: [{ driver: pci_epf_ntb, name: n, primary: 3400000.pcie-ep, type: { db_count: 4 } }]', want: /^functions\.0\.secondary: pci_epf_ntb joins two controllers: it needs primary and secondary \| fix: give secondary$/ },
  { what: 'NTB through controllers/', board: 'ls1028a', yaml: 'functions: [{ driver: pci_epf_ntb, name: n, controller: 3400000.pcie-ep, type: { db_count: 4 } }]', want: /^functions\.0\.controller: pci_epf_ntb binds through primary\/ and secondary\/, not controllers\//m },
  { what: 'one controller as both sides', board: 'ls1028a', yaml: 'functions: [{ driver: pci_epf_ntb, name: n, primary: 3400000.pcie-ep, secondary: 3400000.pcie-ep, type: { db_count: 4 } }]', want: /^functions\.0\.secondary: primary and secondary name the same controller/ },
  { what: 'a linked pci_epf_test without MSI vectors', board: 'qemu-virt', yaml: 'functions: [{ driver: pci_epf_test, name: t, controller: auto }]', want: /^functions\.0\.msi_interrupts: pci_epf_test fails to bind without msi_interrupts .* \| fix: give msi_interrupts$/ },
  { what: 'a linked vNTB without db_count', board: 'qemu-virt', yaml: 'functions: [{ driver: pci_epf_vntb, name: v, primary: auto }]', want: /^functions\.0\.type\.db_count: pci_epf_vntb fails to bind while db_count is 0 \(its default\) \| fix: give type\.db_count$/ },
  { what: 'doorbells on a controller without an msi-map', board: 'qemu-virt-no-msi', yaml: 'functions: [{ driver: pci_epf_test, name: t, controller: auto, msi_interrupts: 1, doorbell: true }]', want: /^functions\.0\.doorbell: Neither .* msi-map/ },
  { what: 'doorbells with only msi-parent', board: 'qemu-virt-msi-parent', yaml: 'functions: [{ driver: pci_epf_test, name: t, controller: auto, msi_interrupts: 1, doorbell: true }]', want: /^functions\.0\.doorbell: .*msi-parent/ },
  { what: 'vNTB doorbells before 6.19', board: 'qemu-virt', kernel: '6.12', yaml: 'functions: [{ driver: pci_epf_vntb, name: v, primary: auto, type: { db_count: 4 }, doorbell: true }]', want: /^functions\.0\.doorbell: vNTB MSI doorbells arrived in Linux 6\.19 \(dc693d606644\); 6\.12\.117 polls its doorbell registers/ },
  { what: 'doorbells unlinked', board: 'qemu-virt', yaml: 'functions: [{ driver: pci_epf_test, name: t, msi_interrupts: 1, doorbell: true }]', want: /^functions\.0\.doorbell: doorbells are allocated when the function is linked to a controller/ },
  {
    what: 'doorbells behind a function already linked there',
    board: 'qemu-virt',
    yaml: 'functions: [{ driver: pci_epf_test, name: t, controller: auto, msi_interrupts: 1, doorbell: true }]',
    setup: async (k) => {
      await k.mkdir(`${FUNCS}/pci_epf_test/first`);
      await k.write(`${FUNCS}/pci_epf_test/first/msi_interrupts`, '1');
      await k.write(`${FUNCS}/pci_epf_test/first/msix_interrupts`, '1');
      await k.symlink(`${FUNCS}/pci_epf_test/first`, `/sys/kernel/config/pci_ep/controllers/${QEMU_EPC}/first`);
    },
    want: /^functions\.0\.doorbell: pci_epf_test\/first is already linked to 7e000000\.pcie-ep, and only the first function linked there can own doorbells/,
  },
  {
    what: 'a type attribute this kernel does not offer',
    board: 'qemu-virt',
    yaml: 'functions: [{ driver: pci_epf_vntb, name: v, type: { db_count: 4, no_such: 1 } }]',
    setup: async (k) => void (await k.mkdir(`${FUNCS}/pci_epf_vntb/other`)),
    want: /^functions\.0\.type\.no_such: this kernel's pci_epf_vntb has no no_such \(its pci_epf_vntb\.0\/ offers ctrl_bar, db_bar, db_count, /,
  },
  {
    what: 'type attributes where the driver has no type group (pci_epf_test on 6.1)',
    board: 'qemu-virt',
    kernel: '6.1',
    yaml: 'functions: [{ driver: pci_epf_test, name: t, type: { bar0_size: 4096 } }]',
    setup: async (k) => void (await k.mkdir(`${FUNCS}/pci_epf_test/other`)),
    want: /^functions\.0\.type: this kernel's pci_epf_test functions have no type group/,
  },
  {
    what: 'removing a vNTB function linked only through secondary/',
    board: 'ls1028a',
    yaml: 'functions: []',
    setup: async (k) => {
      await k.mkdir(`${FUNCS}/pci_epf_vntb/sec`);
      await k.symlink('/sys/kernel/config/pci_ep/controllers/3500000.pcie-ep', `${FUNCS}/pci_epf_vntb/sec/secondary/3500000.pcie-ep`);
    },
    want: /^\/sys\/kernel\/config\/pci_ep\/functions\/pci_epf_vntb\/sec: a vNTB function linked only through secondary\/ crashes the kernel when unlinked .* \| fix: reboot the board; epctl will not touch it$/,
  },
  {
    what: 'unlinking through primary/ before 7.3',
    board: 'qemu-virt',
    kernel: '6.12',
    yaml: 'functions: []',
    setup: async (k) => {
      await k.mkdir(`${FUNCS}/pci_epf_vntb/p`);
      await k.write(`${FUNCS}/pci_epf_vntb/p/pci_epf_vntb.0/db_count`, '4');
      await k.symlink(`/sys/kernel/config/pci_ep/controllers/${QEMU_EPC}`, `${FUNCS}/pci_epf_vntb/p/primary/${QEMU_EPC}`);
    },
    want: /^\/sys\/kernel\/config\/pci_ep\/functions\/pci_epf_vntb\/p: it is linked through primary\/, and before Linux 7\.3 the primary\/ and secondary\/ unlink handlers take their arguments in the wrong order \(e85a2d783762\)/,
  },
  {
    what: 'removing a virtual function whose physical function stays',
    board: 'qemu-virt',
    yaml: 'functions: []',
    setup: async (k) => {
      await k.mkdir(`${FUNCS}/pci_epf_test/pf`);
      await k.mkdir(`${FUNCS}/pci_epf_test/vf`);
      await k.symlink(`${FUNCS}/pci_epf_test/vf`, `${FUNCS}/pci_epf_test/pf/vf`);
    },
    want: /^\/sys\/kernel\/config\/pci_ep\/functions\/pci_epf_test\/vf: it is a virtual function of pci_epf_test\/pf, which stays \| fix: unlink \/sys\/kernel\/config\/pci_ep\/functions\/pci_epf_test\/pf\/vf first$/,
  },
  {
    what: 'two vNTB functions bound at once (one "pci-vntb" PCI driver)',
    board: 'ls1028a',
    yaml: 'functions: [{ driver: pci_epf_vntb, name: a, primary: 3400000.pcie-ep, type: { db_count: 4 } }, { driver: pci_epf_vntb, name: b, primary: 3500000.pcie-ep, type: { db_count: 4 } }]',
    want: /^functions: pci_epf_vntb\/a and pci_epf_vntb\/b would be bound at once, but only one vNTB function can be bound at a time/,
  },
  {
    what: 'changing a linked vNTB function on 6.12, where a second vNTB bind in a boot crashes the kernel',
    board: 'qemu-virt',
    kernel: '6.12',
    yaml: 'functions: [{ driver: pci_epf_vntb, name: v, controller: auto, type: { db_count: 8 } }]',
    setup: async (k) => {
      await k.mkdir(`${FUNCS}/pci_epf_vntb/v`);
      await k.write(`${FUNCS}/pci_epf_vntb/v/pci_epf_vntb.0/db_count`, '4');
      await k.symlink(`${FUNCS}/pci_epf_vntb/v`, `/sys/kernel/config/pci_ep/controllers/${QEMU_EPC}/v`);
    },
    want: /^\/sys\/kernel\/config\/pci_ep\/functions\/pci_epf_vntb\/v: it must be bound again to change .*a second vNTB bind in one boot crashes it .* \| fix: reboot the board, then apply/,
  },
];

describe('plan refuses what the board cannot take, before any write', () => {
  for (const c of CASES)
    it(`${c.what}`, async () => {
      const got = await refusalsOf(c.board, c.kernel ?? '7.3', c.yaml, c.setup);
      expect(got.some((r) => c.want.test(r)), got.join('\n') || '(no refusal)').toBe(true);
    });
});

describe('hazard rules by kernel version', () => {
  const VNTB = 'functions: [{ driver: pci_epf_vntb, name: v, primary: auto, type: { db_count: 4 } }]';
  it('waits for primary/ after mkdir before 7.0 (delayed work) and not after', async () => {
    for (const [kernel, waits] of [['6.12', true], ['7.3', false]] as const) {
      const k = createFakeKernel({ board: 'qemu-virt', kernel });
      const { plan } = await planFor(k, parseConfig(`version: 1\n${VNTB}`, 'x.yaml'), new Set());
      expect(plan.ops.some((o) => o.kind === 'wait'), kernel).toBe(waits);
    }
  });

  it('links a one-controller function through controllers/ before 7.3 and through primary/ from 7.3', async () => {
    for (const [kernel, via] of [['6.1', /controllers\//], ['6.12', /controllers\//], ['7.3', /\/primary\//]] as const) {
      const k = createFakeKernel({ board: 'qemu-virt', kernel });
      const { plan } = await planFor(k, parseConfig(`version: 1\n${VNTB}`, 'x.yaml'), new Set());
      expect(plan.ops.find((o) => o.kind === 'link')!.path, kernel).toMatch(via);
    }
  });
});

describe('doorbell preflight on every board profile, and --force', () => {
  const yamlFor = (epc: string) => `functions: [{ driver: pci_epf_test, name: t, controller: ${epc}, msi_interrupts: 1, doorbell: true }]`;

  it('refuses a doorbell exactly where probe says no or that rings would be lost, naming the DT node and the fix', async () => {
    const { BOARDS } = await import('../boards/index.js');
    const { probe } = await import('../probe/probe.js');
    let refused = 0;
    let allowed = 0;
    for (const board of Object.keys(BOARDS)) {
      const state = await probe(createFakeKernel({ board }));
      for (const c of state.controllers) {
        const k = createFakeKernel({ board });
        const { plan } = await planFor(k, parseConfig(`version: 1\n${yamlFor(c.name)}`, 'x.yaml'), new Set());
        const r = plan.refusals.filter((x) => x.where === 'functions.0.doorbell');
        const expectRefusal = !c.doorbell.capable || c.doorbell.ringLost === true;
        expect(r.length, `${board} ${c.name}: ${c.doorbell.code}`).toBe(expectRefusal ? 1 : 0);
        if (expectRefusal) {
          refused++;
          // The rule in one sentence that names the controller's DT node, and a fix.
          expect(r[0]!.reason, `${board} ${c.name}`).toContain(c.dtNode!.slice(c.dtNode!.lastIndexOf('/') + 1));
          expect(r[0]!.fix.length).toBeGreaterThan(10);
        } else allowed++;
      }
    }
    expect(refused).toBeGreaterThan(5);
    expect(allowed).toBeGreaterThan(5);
  });

  it('refuses a doorbell whose host ring would never arrive (the i.MX95 v6.18 DT) with the DT fix', async () => {
    const got = await refusalsOf('imx95-v6.18', '7.3', yamlFor('4c300000.pcie-ep'));
    expect(got.join('\n')).toMatch(/^functions\.0\.doorbell: the kernel would allocate the doorbell on 4c300000\.pcie-ep, but a host ring would never arrive: .*DeviceID 0x98 .* \| fix: change the device tree:$/m);
  });

  it('--force turns the preflight into notes that say what was skipped; kernel-enforced rules stay refusals', async () => {
    const k = createFakeKernel({ board: 'qemu-virt-msi-parent' });
    const forced = await planFor(k, parseConfig(`version: 1\n${yamlFor('auto')}`, 'x.yaml'), new Set(), { force: true });
    expect(forced.plan.refusals).toEqual([]);
    expect(forced.plan.notes.join('\n')).toMatch(/^--force: skipped the doorbell preflight for pci_epf_test\/t on 7e000000\.pcie-ep: .*msi-parent/m);
    expect(forced.plan.ops.some((o) => o.kind === 'link')).toBe(true);
    // One doorbell owner per controller is the kernel's rule (pci-ep-msi.c): --force does not skip it.
    const two = await planFor(createFakeKernel({ board: 'qemu-virt' }), parseConfig(`version: 1
functions:
  - { driver: pci_epf_test, name: a, controller: auto, msi_interrupts: 1, doorbell: true }
  - { driver: pci_epf_test, name: b, controller: auto, msi_interrupts: 1, doorbell: true }
`, 'x.yaml'), new Set(), { force: true });
    expect(two.plan.refusals.map((r) => r.where)).toEqual(['functions.1.doorbell']);
  });
});
