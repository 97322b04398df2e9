// Creating a function: what mkdir functions/<driver>/<name> makes, the global IDR index and the
// places where mkdir is refused (pci-ep-cfs.c, fs/configfs/dir.c; type group since 930e343cde6c).
import { describe, expect, it } from 'vitest';
import { boot, cat, CFS, CTRLS, FUNCTION_ATTRIBUTES, FUNCS, fnPath, logSince, ls, mkfn } from './helpers.js';

const DEVICES = '/sys/bus/pci-epf/devices';
const BASE_LISTING = [...FUNCTION_ATTRIBUTES, 'primary', 'secondary'].sort();

describe.each(['6.1', '6.12'] as const)('mkdir of a pci_epf_test function on %s', (kernel) => {
  // observed 6.12 (pci_epf_test type group absent on 6.1/6.12); observed 6.x: primary/ and
  // secondary/ are present at the first listing (the delayed-work creation was not seen racing)
  it('creates the 12 attributes, primary/ and secondary/, and no type group', async () => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    expect(await ls(fake, fn)).toEqual(BASE_LISTING);
  });
});

describe('mkdir of a function on 7.3.4', () => {
  // pci-ep-cfs.c: ls order, plus pci_epf_test.<N>/ (observed 7.3.4: 15 entries; since 930e343cde6c)
  it('a pci_epf_test function holds the 12 attributes, pci_epf_test.0/, primary/ and secondary/ in ls order', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake);
    expect(await ls(fake, fn)).toEqual([
      'baseclass_code',
      'cache_line_size',
      'deviceid',
      'interrupt_pin',
      'msi_interrupts',
      'msix_interrupts',
      'pci_epf_test.0',
      'primary',
      'progif_code',
      'revid',
      'secondary',
      'subclass_code',
      'subsys_id',
      'subsys_vendor_id',
      'vendorid',
    ]);
  });

  // pci-ep-cfs.c: both pci_epf_test and pci_epf_vntb carry a type group on 7.3.4
  it('a pci_epf_vntb function holds the 12 attributes, pci_epf_vntb.0/, primary/ and secondary/', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake, 'pci_epf_vntb', 'vntb1');
    expect(await ls(fake, fn)).toEqual([...BASE_LISTING, 'pci_epf_vntb.0'].sort());
  });

  // fs/configfs/dir.c, observed 6.1/6.12: primary/ and secondary/ are empty until something links
  it('primary/ and secondary/ start empty', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake);
    expect(await fake.readdir(`${fn}/primary`)).toEqual([]);
    expect(await fake.readdir(`${fn}/secondary`)).toEqual([]);
  });

  // pci-ep-cfs.c, observed 6.12: any name is accepted (func.3, "func 4")
  it('accepts any name, including one with a dot or a space', async () => {
    const fake = await boot('7.3');
    await mkfn(fake, 'pci_epf_test', 'func.3');
    await mkfn(fake, 'pci_epf_test', 'func 4');
    expect(await ls(fake, `${FUNCS}/pci_epf_test`)).toEqual(['func 4', 'func.3']);
  });

  // pci-ep-cfs.c, observed 6.12: the name does not set the index
  it('does not take the index from the name: func.3 becomes pci_epf_test.0', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake, 'pci_epf_test', 'func.3');
    expect(await fake.readdir(fn)).toContain('pci_epf_test.0');
    expect(await fake.readdir(DEVICES)).toEqual(['pci_epf_test.0']);
  });

  // pci-ep-cfs.c: N comes from one global IDR shared by all function types (observed 7.3.4)
  it('shares one index space between drivers: a vNTB mkdir after pci_epf_test.0 gets pci_epf_vntb.1', async () => {
    const fake = await boot('7.3');
    await mkfn(fake, 'pci_epf_test', 'func1');
    const vntb = await mkfn(fake, 'pci_epf_vntb', 'vntb1');
    expect(await fake.readdir(vntb)).toContain('pci_epf_vntb.1');
    expect(await ls(fake, DEVICES)).toEqual(['pci_epf_test.0', 'pci_epf_vntb.1']);
  });

  // pci-ep-cfs.c, observed 6.12: lowest free from 0, reused after rmdir
  it('hands out the lowest free index, reusing one freed by rmdir', async () => {
    const fake = await boot('7.3');
    await mkfn(fake, 'pci_epf_test', 'a');
    await mkfn(fake, 'pci_epf_test', 'b');
    await mkfn(fake, 'pci_epf_vntb', 'c');
    await fake.rmdir(fnPath('pci_epf_test', 'b'));
    const d = await mkfn(fake, 'pci_epf_vntb', 'd');
    expect(await fake.readdir(d)).toContain('pci_epf_vntb.1');
    const e = await mkfn(fake, 'pci_epf_test', 'e');
    expect(await fake.readdir(e)).toContain('pci_epf_test.3');
  });

  // pci-ep-cfs.c, observed 6.12: name exists → EEXIST (17)
  it('fails with EEXIST for a name that exists and leaves the first function as it was', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake);
    await fake.write(`${fn}/msi_interrupts`, '8');
    await expect(fake.mkdir(fn)).rejects.toMatchObject({ code: 'EEXIST', syscall: 'mkdir', path: fn });
    expect(await fake.readdir(DEVICES)).toEqual(['pci_epf_test.0']);
    expect(await cat(fake, `${fn}/msi_interrupts`)).toBe('8\n');
  });

  // pci-ep-cfs.c, observed 6.12: mkdir functions/not_a_driver → EPERM
  it('refuses mkdir directly in functions/ with EPERM', async () => {
    const fake = await boot('7.3');
    await expect(fake.mkdir(`${FUNCS}/not_a_driver`)).rejects.toMatchObject({ code: 'EPERM' });
    expect(await fake.exists(`${FUNCS}/not_a_driver`)).toBe(false);
  });

  // fs/configfs/dir.c, observed 6.1/6.12: mkdir inside a function dir → EPERM
  it('refuses mkdir inside a function directory with EPERM', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake);
    await expect(fake.mkdir(`${fn}/sub`)).rejects.toMatchObject({ code: 'EPERM' });
    expect(await fake.exists(`${fn}/sub`)).toBe(false);
  });

  // fs/configfs/dir.c, observed 6.1/6.12: mkdir inside primary/ → EPERM
  it('refuses mkdir inside primary/ with EPERM', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake);
    await expect(fake.mkdir(`${fn}/primary/x`)).rejects.toMatchObject({ code: 'EPERM' });
    expect(await fake.readdir(`${fn}/primary`)).toEqual([]);
  });

  // fs/configfs/dir.c, observed 6.1/6.12: mkdir in controllers/ → EPERM
  it('refuses mkdir in controllers/ with EPERM', async () => {
    const fake = await boot('7.3');
    await expect(fake.mkdir(`${CTRLS}/1234.pcie-ep`)).rejects.toMatchObject({ code: 'EPERM' });
    expect(await fake.readdir(CTRLS)).toEqual(['7e000000.pcie-ep']);
  });

  // fs/configfs/dir.c, observed 6.1/6.12: mkdir at pci_ep/ level → EPERM
  it('refuses mkdir at pci_ep/ level with EPERM', async () => {
    const fake = await boot('7.3');
    await expect(fake.mkdir(`${CFS}/extra`)).rejects.toMatchObject({ code: 'EPERM' });
    expect(await ls(fake, CFS)).toEqual(['controllers', 'functions']);
  });

  // pci-epf-vntb.c: vNTB's probe logs "pci-ep epf driver loaded" at mkdir time (observed 7.3.4)
  it('logs "pci_epf_vntb pci_epf_vntb.<N>: pci-ep epf driver loaded" when a vNTB function is made', async () => {
    const fake = await boot('7.3');
    await mkfn(fake, 'pci_epf_test', 'func1');
    const mark = fake.dmesg().length;
    await mkfn(fake, 'pci_epf_vntb', 'vntb1');
    expect(logSince(fake, mark)).toContainEqual(expect.stringContaining('pci_epf_vntb pci_epf_vntb.1: pci-ep epf driver loaded'));
  });
});
