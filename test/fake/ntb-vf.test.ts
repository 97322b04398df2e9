// primary/, secondary/ and virtual-function links (pci-ep-cfs.c, pci-epf-core.c; observed
// 7.3.4 for secondary/). Sequences that oops the kernel are in hazards.test.ts.
import { describe, expect, it } from 'vitest';
import {
  IMX95_EPCS,
  boot,
  cat,
  countMatching,
  epcPath,
  linkPrimary,
  linkSecondary,
  linkToEpc,
  linkVf,
  logSince,
  mkLinkable,
  mkVntb,
  mkfn,
  typeGroup,
} from './helpers.js';

const WARN_1348 =
  /WARNING: drivers\/pci\/endpoint\/functions\/pci-epf-test\.c:1348 at pci_epf_test_bind\+0x[0-9a-f]+\/0x[0-9a-f]+, CPU#0: \S+\/\d+/;

describe('primary/ links on 7.3.4', () => {
  // pci-ep-cfs.c, pci-epf-core.c: a primary/ link is listed there as <epc>, readlink ../../../../../pci_ep/controllers/<epc>
  it('a primary/ link is named after the EPC and reads back in configfs relative form', async () => {
    const fake = await boot('7.3');
    const fn = await mkVntb(fake);
    const link = await linkPrimary(fake, fn);
    expect(await fake.readdir(`${fn}/primary`)).toEqual(['7e000000.pcie-ep']);
    expect(await fake.readlink(link)).toBe('../../../../../pci_ep/controllers/7e000000.pcie-ep');
  });

  // pci-ep-cfs.c, pci-epf-core.c: the primary/ link is not listed in controllers/<epc>/
  it('a primary/ link does not appear in controllers/<epc>/', async () => {
    const fake = await boot('7.3');
    await linkPrimary(fake, await mkVntb(fake));
    expect(await fake.readdir(epcPath())).toEqual(['start']);
  });

  // pci-ep-cfs.c, pci-epf-core.c: primary is the same slot as linking from controllers/ (both → EBUSY)
  it('a controllers/ link of a function already linked through primary/ fails with EBUSY', async () => {
    const fake = await boot('7.3');
    const fn = await mkLinkable(fake);
    await linkPrimary(fake, fn);
    await expect(linkToEpc(fake, fn)).rejects.toMatchObject({ code: 'EBUSY' });
    expect(await fake.readdir(epcPath())).toEqual(['start']);
  });

  // pci-ep-cfs.c, pci-epf-core.c: same slot, the other way round
  it('a primary/ link of a function already linked from controllers/ fails with EBUSY', async () => {
    const fake = await boot('7.3');
    const fn = await mkLinkable(fake);
    await linkToEpc(fake, fn);
    await expect(linkPrimary(fake, fn)).rejects.toMatchObject({ code: 'EBUSY' });
    expect(await fake.readdir(`${fn}/primary`)).toEqual([]);
  });

  // pci-ep-cfs.c: EBUSY for a second primary link (imx95: the other EPC)
  it('a second primary/ link, to another EPC, fails with EBUSY', async () => {
    const fake = await boot('7.3', 'imx95');
    const [epc0, epc1] = IMX95_EPCS;
    const fn = await mkVntb(fake);
    await linkPrimary(fake, fn, epc0);
    await expect(linkPrimary(fake, fn, epc1)).rejects.toMatchObject({ code: 'EBUSY' });
    expect(await fake.readdir(`${fn}/primary`)).toEqual([epc0]);
  });

  // pci-ep-cfs.c, pci-epf-core.c: a primary/ link binds like a controllers/ link (7.3.4: MSI errors are only logged)
  it('a primary/ link binds the function: an MSI count of 0 is reported as at a controllers/ link', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake);
    const mark = fake.dmesg().length;
    await linkPrimary(fake, fn);
    expect(logSince(fake, mark)).toContainEqual(expect.stringContaining('MSI configuration failed'));
  });
});

