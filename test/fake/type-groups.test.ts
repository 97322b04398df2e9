// Driver type groups <driver>.<N>/: vNTB's doorbell/MW/BAR attributes and pci_epf_test's
// barN_size (pci-epf-vntb.c, pci-epf-test.c since 930e343cde6c; observed 7.3.4).
import { describe, expect, it } from 'vitest';
import { boot, byteLength, cat, linkPrimary, linkToEpc, logSince, ls, mkLinkable, mkVntb, mkfn, typeGroup } from './helpers.js';

const VNTB_FILES = [
  'ctrl_bar',
  'db_bar',
  'db_count',
  'mw1',
  'mw1_bar',
  'mw2',
  'mw2_bar',
  'mw3',
  'mw3_bar',
  'mw4',
  'mw4_bar',
  'num_mws',
  'spad_count',
  'vbus_number',
  'vntb_pid',
  'vntb_vid',
];

async function vntbGroup(kernel = '7.3') {
  const fake = await boot(kernel);
  const fn = await mkfn(fake, 'pci_epf_vntb', 'vntb1');
  return { fake, fn, tg: await typeGroup(fake, fn) };
}

async function testGroup() {
  const fake = await boot('7.3');
  const fn = await mkLinkable(fake);
  return { fake, fn, tg: await typeGroup(fake, fn) };
}

