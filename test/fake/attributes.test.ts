// Function attributes: defaults, read formats and the kstrto* write syntax
// (pci-ep-cfs.c, lib/kstrtox.c; the syntax is observed identical on 6.1, 6.12 and 7.3.4).
import { describe, expect, it } from 'vitest';
import { FUNCTION_ATTRIBUTES, VERSIONS, boot, byteLength, cat, linkToEpc, mkLinkable, mkfn, startEpc } from './helpers.js';

// test_header in pci-epf-test.c (observed 6.12), the default column
const TEST_DEFAULTS: Record<(typeof FUNCTION_ATTRIBUTES)[number], string> = {
  vendorid: '0xffff\n',
  deviceid: '0xffff\n',
  revid: '0x0000\n',
  progif_code: '0x0000\n',
  subclass_code: '0x0000\n',
  cache_line_size: '0x0000\n',
  baseclass_code: '0x00ff\n',
  subsys_vendor_id: '0x0000\n',
  subsys_id: '0x0000\n',
  interrupt_pin: '0x0001\n',
  msi_interrupts: '0\n',
  msix_interrupts: '0\n',
};

// epf_ntb_header in pci-epf-vntb.c, the default column: as pci_epf_test except baseclass 0x0005 (memory)
const VNTB_DEFAULTS = { ...TEST_DEFAULTS, baseclass_code: '0x0005\n' };

/** Accepted writes: attribute, bytes written, what a read then returns (lib/kstrtox.c, observed 6.1/6.12/7.3.4 unless noted). */
const ACCEPTED: ReadonlyArray<[string, string, string]> = [
  ['vendorid', '4660', '0x1234\n'], // decimal
  ['vendorid', '0x1957\n', '0x1957\n'], // hex with the trailing newline echo adds
  ['vendorid', '0x1957', '0x1957\n'], // echo -n: the newline is optional
  ['vendorid', '0X1AB', '0x01ab\n'], // 0X prefix; read back lower-case, 4 digits (pci-ep-cfs.c)
  ['deviceid', '0x080c\n', '0x080c\n'],
  ['revid', '010', '0x0008\n'], // octal with a leading 0
  ['revid', '+5', '0x0005\n'], // leading +
  ['subsys_id', '0', '0x0000\n'],
  ['vendorid', '65535', '0xffff\n'], // u16 maximum
  ['cache_line_size', '255', '0x00ff\n'], // u8 maximum, still 4 hex digits (pci-ep-cfs.c)
  ['progif_code', '0x12', '0x0012\n'],
  ['msi_interrupts', '0x20', '32\n'], // %d\n decimal
  ['msix_interrupts', '0x800', '2048\n'], // %d\n decimal
];

/** Rejected writes: attribute, bytes written (lib/kstrtox.c, observed 6.1/6.12/7.3.4: always EINVAL, never ERANGE). */
const REJECTED: ReadonlyArray<[string, string]> = [
  ['vendorid', '0x10000'], // u16 overflow
  ['vendorid', '65536'],
  ['revid', '256'], // u8 overflow
  ['revid', '0x100'],
  ['msi_interrupts', '256'], // msi_interrupts is a u8
  ['msix_interrupts', '65536'], // msix_interrupts is a u16
  ['vendorid', '-1'],
  ['vendorid', 'garbage'],
  ['vendorid', '\n'], // empty
  ['vendorid', ' 5'], // leading space
  ['vendorid', '5 '], // trailing space
  ['vendorid', '0x1111\r\n'],
  ['vendorid', '0x'],
  ['vendorid', '12abc'],
  ['vendorid', '0x1234x'],
  ['vendorid', '0x12 34'],
  ['vendorid', '99999999999999999999'],
  ['vendorid', '5\n\n'], // only one trailing newline is optional
];

/** A value each attribute holds before the rejected write, and how it reads. */
const BEFORE: Record<string, [string, string]> = {
  vendorid: ['0x1234', '0x1234\n'],
  revid: ['0x12', '0x0012\n'],
  msi_interrupts: ['7', '7\n'],
  msix_interrupts: ['9', '9\n'],
};