describe('secondary/ links on 7.3.4', () => {
  // pci-ep-cfs.c, observed 7.3.4: pci-epf-test through secondary/ (never bound) → EINVAL + WARN at pci-epf-test.c:1348
  it('a pci_epf_test secondary/ link fails with EINVAL and a WARN at pci-epf-test.c:1348', async () => {
    const fake = await boot('7.3');
    const fn = await mkLinkable(fake);
    const mark = fake.dmesg().length;
    await expect(linkSecondary(fake, fn)).rejects.toMatchObject({ code: 'EINVAL', syscall: 'symlink' });
    const lines = logSince(fake, mark);
    expect(lines).toContainEqual(expect.stringMatching(WARN_1348));
    expect(lines).toContainEqual(expect.stringContaining('------------[ cut here ]------------'));
    expect(await fake.readdir(`${fn}/secondary`)).toEqual([]);
    expect(fake.tainted).toBe(true);
  });

  // observed 7.3.4: the 1348 WARN is once per boot
  it('a second failing pci_epf_test secondary/ link fails with EINVAL without a second splat', async () => {
    const fake = await boot('7.3');
    await expect(linkSecondary(fake, await mkLinkable(fake, 'pci_epf_test', 'a'))).rejects.toMatchObject({ code: 'EINVAL' });
    const mark = fake.dmesg().length;
    await expect(linkSecondary(fake, await mkLinkable(fake, 'pci_epf_test', 'b'))).rejects.toMatchObject({ code: 'EINVAL' });
    expect(countMatching(logSince(fake, mark), WARN_1348)).toBe(0);
  });

  // pci-ep-cfs.c, pci-epf-core.c: vNTB through secondary/ only → ln 0, no log (bind is a no-op without a primary EPC)
  it('a vNTB secondary/ link without a primary succeeds and logs nothing', async () => {
    const fake = await boot('7.3');
    const fn = await mkVntb(fake);
    const mark = fake.dmesg().length;
    const link = await linkSecondary(fake, fn);
    expect(logSince(fake, mark)).toEqual([]);
    expect(await fake.readdir(`${fn}/secondary`)).toEqual(['s1']);
    expect(await fake.readlink(link)).toBe('../../../../../pci_ep/controllers/7e000000.pcie-ep');
  });

  // pci-ep-cfs.c, pci-epf-core.c: after a secondary/-only link, type-group writes → EOPNOTSUPP
  it('a vNTB secondary/ link makes type-group writes fail with EOPNOTSUPP', async () => {
    const fake = await boot('7.3');
    const fn = await mkVntb(fake);
    const tg = await typeGroup(fake, fn);
    await linkSecondary(fake, fn);
    await expect(fake.write(`${tg}/db_count`, '8')).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
    expect(await cat(fake, `${tg}/db_count`)).toBe('4\n');
  });

  // pci-ep-cfs.c, pci-epf-core.c: secondary has its own EBUSY check
  it('a second secondary/ link of the same function fails with EBUSY', async () => {
    const fake = await boot('7.3');
    const fn = await mkVntb(fake);
    await linkSecondary(fake, fn, undefined, 's1');
    await expect(linkSecondary(fake, fn, undefined, 's2')).rejects.toMatchObject({ code: 'EBUSY' });
    expect(await fake.readdir(`${fn}/secondary`)).toEqual(['s1']);
  });

  // pci-ep-cfs.c, pci-epf-core.c: with no free function number a secondary/ link fails first: EINVAL + Exceeding…
  it('a secondary/ link with no free function number fails with EINVAL and "Exceeding max supported Function Number"', async () => {
    const fake = await boot('7.3');
    await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'a'), undefined, 'a');
    await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'b'), undefined, 'b');
    const v = await mkVntb(fake);
    const mark = fake.dmesg().length;
    await expect(linkSecondary(fake, v)).rejects.toMatchObject({ code: 'EINVAL' });
    expect(logSince(fake, mark)).toContainEqual(expect.stringContaining('pci_epc 7e000000.pcie-ep: Exceeding max supported Function Number'));
    expect(await fake.readdir(`${v}/secondary`)).toEqual([]);
  });

  // pci-ep-cfs.c, pci-epf-core.c: pci-epf-test through secondary/ with no free function number fails at the number first (no 1348 WARN)
  it('a pci_epf_test secondary/ link with no free function number fails before bind', async () => {
    const fake = await boot('7.3', 'imx95');
    const [epc0] = IMX95_EPCS;
    await linkToEpc(fake, await mkLinkable(fake, 'pci_epf_test', 'a'), epc0, 'a');
    const b = await mkLinkable(fake, 'pci_epf_test', 'b');
    const mark = fake.dmesg().length;
    await expect(linkSecondary(fake, b, epc0)).rejects.toMatchObject({ code: 'EINVAL' });
    const lines = logSince(fake, mark);
    expect(lines).toContainEqual(expect.stringContaining(`pci_epc ${epc0}: Exceeding max supported Function Number`));
    expect(countMatching(lines, WARN_1348)).toBe(0);
  });
});