describe('pci_epf_vntb type group on 7.3.4', () => {
  // pci-epf-vntb.c, observed 7.3.4: ls of the group gives exactly these 16 files
  it('holds exactly the 16 vNTB attributes', async () => {
    const { fake, tg } = await vntbGroup();
    expect(await ls(fake, tg)).toEqual(VNTB_FILES);
  });

  // pci-epf-vntb.c, observed 7.3.4 defaults: spad_count/db_count/num_mws 0, vbus_number 255, vid/pid 0, *_bar −1
  it.each([
    ['spad_count', '0\n'],
    ['db_count', '0\n'],
    ['num_mws', '0\n'],
    ['vbus_number', '255\n'],
    ['vntb_vid', '0\n'],
    ['vntb_pid', '0\n'],
    ['ctrl_bar', '-1\n'],
    ['db_bar', '-1\n'],
    ['mw1_bar', '-1\n'],
    ['mw2_bar', '-1\n'],
    ['mw3_bar', '-1\n'],
    ['mw4_bar', '-1\n'],
  ])('%s reads %j after mkdir', async (attr, expected) => {
    const { fake, tg } = await vntbGroup();
    expect(await cat(fake, `${tg}/${attr}`)).toBe(expected);
  });

  // pci-epf-vntb.c: observed read-backs (vntb_vid 0x1957 → 6487, vntb_pid 0x080A → 2058, vbus_number 0x10 → 16,
  // db_count 4 → 4, spad_count 128 → 128), all %d\n decimal
  it.each([
    ['vntb_vid', '0x1957', '6487\n'],
    ['vntb_pid', '0x080A', '2058\n'],
    ['vbus_number', '0x10', '16\n'],
    ['db_count', '4', '4\n'],
    ['spad_count', '128', '128\n'],
    ['num_mws', '4', '4\n'],
  ])('%s accepts %s, returns its byte count and reads back %j', async (attr, data, expected) => {
    const { fake, tg } = await vntbGroup();
    await expect(fake.write(`${tg}/${attr}`, data)).resolves.toBe(byteLength(data));
    expect(await cat(fake, `${tg}/${attr}`)).toBe(expected);
  });

  // pci-epf-vntb.c, observed 7.3.4: mw1 0x100000 → 1048576 once num_mws ≥ 1 (%lld\n)
  it('mw1 accepts 0x100000 once num_mws is 1 and reads 1048576', async () => {
    const { fake, tg } = await vntbGroup();
    await fake.write(`${tg}/num_mws`, '1');
    await fake.write(`${tg}/mw1`, '0x100000');
    expect(await cat(fake, `${tg}/mw1`)).toBe('1048576\n');
  });

  // pci-epf-vntb.c, observed 7.3.4: N ≤ num_mws takes any u64 (kstrtou64)
  it('mw4 takes values above 32 bits once num_mws is 4', async () => {
    const { fake, tg } = await vntbGroup();
    await fake.write(`${tg}/num_mws`, '4');
    await fake.write(`${tg}/mw4`, '0x100000000');
    expect(await cat(fake, `${tg}/mw4`)).toBe('4294967296\n');
    await expect(fake.write(`${tg}/mw4`, '18446744073709551615')).resolves.toBe(20);
  });

  // pci-epf-vntb.c, observed 7.3.4: vntb_vid/vntb_pid are kstrtou32 stored in a u16 (silent truncation), shown decimal
  it.each([
    ['vntb_vid', '0x11957', '6487\n'],
    ['vntb_pid', '0x10000', '0\n'],
    ['vntb_pid', '4294967295', '65535\n'],
  ])('%s silently truncates %s to 16 bits', async (attr, data, expected) => {
    const { fake, tg } = await vntbGroup();
    await fake.write(`${tg}/${attr}`, data);
    expect(await cat(fake, `${tg}/${attr}`)).toBe(expected);
  });

  // pci-epf-vntb.c: db_count checked at write, 3..32 (observed 7.3.4)
  it.each(['3', '32'])('db_count accepts %s', async (data) => {
    const { fake, tg } = await vntbGroup();
    await fake.write(`${tg}/db_count`, data);
    expect(await cat(fake, `${tg}/db_count`)).toBe(`${data}\n`);
  });

  // pci-epf-vntb.c, observed 7.3.4: 0, 2, 128 → EINVAL (and 33, just past the range)
  it.each(['0', '2', '33', '128'])('db_count rejects %s with EINVAL and keeps its value', async (data) => {
    const { fake, tg } = await vntbGroup();
    await fake.write(`${tg}/db_count`, '8');
    await expect(fake.write(`${tg}/db_count`, data)).rejects.toMatchObject({ code: 'EINVAL' });
    expect(await cat(fake, `${tg}/db_count`)).toBe('8\n');
  });

  // pci-epf-vntb.c, observed 7.3.4: db_count overflow → ERANGE (kstrtou32 errno passed through)
  it('db_count rejects a value past u32 with ERANGE', async () => {
    const { fake, tg } = await vntbGroup();
    await expect(fake.write(`${tg}/db_count`, '4294967296')).rejects.toMatchObject({ code: 'ERANGE' });
    expect(await cat(fake, `${tg}/db_count`)).toBe('0\n');
  });

  // pci-epf-vntb.c, observed 7.3.4: spad_count kstrtou32 (EINVAL/ERANGE passed through)
  it.each([
    ['garbage', 'EINVAL'],
    ['-1', 'EINVAL'],
    ['4294967296', 'ERANGE'],
  ])('spad_count rejects %s with %s', async (data, code) => {
    const { fake, tg } = await vntbGroup();
    await expect(fake.write(`${tg}/spad_count`, data)).rejects.toMatchObject({ code });
    expect(await cat(fake, `${tg}/spad_count`)).toBe('0\n');
  });

  // pci-epf-vntb.c, observed 7.3.4: num_mws > 4 → EINVAL
  it('num_mws rejects 5 with EINVAL', async () => {
    const { fake, tg } = await vntbGroup();
    await expect(fake.write(`${tg}/num_mws`, '5')).rejects.toMatchObject({ code: 'EINVAL' });
    expect(await cat(fake, `${tg}/num_mws`)).toBe('0\n');
  });

  // pci-epf-vntb.c, observed 7.3.4: mwN store fails when N > num_mws: ERANGE + "MW<k> out of range (num_mws=<n>)" at level 3
  it('writing mw2 while num_mws is 1 fails with ERANGE and logs "MW2 out of range (num_mws=1)"', async () => {
    const { fake, tg } = await vntbGroup();
    await fake.write(`${tg}/num_mws`, '1');
    const mark = fake.kernelLog().length;
    await expect(fake.write(`${tg}/mw2`, '0x100000')).rejects.toMatchObject({ code: 'ERANGE' });
    const rec = fake.kernelLog().slice(mark).find((r) => r.text.includes('MW2 out of range (num_mws=1)'));
    expect(rec).toBeDefined();
    expect(rec?.text).toContain('pci_epf_vntb pci_epf_vntb.0: MW2 out of range (num_mws=1)');
    expect(rec?.level).toBe(3);
  });

  // pci-epf-vntb.c, observed 7.3.4: show fails too: cat mw2 fails while num_mws < 2
  it('reading mw2 while num_mws is 1 fails with ERANGE', async () => {
    const { fake, tg } = await vntbGroup();
    await fake.write(`${tg}/num_mws`, '1');
    await expect(fake.read(`${tg}/mw2`)).rejects.toMatchObject({ code: 'ERANGE' });
  });

  // pci-epf-vntb.c, observed 7.3.4: reading mw1 with the default num_mws 0 fails
  it('reading mw1 while num_mws is still 0 fails with ERANGE', async () => {
    const { fake, tg } = await vntbGroup();
    await expect(fake.read(`${tg}/mw1`)).rejects.toMatchObject({ code: 'ERANGE' });
  });

  // pci-epf-vntb.c, observed 7.3.4: the number is parsed first (-1 → EINVAL, no log)
  it('writing -1 to mw2 while num_mws is 0 fails with EINVAL and logs nothing', async () => {
    const { fake, tg } = await vntbGroup();
    const mark = fake.dmesg().length;
    await expect(fake.write(`${tg}/mw2`, '-1')).rejects.toMatchObject({ code: 'EINVAL' });
    expect(logSince(fake, mark)).toEqual([]);
  });

  // pci-epf-vntb.c: *_bar kstrtoint, −1..5 (7.3.4: -0, +5 accepted)
  it.each([
    ['ctrl_bar', '5', '5\n'],
    ['db_bar', '0', '0\n'],
    ['mw1_bar', '-1', '-1\n'],
    ['mw2_bar', '-0', '0\n'],
    ['mw3_bar', '+5', '5\n'],
    ['mw4_bar', '2', '2\n'],
  ])('%s accepts %s', async (attr, data, expected) => {
    const { fake, tg } = await vntbGroup();
    await fake.write(`${tg}/${attr}`, data);
    expect(await cat(fake, `${tg}/${attr}`)).toBe(expected);
  });

  // pci-epf-vntb.c: outside −1..5 → EINVAL; 4294967296 → ERANGE (7.3.4)
  it.each([
    ['ctrl_bar', '6', 'EINVAL'],
    ['db_bar', '-2', 'EINVAL'],
    ['mw1_bar', '16', 'EINVAL'],
    ['mw2_bar', 'garbage', 'EINVAL'],
    ['ctrl_bar', '4294967296', 'ERANGE'],
  ])('%s rejects %s with %s and keeps -1', async (attr, data, code) => {
    const { fake, tg } = await vntbGroup();
    await expect(fake.write(`${tg}/${attr}`, data)).rejects.toMatchObject({ code });
    expect(await cat(fake, `${tg}/${attr}`)).toBe('-1\n');
  });

  // fs/configfs/file.c, observed 7.3.4: a zero-length write → EFAULT on type groups too
  it.each(['db_count', 'num_mws', 'ctrl_bar'])('a zero-length write to %s fails with EFAULT', async (attr) => {
    const { fake, tg } = await vntbGroup();
    await expect(fake.write(`${tg}/${attr}`, '')).rejects.toMatchObject({ code: 'EFAULT' });
  });

  // observed 7.3.4 (pci-epf-vntb.c, pci-epf-test.c): every type-group write → EOPNOTSUPP while attached, before parsing and range checks
  it.each([
    ['db_count', '8'],
    ['db_count', '128'],
    ['spad_count', '128'],
    ['num_mws', '2'],
    ['mw1', '0x100000'],
    ['ctrl_bar', '16'],
    ['db_bar', '1'],
    ['mw1_bar', 'garbage'],
  ])('writing %s %s while linked through primary/ fails with EOPNOTSUPP', async (attr, data) => {
    const fake = await boot('7.3');
    const fn = await mkVntb(fake);
    const tg = await typeGroup(fake, fn);
    await fake.write(`${tg}/num_mws`, '1');
    // A window with a size: mw1 = 0 fails the bind (observed 7.3.4, "MW set failed").
    await fake.write(`${tg}/mw1`, '4096');
    await linkPrimary(fake, fn);
    // Read after the bind: it writes the automatic BARs back (observed 7.3.4).
    const before = await cat(fake, `${tg}/${attr}`);
    await expect(fake.write(`${tg}/${attr}`, data)).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
    expect(await cat(fake, `${tg}/${attr}`)).toBe(before);
  });

  // pci-epf-vntb.c, observed 7.3.4: reads work while attached; writes are accepted again after unlink
  it('type-group reads work while linked and writes work again after unlink', async () => {
    const fake = await boot('7.3');
    const fn = await mkVntb(fake);
    const tg = await typeGroup(fake, fn);
    const link = await linkPrimary(fake, fn);
    expect(await cat(fake, `${tg}/db_count`)).toBe('4\n');
    expect(await cat(fake, `${tg}/vbus_number`)).toBe('255\n');
    await fake.unlink(link);
    await fake.write(`${tg}/db_count`, '8');
    expect(await cat(fake, `${tg}/db_count`)).toBe('8\n');
  });

  // pci-epf-vntb.c, observed 7.3.4: huge spad_count/mwN make the link fail ENOMEM — "huge" has no stated threshold, not tested.
  // Open question: vbus_number, vntb_vid, vntb_pid writes while linked were not exercised, not tested.
});

