// The directory and file rules of pci_ep configfs: one test per configfs rule (fs/configfs/dir.c,
// pci-ep-cfs.c) that the port can express (observed 6.1 and 6.12, the same on 7.3.4
// unless marked), including the creating open and rename a shell can issue (observed 7.3.4).
import { describe, expect, it } from 'vitest';
import {
  CTRLS,
  FUNCS,
  VERSIONS,
  boot,
  cat,
  epcPath,
  linkPrimary,
  linkToEpc,
  linkVf,
  ls,
  mkLinkable,
  mkfn,
} from './helpers.js';

const DEVICES = '/sys/bus/pci-epf/devices';

describe.each(VERSIONS)('directory rules on %s', (kernel) => {
  // fs/configfs/dir.c, observed 6.1/6.12: open(O_CREAT) of a new name → EACCES (fs/namei.c: no ->create in configfs)
  it('a creating open of a new name fails with EACCES in a function dir, functions/<entry>/ and controllers/', async () => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    for (const p of [`${fn}/newfile`, `${FUNCS}/pci_epf_test/nofunc`, `${CTRLS}/x`, `${fn}/primary/x`])
      await expect(fake.create(p)).rejects.toMatchObject({ code: 'EACCES', syscall: 'open', path: p });
    expect(await ls(fake, fn)).not.toContain('newfile');
  });

  // fs/configfs/dir.c, observed 6.1/6.12: O_CREAT|O_TRUNC of an existing attribute → 0, value unchanged; O_EXCL → EEXIST
  it('a creating open of an existing attribute succeeds and keeps the value; with O_EXCL it is EEXIST', async () => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    await fake.write(`${fn}/vendorid`, '0x1957');
    await fake.create(`${fn}/vendorid`);
    expect(await cat(fake, `${fn}/vendorid`)).toBe('0x1957\n');
    expect(await fake.lstat(`${fn}/vendorid`)).toMatchObject({ size: 4096, uid: 0, gid: 0 });
    await expect(fake.create(`${fn}/vendorid`, { exclusive: true })).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(fake.create(fn)).rejects.toMatchObject({ code: 'EISDIR' });
  });

  // fs/configfs/dir.c: rename of a function or an attribute → EPERM (observed 7.3.4)
  it('rename of a function, an attribute or a link fails with EPERM; a missing source is ENOENT', async () => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    await expect(fake.rename(fn, `${fn}x`)).rejects.toMatchObject({ code: 'EPERM', syscall: 'rename' });
    await expect(fake.rename(`${fn}/vendorid`, `${fn}/v2`)).rejects.toMatchObject({ code: 'EPERM' });
    await expect(fake.rename(`${fn}/nothing`, `${fn}/v2`)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fake.rename(`${fn}/vendorid`, `${fn}/primary`)).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(fake.rename(fn, `${fn}/primary/x`)).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(fake.rename(`${fn}/vendorid`, '/tmp/v')).rejects.toMatchObject({ code: 'EXDEV' });
    await fake.rename(`${fn}/vendorid`, `${fn}/vendorid`);
    expect(await ls(fake, fn)).toContain('vendorid');
  });

  // fs/configfs/dir.c, observed 6.1/6.12: unlink of an attribute file → EPERM
  it('unlink of an attribute fails with EPERM and the attribute stays', async () => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    await expect(fake.unlink(`${fn}/vendorid`)).rejects.toMatchObject({ code: 'EPERM', syscall: 'unlink' });
    expect(await cat(fake, `${fn}/vendorid`)).toBe('0xffff\n');
  });

  // fs/configfs/dir.c, observed 6.1/6.12: rmdir of primary, secondary, functions/<entry>, functions, controllers → EPERM
  it.each([
    ['primary', (fn: string) => `${fn}/primary`],
    ['secondary', (fn: string) => `${fn}/secondary`],
    ['functions/<entry>', () => `${FUNCS}/pci_epf_test`],
    ['functions', () => FUNCS],
    ['controllers', () => CTRLS],
  ] as const)('rmdir of %s fails with EPERM and the directory stays', async (_name, where) => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    const dir = where(fn);
    await expect(fake.rmdir(dir)).rejects.toMatchObject({ code: 'EPERM', syscall: 'rmdir' });
    expect(await fake.stat(dir)).toMatchObject({ kind: 'dir' });
  });

  // fs/configfs/dir.c, observed 6.1/6.12: read() of a directory → EISDIR (21)
  it('read of a directory fails with EISDIR', async () => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    await expect(fake.read(fn)).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(fake.read(FUNCS)).rejects.toMatchObject({ code: 'EISDIR' });
  });

  // fs/configfs/dir.c, observed 6.1/6.12: open(O_WRONLY) of a directory → EISDIR
  it('a write to a directory fails with EISDIR', async () => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    await expect(fake.write(fn, '1')).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(fake.write(epcPath(), '1')).rejects.toMatchObject({ code: 'EISDIR' });
  });

  // fs/configfs/dir.c, observed 6.1/6.12: rmdir of an unlinked function → 0; its pci_epf_test.N device disappears
  it('rmdir of an unlinked function succeeds and its EPF device disappears', async () => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    await fake.rmdir(fn);
    expect(await fake.exists(fn)).toBe(false);
    expect(await fake.readdir(`${FUNCS}/pci_epf_test`)).toEqual([]);
    expect(await fake.readdir(DEVICES)).toEqual([]);
  });

  // fs/configfs/dir.c, observed 6.1/6.12 (rmdir of an unlinked function) and pci-ep-cfs.c, observed 6.12 (unlink always 0 when not started)
  it('rmdir of a function that was linked and then unlinked succeeds', async () => {
    const fake = await boot(kernel);
    const fn = await mkLinkable(fake);
    const link = await linkToEpc(fake, fn);
    await fake.unlink(link);
    await fake.rmdir(fn);
    expect(await fake.exists(fn)).toBe(false);
  });

  // fs/configfs/dir.c, observed 6.1/6.12: second rmdir → ENOENT (2)
  it('a second rmdir of the same function fails with ENOENT', async () => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    await fake.rmdir(fn);
    await expect(fake.rmdir(fn)).rejects.toMatchObject({ code: 'ENOENT', syscall: 'rmdir', path: fn });
  });

  // fs/configfs/dir.c, observed 6.1/6.12: reading an attribute of a removed function → ENOENT
  it('reading an attribute of a removed function fails with ENOENT', async () => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    await fake.rmdir(fn);
    await expect(fake.read(`${fn}/vendorid`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  // fs/configfs/dir.c, observed 6.1/6.12: rmdir of a function that is the target of a controllers/<epc>/<l> link → EBUSY (16)
  it('rmdir of a function linked from controllers/ fails with EBUSY and leaves function and link in place', async () => {
    const fake = await boot(kernel);
    const fn = await mkLinkable(fake);
    const link = await linkToEpc(fake, fn);
    await expect(fake.rmdir(fn)).rejects.toMatchObject({ code: 'EBUSY', syscall: 'rmdir' });
    expect(await fake.exists(`${fn}/vendorid`)).toBe(true);
    expect(await fake.readlink(link)).toBe('../../../pci_ep/functions/pci_epf_test/func1');
  });

  // fs/configfs/dir.c, observed 6.1/6.12: rmdir of a function that is the target of another function's VF link → EBUSY;
  // observed 7.3.4: rmdir of the VF → EBUSY while the link exists
  it('rmdir of a VF while its PF links to it fails with EBUSY', async () => {
    const fake = await boot(kernel);
    const pf = await mkfn(fake, 'pci_epf_test', 'func1');
    const vf = await mkfn(fake, 'pci_epf_test', 'func2');
    await linkVf(fake, pf, vf);
    await expect(fake.rmdir(vf)).rejects.toMatchObject({ code: 'EBUSY' });
    expect(await fake.exists(vf)).toBe(true);
  });

  // fs/configfs/dir.c, observed 6.1/6.12: ln -s <func> controllers/<name> (a link in controllers/ itself) → EPERM
  it('a link placed in controllers/ itself fails with EPERM', async () => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    await expect(fake.symlink(fn, `${CTRLS}/mylink`)).rejects.toMatchObject({ code: 'EPERM', syscall: 'symlink' });
    expect(await fake.readdir(CTRLS)).toEqual(['7e000000.pcie-ep']);
  });

  // fs/configfs/dir.c, observed 6.1/6.12: VF link between functions, no EPC → 0, listed as
  // func2 -> ../../../../pci_ep/functions/pci_epf_test/func2
  it('a VF link between two functions succeeds and reads back in configfs relative form', async () => {
    const fake = await boot(kernel);
    const pf = await mkfn(fake, 'pci_epf_test', 'func1');
    const vf = await mkfn(fake, 'pci_epf_test', 'func2');
    const link = await linkVf(fake, pf, vf);
    expect(await fake.readdir(pf)).toContain('func2');
    expect(await fake.lstat(link)).toMatchObject({ kind: 'symlink' });
    expect(await fake.readlink(link)).toBe('../../../../pci_ep/functions/pci_epf_test/func2');
  });

  // fs/configfs/dir.c, observed 6.1/6.12: unlink of the VF link → 0
  it('unlink of a VF link succeeds and removes it from the PF directory', async () => {
    const fake = await boot(kernel);
    const pf = await mkfn(fake, 'pci_epf_test', 'func1');
    const vf = await mkfn(fake, 'pci_epf_test', 'func2');
    const link = await linkVf(fake, pf, vf);
    await fake.unlink(link);
    expect(await fake.readdir(pf)).not.toContain('func2');
    expect(await fake.exists(vf)).toBe(true);
  });
});