describe.each(VERSIONS)('function attributes on %s', (kernel) => {
  // pci-ep-cfs.c, observed 6.12: pci_epf_test defaults
  it.each(Object.entries(TEST_DEFAULTS))('pci_epf_test %s reads %j right after mkdir', async (attr, expected) => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    expect(await cat(fake, `${fn}/${attr}`)).toBe(expected);
  });

  // lib/kstrtox.c, observed 6.1/6.12/7.3.4: accepted syntax, full byte count returned
  it.each(ACCEPTED)('%s accepts %j, returns its byte count and reads back %j', async (attr, data, expected) => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    await expect(fake.write(`${fn}/${attr}`, data)).resolves.toBe(byteLength(data));
    expect(await cat(fake, `${fn}/${attr}`)).toBe(expected);
  });

  // lib/kstrtox.c, observed 6.1/6.12/7.3.4: rejected syntax → EINVAL, value unchanged
  it.each(REJECTED)('%s rejects %j with EINVAL and keeps its value', async (attr, data) => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    const [value, reads] = BEFORE[attr] as [string, string];
    await fake.write(`${fn}/${attr}`, value);
    await expect(fake.write(`${fn}/${attr}`, data)).rejects.toMatchObject({ code: 'EINVAL', syscall: 'write', path: `${fn}/${attr}` });
    expect(await cat(fake, `${fn}/${attr}`)).toBe(reads);
  });

  // lib/kstrtox.c, observed 6.1/6.12/7.3.4: no range check beyond the C type; interrupt_pin 0–255 accepted
  it.each([
    ['0', '0x0000\n'],
    ['5', '0x0005\n'],
    ['255', '0x00ff\n'],
  ])('interrupt_pin accepts %s (no range check beyond u8)', async (data, expected) => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    await fake.write(`${fn}/interrupt_pin`, data);
    expect(await cat(fake, `${fn}/interrupt_pin`)).toBe(expected);
  });

  // lib/kstrtox.c, observed 6.1/6.12/7.3.4: msi_interrupts 0, 33, 64, 255 accepted (MSI limits only at bind, in epc_init)
  it.each(['0', '33', '64', '255'])('msi_interrupts accepts %s and reads it back in decimal', async (data) => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    await fake.write(`${fn}/msi_interrupts`, data);
    expect(await cat(fake, `${fn}/msi_interrupts`)).toBe(`${data}\n`);
  });

  // lib/kstrtox.c, observed 6.1/6.12/7.3.4: msix_interrupts 0, 2049, 4096, 65535 accepted
  it.each(['0', '2049', '4096', '65535'])('msix_interrupts accepts %s and reads it back in decimal', async (data) => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    await fake.write(`${fn}/msix_interrupts`, data);
    expect(await cat(fake, `${fn}/msix_interrupts`)).toBe(`${data}\n`);
  });

  // KernelPort.write takes bytes as well as text; the byte count observed on 6.1/6.12/7.3.4
  it('accepts the value as bytes and returns their count', async () => {
    const fake = await boot(kernel);
    const fn = await mkfn(fake);
    await expect(fake.write(`${fn}/vendorid`, new TextEncoder().encode('0x104c\n'))).resolves.toBe(7);
    expect(await cat(fake, `${fn}/vendorid`)).toBe('0x104c\n');
  });

  // pci-ep-cfs.c, observed 6.1/6.12/7.3.4: writes while linked or started are accepted and read back
  it('accepts header and MSI writes while the function is linked and the EPC started', async () => {
    const fake = await boot(kernel);
    const fn = await mkLinkable(fake);
    await linkToEpc(fake, fn);
    await startEpc(fake);
    await expect(fake.write(`${fn}/deviceid`, '0x080c\n')).resolves.toBe(7);
    await expect(fake.write(`${fn}/msi_interrupts`, '16\n')).resolves.toBe(3);
    expect(await cat(fake, `${fn}/deviceid`)).toBe('0x080c\n');
    expect(await cat(fake, `${fn}/msi_interrupts`)).toBe('16\n');
  });
});

describe('function attributes on 7.3.4 only', () => {
  // pci-ep-cfs.c, observed 6.12: pci_epf_vntb defaults (baseclass 0x0005)
  it.each(Object.entries(VNTB_DEFAULTS))('pci_epf_vntb %s reads %j right after mkdir', async (attr, expected) => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake, 'pci_epf_vntb', 'vntb1');
    expect(await cat(fake, `${fn}/${attr}`)).toBe(expected);
  });

  // fs/configfs/file.c: a zero-length write() → EFAULT on every attribute (observed 7.3.4; 6.x not tried)
  it.each(FUNCTION_ATTRIBUTES)('a zero-length write to %s fails with EFAULT and changes nothing', async (attr) => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake);
    const before = await cat(fake, `${fn}/${attr}`);
    await expect(fake.write(`${fn}/${attr}`, '')).rejects.toMatchObject({ code: 'EFAULT' });
    expect(await cat(fake, `${fn}/${attr}`)).toBe(before);
  });
});