describe('pci_epf_ntb type group on imx95', () => {
  // pci-epf-ntb.c: pci_epf_ntb type group with db_count spad_count num_mws mw1..mw4 (pci-ntb-howto.rst)
  it('holds db_count, spad_count, num_mws and mw1..mw4', async () => {
    const fake = await boot('7.3', 'imx95');
    const fn = await mkfn(fake, 'pci_epf_ntb', 'ntb1');
    const tg = await typeGroup(fake, fn);
    expect(tg.endsWith('/pci_epf_ntb.0')).toBe(true);
    expect(await ls(fake, tg)).toEqual(['db_count', 'mw1', 'mw2', 'mw3', 'mw4', 'num_mws', 'spad_count']);
  });
});

describe('pci_epf_test type group on 7.3.4', () => {
  // pci-epf-test.c, observed 7.3.4: pci_epf_test.<N>/ holds exactly bar0_size..bar5_size
  it('holds exactly bar0_size..bar5_size', async () => {
    const { fake, tg } = await testGroup();
    expect(await ls(fake, tg)).toEqual(['bar0_size', 'bar1_size', 'bar2_size', 'bar3_size', 'bar4_size', 'bar5_size']);
  });

  // pci-epf-test.c, observed 7.3.4: 0644, size 4096
  it('barN_size files are 0644 with size 4096', async () => {
    const { fake, tg } = await testGroup();
    expect(await fake.lstat(`${tg}/bar3_size`)).toMatchObject({ kind: 'file', mode: 0o644, size: 4096 });
  });

  // pci-epf-test.c: defaults 131072\n for BAR0–4, 1048576\n for BAR5 (observed 7.3.4)
  it.each([
    ['bar0_size', '131072\n'],
    ['bar1_size', '131072\n'],
    ['bar2_size', '131072\n'],
    ['bar3_size', '131072\n'],
    ['bar4_size', '131072\n'],
    ['bar5_size', '1048576\n'],
  ])('%s reads %j after mkdir', async (attr, expected) => {
    const { fake, tg } = await testGroup();
    expect(await cat(fake, `${tg}/${attr}`)).toBe(expected);
  });

  // pci-epf-test.c, observed 7.3.4: kstrtouint base 0, power of two accepted (1, 2, 0x10000); read %zu\n
  it.each([
    ['1', '1\n'],
    ['2', '2\n'],
    ['0x10000', '65536\n'],
    ['1073741824', '1073741824\n'],
  ])('bar0_size accepts %s and reads %j', async (data, expected) => {
    const { fake, tg } = await testGroup();
    await expect(fake.write(`${tg}/bar0_size`, data)).resolves.toBe(byteLength(data));
    expect(await cat(fake, `${tg}/bar0_size`)).toBe(expected);
  });

  // pci-epf-test.c, observed 7.3.4: not a power of two → EINVAL (0, -1); ≥ 2^31 → EINVAL (lands in an int)
  it.each(['0', '-1', '3', '0x80000000', '2147483648', '0xFFFFFFFF'])('bar0_size rejects %s with EINVAL and keeps its value', async (data) => {
    const { fake, tg } = await testGroup();
    await expect(fake.write(`${tg}/bar0_size`, data)).rejects.toMatchObject({ code: 'EINVAL' });
    expect(await cat(fake, `${tg}/bar0_size`)).toBe('131072\n');
  });

  // pci-epf-test.c, observed 7.3.4: errno passed through: 4294967296, 99999999999999999999 → ERANGE
  it.each(['4294967296', '99999999999999999999'])('bar0_size rejects %s with ERANGE', async (data) => {
    const { fake, tg } = await testGroup();
    await expect(fake.write(`${tg}/bar0_size`, data)).rejects.toMatchObject({ code: 'ERANGE' });
    expect(await cat(fake, `${tg}/bar0_size`)).toBe('131072\n');
  });

  // pci-epf-test.c, observed 7.3.4: while linked → EOPNOTSUPP for every value, checked before parsing (garbage too)
  it.each(['65536', '3', 'garbage', '4294967296'])('bar1_size rejects %s with EOPNOTSUPP while linked', async (data) => {
    const { fake, fn, tg } = await testGroup();
    await linkToEpc(fake, fn);
    await expect(fake.write(`${tg}/bar1_size`, data)).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
    expect(await cat(fake, `${tg}/bar1_size`)).toBe('131072\n');
  });

  // pci-epf-test.c, observed 7.3.4: accepted again after unlink
  it('bar1_size accepts writes again after unlink', async () => {
    const { fake, fn, tg } = await testGroup();
    const link = await linkToEpc(fake, fn);
    await fake.unlink(link);
    await fake.write(`${tg}/bar1_size`, '65536');
    expect(await cat(fake, `${tg}/bar1_size`)).toBe('65536\n');
  });

  // fs/configfs/file.c, observed 7.3.4: zero-length write → EFAULT on type groups
  it('a zero-length write to bar0_size fails with EFAULT', async () => {
    const { fake, tg } = await testGroup();
    await expect(fake.write(`${tg}/bar0_size`, '')).rejects.toMatchObject({ code: 'EFAULT' });
  });

  // observed 7.3.4 consequences: rmdir + mkdir resets the type group (new EPF device)
  it('rmdir and mkdir reset barN_size to its default', async () => {
    const { fake, fn, tg } = await testGroup();
    await fake.write(`${tg}/bar2_size`, '4096');
    await fake.rmdir(fn);
    const again = await mkfn(fake);
    expect(await cat(fake, `${await typeGroup(fake, again)}/bar2_size`)).toBe('131072\n');
  });
});

