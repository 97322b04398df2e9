// The shared-header quirk: pci-epf-test and pci-epf-vntb point every instance's header at one
// static struct per driver, while MSI counts stay per function (observed 6.12; test_header in pci-epf-test.c).
import { describe, expect, it } from 'vitest';
import { HEADER_FIELDS, VERSIONS, boot, cat, fnPath, mkfn } from './helpers.js';

describe.each(VERSIONS)('pci_epf_test shared header on %s', (kernel) => {
  // pci-epf-test.c test_header, observed 6.12: writing vendorid in func2 changes what func1/vendorid reads
  it('a vendorid written through func2 is what func1 reads', async () => {
    const fake = await boot(kernel);
    const f1 = await mkfn(fake, 'pci_epf_test', 'func1');
    const f2 = await mkfn(fake, 'pci_epf_test', 'func2');
    await fake.write(`${f2}/vendorid`, '0x1957');
    expect(await cat(fake, `${f1}/vendorid`)).toBe('0x1957\n');
  });

  // pci-epf-test.c test_header, observed 6.12: all ten header fields are shared
  it.each(HEADER_FIELDS)('%s is shared between the functions of the driver', async (field) => {
    const fake = await boot(kernel);
    const f1 = await mkfn(fake, 'pci_epf_test', 'func1');
    const f2 = await mkfn(fake, 'pci_epf_test', 'func2');
    await fake.write(`${f1}/${field}`, '0x42');
    expect(await cat(fake, `${f2}/${field}`)).toBe('0x0042\n');
  });

  // pci-epf-test.c test_header, observed 6.12: a new mkdir starts from the current shared values, not the defaults
  it('a new function starts from the current shared values', async () => {
    const fake = await boot(kernel);
    const f1 = await mkfn(fake, 'pci_epf_test', 'func1');
    await fake.write(`${f1}/vendorid`, '0x16c3');
    await fake.write(`${f1}/baseclass_code`, '0x05');
    const f2 = await mkfn(fake, 'pci_epf_test', 'func2');
    expect(await cat(fake, `${f2}/vendorid`)).toBe('0x16c3\n');
    expect(await cat(fake, `${f2}/baseclass_code`)).toBe('0x0005\n');
  });

  // pci-epf-test.c test_header, observed 6.12: after rmdir of every function and a new mkdir, vendorid still read 0x16c3
  it('the shared values survive rmdir of every function', async () => {
    const fake = await boot(kernel);
    const f1 = await mkfn(fake, 'pci_epf_test', 'func1');
    const f2 = await mkfn(fake, 'pci_epf_test', 'func2');
    await fake.write(`${f1}/vendorid`, '0x16c3');
    await fake.rmdir(f1);
    await fake.rmdir(f2);
    const f3 = await mkfn(fake, 'pci_epf_test', 'func3');
    expect(await cat(fake, `${f3}/vendorid`)).toBe('0x16c3\n');
  });

  // pci-epf-test.c test_header, observed 6.12: msi_interrupts / msix_interrupts are per function
  it('msi_interrupts and msix_interrupts are per function', async () => {
    const fake = await boot(kernel);
    const f1 = await mkfn(fake, 'pci_epf_test', 'func1');
    const f2 = await mkfn(fake, 'pci_epf_test', 'func2');
    await fake.write(`${f1}/msi_interrupts`, '16');
    await fake.write(`${f1}/msix_interrupts`, '8');
    expect(await cat(fake, `${f2}/msi_interrupts`)).toBe('0\n');
    expect(await cat(fake, `${f2}/msix_interrupts`)).toBe('0\n');
    expect(await cat(fake, `${f1}/msi_interrupts`)).toBe('16\n');
  });

  // pci-epf-test.c test_header, observed 6.12: every new function starts at 0/0
  it('a new function starts with msi 0 and msix 0 even when its siblings set them', async () => {
    const fake = await boot(kernel);
    const f1 = await mkfn(fake, 'pci_epf_test', 'func1');
    await fake.write(`${f1}/msi_interrupts`, '16');
    await fake.write(`${f1}/msix_interrupts`, '8');
    await fake.rmdir(f1);
    const f2 = await mkfn(fake, 'pci_epf_test', 'func1');
    expect(await cat(fake, `${f2}/msi_interrupts`)).toBe('0\n');
    expect(await cat(fake, `${f2}/msix_interrupts`)).toBe('0\n');
  });
});

describe('vNTB and pci_epf_test headers on 7.3.4', () => {
  // test_header, epf_ntb_header: one static struct per driver; the two drivers' headers differ (observed 7.3.4)
  it('a write to a pci_epf_test header does not reach pci_epf_vntb and the other way round', async () => {
    const fake = await boot('7.3');
    const t = await mkfn(fake, 'pci_epf_test', 'func1');
    const v = await mkfn(fake, 'pci_epf_vntb', 'vntb1');
    await fake.write(`${t}/vendorid`, '0x1957');
    expect(await cat(fake, `${v}/vendorid`)).toBe('0xffff\n');
    await fake.write(`${v}/deviceid`, '0x0001');
    expect(await cat(fake, `${t}/deviceid`)).toBe('0xffff\n');
  });

  // epf_ntb_header in pci-epf-vntb.c: pci-epf-vntb also shares one header between its functions
  it('vNTB functions share their header with each other', async () => {
    const fake = await boot('7.3');
    const v1 = await mkfn(fake, 'pci_epf_vntb', 'vntb1');
    const v2 = await mkfn(fake, 'pci_epf_vntb', 'vntb2');
    await fake.write(`${v2}/vendorid`, '0x1957');
    expect(await cat(fake, `${v1}/vendorid`)).toBe('0x1957\n');
  });

  // test_header, epf_ntb_header: each header survives rmdir of all functions (vNTB observed 7.3.4)
  it('the vNTB header survives rmdir of every vNTB function', async () => {
    const fake = await boot('7.3');
    const v1 = await mkfn(fake, 'pci_epf_vntb', 'vntb1');
    await fake.write(`${v1}/subsys_id`, '0x0101');
    await fake.rmdir(v1);
    const v2 = await mkfn(fake, 'pci_epf_vntb', 'vntb2');
    expect(await cat(fake, `${v2}/subsys_id`)).toBe('0x0101\n');
    expect(await cat(fake, `${fnPath('pci_epf_vntb', 'vntb2')}/baseclass_code`)).toBe('0x0005\n');
  });
});