describe('directory rules on 7.3.4', () => {
  // observed 7.3.4: EACCES for open(O_CREAT) of a new name (`echo 1 > …/newfile`).
  // KernelPort.write opens O_WRONLY without O_CREAT (src/kernel/port.ts), and open(2) without
  // O_CREAT of a missing name is ENOENT before configfs is asked; so through the port a write to
  // a new name is ENOENT and creates nothing, on a real board as in the fake.
  it('a write to a new name in a function directory fails with ENOENT and creates nothing', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake);
    await expect(fake.write(`${fn}/newfile`, '1')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await fake.exists(`${fn}/newfile`)).toBe(false);
  });

  it('a write to a new name in functions/<entry>/ fails with ENOENT and creates nothing', async () => {
    const fake = await boot('7.3');
    await expect(fake.write(`${FUNCS}/pci_epf_test/nofunc`, '1')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await fake.readdir(`${FUNCS}/pci_epf_test`)).toEqual([]);
  });

  // fs/configfs/dir.c: rmdir of a function holding a primary/ link → ENOTEMPTY (39) (observed 7.3.4)
  it('rmdir of a function holding a primary/ link fails with ENOTEMPTY', async () => {
    const fake = await boot('7.3');
    const fn = await mkLinkable(fake);
    const link = await linkPrimary(fake, fn);
    await expect(fake.rmdir(fn)).rejects.toMatchObject({ code: 'ENOTEMPTY', syscall: 'rmdir' });
    expect(await fake.lstat(link)).toMatchObject({ kind: 'symlink' });
  });

  // fs/configfs/dir.c, pci-ep-cfs.c, pci-epf-core.c: rmdir of a PF holding a VF link → ENOTEMPTY (observed 7.3.4).
  // A secondary/ link follows the same rule only [inferred], so it is not tested.
  it('rmdir of a PF holding a VF link fails with ENOTEMPTY', async () => {
    const fake = await boot('7.3');
    const pf = await mkfn(fake, 'pci_epf_test', 'func1');
    const vf = await mkfn(fake, 'pci_epf_test', 'func2');
    await linkVf(fake, pf, vf);
    await expect(fake.rmdir(pf)).rejects.toMatchObject({ code: 'ENOTEMPTY' });
    expect(await ls(fake, `${FUNCS}/pci_epf_test`)).toEqual(['func1', 'func2']);
  });

  // observed 7.3.4: VF links also across drivers (a test VF under a vNTB PF)
  it('a pci_epf_test function can be the VF of a vNTB PF', async () => {
    const fake = await boot('7.3');
    const pf = await mkfn(fake, 'pci_epf_vntb', 'vntb1');
    const vf = await mkfn(fake, 'pci_epf_test', 'func2');
    const link = await linkVf(fake, pf, vf);
    expect(await fake.readlink(link)).toBe('../../../../pci_ep/functions/pci_epf_test/func2');
  });
});