describe('pci_epf_vntb BAR assignment at bind (observed 7.3.4 by the differential)', () => {
  it('automatic control, doorbell and first-window BARs take the lowest free BARs and keep them after unlink', async () => {
    const fake = await boot('7.3');
    const fn = await mkVntb(fake);
    const tg = await typeGroup(fake, fn);
    await fake.write(`${tg}/db_count`, '4');
    await fake.write(`${tg}/num_mws`, '1');
    await fake.write(`${tg}/mw1`, '4096');
    await fake.write(`${tg}/ctrl_bar`, '3');
    await linkPrimary(fake, fn);
    const bars = async () => Promise.all(['ctrl_bar', 'db_bar', 'mw1_bar', 'mw2_bar'].map((a) => cat(fake, `${tg}/${a}`)));
    expect(await bars()).toEqual(['3\n', '0\n', '1\n', '-1\n']);
  });

  it('a second window left automatic fails the bind with "MW set failed"', async () => {
    const fake = await boot('7.3');
    const fn = await mkVntb(fake);
    const tg = await typeGroup(fake, fn);
    for (const [a, v] of [['db_count', '4'], ['num_mws', '2'], ['mw1', '4096'], ['mw2', '4096']] as const) await fake.write(`${tg}/${a}`, v);
    const e = await linkPrimary(fake, fn).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'EINVAL' });
    expect((e as { log: string[] }).log).toEqual([
      'pci_epf_vntb pci_epf_vntb.0: MW set failed',
      'pci_epf_vntb pci_epf_vntb.0: MW BAR init failed',
      'pci_epf_vntb pci_epf_vntb.0: Failed to initialize EPC',
    ]);
    expect(await cat(fake, `${tg}/mw1_bar`)).toBe('2\n');
  });
});