describe('virtual functions on 7.3.4', () => {
  // pci-ep-cfs.c, pci-epf-core.c: EBUSY if the PF is already linked to an EPC
  it('a VF link into a PF that is linked to an EPC fails with EBUSY', async () => {
    const fake = await boot('7.3');
    const pf = await mkLinkable(fake, 'pci_epf_test', 'pf');
    const vf = await mkLinkable(fake, 'pci_epf_test', 'vf');
    await linkToEpc(fake, pf);
    await expect(linkVf(fake, pf, vf)).rejects.toMatchObject({ code: 'EBUSY' });
    expect(await fake.readdir(pf)).not.toContain('vf');
  });

  // pci-ep-cfs.c, pci-epf-core.c: EBUSY if the VF is already linked to an EPC
  it('a VF link of a function that is linked to an EPC fails with EBUSY', async () => {
    const fake = await boot('7.3');
    const pf = await mkLinkable(fake, 'pci_epf_test', 'pf');
    const vf = await mkLinkable(fake, 'pci_epf_test', 'vf');
    await linkToEpc(fake, vf);
    await expect(linkVf(fake, pf, vf)).rejects.toMatchObject({ code: 'EBUSY' });
  });

  // pci-ep-cfs.c, pci-epf-core.c: EBUSY if the VF already has a PF
  it('a VF that already has a PF cannot be linked under a second PF (EBUSY)', async () => {
    const fake = await boot('7.3');
    const pf1 = await mkfn(fake, 'pci_epf_test', 'pf1');
    const pf2 = await mkfn(fake, 'pci_epf_test', 'pf2');
    const vf = await mkfn(fake, 'pci_epf_test', 'vf');
    await linkVf(fake, pf1, vf);
    await expect(linkVf(fake, pf2, vf)).rejects.toMatchObject({ code: 'EBUSY' });
    expect(await fake.readdir(pf2)).not.toContain('vf');
  });

  // pci-ep-cfs.c, pci-epf-core.c: is_vf stays until rmdir/re-mkdir; a new function of the same name is linkable
  it('rmdir and mkdir of a former VF makes it linkable again', async () => {
    const fake = await boot('7.3');
    const pf = await mkLinkable(fake, 'pci_epf_test', 'pf');
    const vf = await mkLinkable(fake, 'pci_epf_test', 'vf');
    await fake.unlink(await linkVf(fake, pf, vf));
    await fake.rmdir(vf);
    await mkLinkable(fake, 'pci_epf_test', 'vf');
    await linkToEpc(fake, vf);
    expect(await fake.readlink(`${epcPath()}/l1`)).toBe('../../../pci_ep/functions/pci_epf_test/vf');
  });

  // pci-ep-cfs.c, pci-epf-core.c: a PF holding a VF cannot be linked on an EPC without max-virtual-functions,
  // also through primary/ (the vNTB PF case of the 7.3.4 VF oops, with a never-bound VF: no oops)
  it('a vNTB PF holding a never-bound VF fails to link through primary/ with EINVAL and "Exceeds max vfunc number"', async () => {
    const fake = await boot('7.3');
    const pf = await mkVntb(fake);
    const vf = await mkLinkable(fake, 'pci_epf_test', 'vf');
    await linkVf(fake, pf, vf);
    const mark = fake.dmesg().length;
    await expect(linkPrimary(fake, pf)).rejects.toMatchObject({ code: 'EINVAL' });
    expect(logSince(fake, mark)).toContainEqual(expect.stringContaining('pci_epf_vntb pci_epf_vntb.0: PF0: Exceeds max vfunc number'));
    expect(fake.tainted).toBe(false);
  });
});
