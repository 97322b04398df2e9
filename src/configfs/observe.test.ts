// The client-side model of the pci_ep tree, read back from the fake kernel as a person would
// build it by hand (mkdir, echo, ln -s), and from broken trees.
import { describe, it, expect } from 'vitest';
import { boot, mkLinkable, mkVntb, linkToEpc, linkPrimary, linkVf, mkfn, startEpc, QEMU_EPC, FUNCS, CTRLS, VERSIONS } from '../../test/fake/helpers.js';
import { classifyLink } from './observe.js';
import { status, statusExitCode } from '../status/status.js';
import { EXIT } from '../exit-codes.js';

describe('observing the pci_ep tree', () => {
  for (const version of VERSIONS)
    it(`on ${version}, reads functions, attributes as the kernel shows them, the type group found by listing, and links resolved`, async () => {
      const fake = await boot(version);
      const t = await mkLinkable(fake, 'pci_epf_test', 't0');
      await fake.write(`${t}/vendorid`, '0x104c');
      await linkToEpc(fake, t);
      const v = await mkVntb(fake, 'v0');
      await linkPrimary(fake, v);
      await startEpc(fake);
      const pf = await mkfn(fake, 'pci_epf_test', 'pf');
      const vf = await mkfn(fake, 'pci_epf_test', 'vf');
      await linkVf(fake, pf, vf);

      const s = await status(fake);
      expect(statusExitCode(s)).toBe(EXIT.OK);
      expect(JSON.parse(JSON.stringify(s))).toEqual(s);
      expect(s.pciEp.controllers).toEqual([{ name: QEMU_EPC, files: { start: { text: '1\n' } }, functions: ['pci_epf_test/t0'], links: [{ name: expect.any(String), function: 'pci_epf_test/t0' }] }]);
      const byName = new Map(s.pciEp.functions.map((f) => [`${f.driver}/${f.name}`, f]));
      const t0 = byName.get('pci_epf_test/t0')!;
      expect(t0.attributes['vendorid']).toEqual({ text: '0x104c\n' });
      expect(t0.attributes['msi_interrupts']).toEqual({ text: '1\n' });
      // The type group is whatever the function directory holds (6.1's test driver has none).
      expect(t0.typeGroup?.name ?? null).toBe((await fake.readdir(t)).find((e) => e.startsWith('pci_epf_test.')) ?? null);
      expect(t0.controllers).toEqual([QEMU_EPC]);
      const v0 = byName.get('pci_epf_vntb/v0')!;
      expect(v0).toMatchObject({ primary: QEMU_EPC, secondary: null, controllers: [], links: { primary: { name: QEMU_EPC, controller: QEMU_EPC }, secondary: null } });
      expect(v0.typeGroup?.attributes['db_count']).toEqual({ text: '4\n' });
      // vNTB mwN past num_mws: show() fails (errno by version); that is the kernel's answer, not a broken board.
      expect(v0.typeGroup?.attributes['mw2']).toEqual({ errno: expect.stringMatching(/^E[A-Z]+$/) });
      expect(byName.get('pci_epf_test/pf')!.virtualFunctions).toEqual(['pci_epf_test/vf']);
      expect(byName.get('pci_epf_test/pf')!.links.virtualFunctions).toEqual([{ name: expect.any(String), function: 'pci_epf_test/vf' }]);
    });

  it('names links by what they point at, from the relative targets configfs returns', () => {
    expect(classifyLink(`${CTRLS}/${QEMU_EPC}/l1`, '../../../pci_ep/functions/pci_epf_test/t0')).toEqual({ kind: 'function', driver: 'pci_epf_test', name: 't0' });
    expect(classifyLink(`${FUNCS}/pci_epf_vntb/v/primary/x`, `../../../../controllers/${QEMU_EPC}`)).toEqual({ kind: 'controller', name: QEMU_EPC });
    expect(classifyLink(`${FUNCS}/pci_epf_test/pf/vf`, '/etc')).toEqual({ kind: 'other', path: '/etc' });
  });

  it('reports an entry it cannot read against its path and still shows the rest', async () => {
    const fake = await boot('7.3');
    await mkLinkable(fake, 'pci_epf_test', 'a');
    await mkLinkable(fake, 'pci_epf_test', 'b');
    fake.injectFault({ op: 'readdir', path: `${FUNCS}/pci_epf_test/a`, errno: 'EIO' });
    const s = await status(fake);
    expect(statusExitCode(s)).toBe(EXIT.BAD_DATA);
    expect(s.problems).toEqual([expect.objectContaining({ code: 'unreadable-file', path: `${FUNCS}/pci_epf_test/a` })]);
    expect(s.pciEp.functions.map((f) => f.name)).toEqual(['b']);
    expect(s.pciEp.controllers.map((c) => c.name)).toEqual([QEMU_EPC]);
  });
});

describe('links and groups the kernel never makes', () => {
  /** The fake, with readlink of `path` answering `target`, or readdir answering `entries`. */
  const twisted = (fake: Awaited<ReturnType<typeof boot>>, path: string, over: { target?: string; entries?: string[] }) =>
    new Proxy(fake, {
      get(t, prop, r) {
        const v = Reflect.get(t, prop, r) as unknown;
        if (typeof v !== 'function') return v;
        if (prop === 'readlink' && over.target !== undefined) return (p: string) => (p === path ? Promise.resolve(over.target) : (v as (p: string) => unknown).call(t, p));
        return (v as (...a: unknown[]) => unknown).bind(t);
      },
    });

  it('a controller link that names a controller, and a primary/ link that names a function, are problems naming the link', async () => {
    const fake = await boot('7.3');
    const t = await mkLinkable(fake, 'pci_epf_test', 't0');
    const link = await linkToEpc(fake, t);
    const s = await status(twisted(fake, link, { target: `../${QEMU_EPC}` }));
    expect(s.problems).toEqual([expect.objectContaining({ code: 'bad-kernel-data', path: link, message: expect.stringContaining('not to a function') })]);

    const v = await mkVntb(fake, 'v0');
    const primary = await linkPrimary(fake, v);
    const s2 = await status(twisted(fake, primary, { target: t }));
    expect(s2.problems).toContainEqual(expect.objectContaining({ path: primary, message: expect.stringContaining('not to a controller') }));
    expect(s2.pciEp.functions.map((f) => f.name)).toEqual(['t0']);
  });
});
