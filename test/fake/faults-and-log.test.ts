// Fault injection (api.ts FaultRule: the nth matching op fails with the errno and nothing
// changes), the op log (op, path, dest, data, result), the kernel log records and the shape
// of the errors (KernelError: code, syscall, path). The fake injects faults at every op.
import { describe, expect, it } from 'vitest';
import { KernelError } from '../../src/kernel/errors.js';
import { CTRLS, FUNCS, boot, cat, epcPath, fnPath, linkToEpc, ls, mkLinkable, mkfn } from './helpers.js';

const DEVICES = '/sys/bus/pci-epf/devices';

describe('fault rules', () => {
  // api.ts FaultRule: the matching op fails with the errno and nothing changes; pci-ep-cfs.c IDR
  it('a mkdir fault fails that mkdir with the errno and creates no directory, device or index', async () => {
    const fake = await boot('7.3');
    const path = fnPath('pci_epf_test', 'func1');
    fake.injectFault({ op: 'mkdir', path, errno: 'ENOMEM' });
    await expect(fake.mkdir(path)).rejects.toMatchObject({ code: 'ENOMEM', syscall: 'mkdir', path });
    expect(await fake.exists(path)).toBe(false);
    expect(await fake.readdir(DEVICES)).toEqual([]);
    // the rule was used up and the index was not consumed
    await fake.mkdir(path);
    expect(await fake.readdir(path)).toContain('pci_epf_test.0');
  });

  // api.ts FaultRule.nth: fail the nth matching operation from now
  it('nth: 2 lets the first matching op through and fails the second', async () => {
    const fake = await boot('7.3');
    fake.injectFault({ op: 'mkdir', path: `${FUNCS}/pci_epf_test/*`, errno: 'EIO', nth: 2 });
    await mkfn(fake, 'pci_epf_test', 'a');
    await expect(mkfn(fake, 'pci_epf_test', 'b')).rejects.toMatchObject({ code: 'EIO' });
    await mkfn(fake, 'pci_epf_test', 'c');
    expect(await ls(fake, `${FUNCS}/pci_epf_test`)).toEqual(['a', 'c']);
  });

  // api.ts FaultRule.path: only matching paths fail
  it('a rule whose path does not match leaves other operations alone', async () => {
    const fake = await boot('7.3');
    fake.injectFault({ op: 'mkdir', path: `${FUNCS}/pci_epf_vntb/*`, errno: 'EIO' });
    await mkfn(fake, 'pci_epf_test', 'a');
    await expect(mkfn(fake, 'pci_epf_vntb', 'v')).rejects.toMatchObject({ code: 'EIO' });
  });

  // api.ts FaultRule.op: only the named operation fails
  it('a rule for one op does not fire on another op on the same path', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake);
    fake.injectFault({ op: 'write', path: `${fn}/vendorid`, errno: 'EIO' });
    expect(await cat(fake, `${fn}/vendorid`)).toBe('0xffff\n');
    await expect(fake.write(`${fn}/vendorid`, '0x1957')).rejects.toMatchObject({ code: 'EIO' });
  });

  // api.ts FaultRule.path glob: `*` within one component, `**` across components
  it('* matches within one path component and ** across components', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake);
    fake.injectFault({ op: 'write', path: `${FUNCS}/*/vendorid`, errno: 'EIO' });
    // one * does not span functions/pci_epf_test/func1
    await fake.write(`${fn}/vendorid`, '0x1111');
    fake.injectFault({ op: 'write', path: `${FUNCS}/**/vendorid`, errno: 'EIO' });
    await expect(fake.write(`${fn}/vendorid`, '0x2222')).rejects.toMatchObject({ code: 'EIO' });
    expect(await cat(fake, `${fn}/vendorid`)).toBe('0x1111\n');
  });

  // api.ts FaultRule (fault injection at write): value unchanged
  it('a write fault leaves the attribute value unchanged', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake);
    fake.injectFault({ op: 'write', path: `${fn}/msi_interrupts`, errno: 'EIO' });
    await expect(fake.write(`${fn}/msi_interrupts`, '8')).rejects.toMatchObject({ code: 'EIO', syscall: 'write' });
    expect(await cat(fake, `${fn}/msi_interrupts`)).toBe('0\n');
  });

  // api.ts FaultRule (fault injection at symlink); pci-ep-cfs.c function numbers
  it('a symlink fault creates no link and takes no function number', async () => {
    const fake = await boot('7.3');
    const fn = await mkLinkable(fake);
    fake.injectFault({ op: 'symlink', path: `${epcPath()}/*`, errno: 'ENOMEM' });
    await expect(linkToEpc(fake, fn)).rejects.toMatchObject({ code: 'ENOMEM', syscall: 'symlink' });
    expect(await fake.readdir(epcPath())).toEqual(['start']);
    // the function is not attached: its type group still takes writes (pci-epf-vntb.c, observed 7.3.4)
    await fake.write(`${fn}/pci_epf_test.0/bar0_size`, '65536');
    await linkToEpc(fake, fn);
    expect(await fake.readdir(epcPath())).toEqual(['l1', 'start']);
  });

  // api.ts FaultRule (fault injection at unlink)
  it('an unlink fault keeps the link', async () => {
    const fake = await boot('7.3');
    const link = await linkToEpc(fake, await mkLinkable(fake));
    fake.injectFault({ op: 'unlink', path: link, errno: 'EIO' });
    await expect(fake.unlink(link)).rejects.toMatchObject({ code: 'EIO', syscall: 'unlink' });
    expect(await fake.lstat(link)).toMatchObject({ kind: 'symlink' });
  });

  // api.ts FaultRule (fault injection at rmdir)
  it('an rmdir fault keeps the function and its device', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake);
    fake.injectFault({ op: 'rmdir', path: fn, errno: 'EBUSY' });
    await expect(fake.rmdir(fn)).rejects.toMatchObject({ code: 'EBUSY', syscall: 'rmdir' });
    expect(await fake.exists(`${fn}/vendorid`)).toBe(true);
    expect(await fake.readdir(DEVICES)).toEqual(['pci_epf_test.0']);
  });

  // api.ts FakeOp: read, readdir and readlink are fault points too
  it('read, readdir and readlink faults fail those calls', async () => {
    const fake = await boot('7.3');
    const fn = await mkLinkable(fake);
    const link = await linkToEpc(fake, fn);
    fake.injectFault({ op: 'read', path: `${fn}/deviceid`, errno: 'EIO' });
    fake.injectFault({ op: 'readdir', path: CTRLS, errno: 'EIO' });
    fake.injectFault({ op: 'readlink', path: link, errno: 'EIO' });
    await expect(fake.read(`${fn}/deviceid`)).rejects.toMatchObject({ code: 'EIO' });
    await expect(fake.readdir(CTRLS)).rejects.toMatchObject({ code: 'EIO' });
    await expect(fake.readlink(link)).rejects.toMatchObject({ code: 'EIO' });
  });

  // api.ts FakeHook epf_bind: the driver's bind fails with the errno (pci-ep-cfs.c: the add is undone)
  it('an epf_bind fault fails the link with the errno and leaves the function unlinked', async () => {
    const fake = await boot('7.3');
    const fn = await mkLinkable(fake);
    fake.injectFault({ op: 'epf_bind', path: fn, errno: 'ENOMEM' });
    await expect(linkToEpc(fake, fn)).rejects.toMatchObject({ code: 'ENOMEM' });
    expect(await fake.readdir(epcPath())).toEqual(['start']);
  });

  // errors.ts KernelError: code, negative errno, syscall, path as node:fs reports them
  it('failures are KernelErrors with the errno number of the code', async () => {
    const fake = await boot('7.3');
    const err = await fake.mkdir(`${FUNCS}/not_a_driver`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KernelError);
    expect(err).toMatchObject({ code: 'EPERM', errno: -1, syscall: 'mkdir', path: `${FUNCS}/not_a_driver` });
  });
});

describe('op log', () => {
  // api.ts OpLogEntry: op, path, data (write only), result
  it('records a write with its path, data and result', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake);
    await fake.write(`${fn}/vendorid`, '0x1957\n');
    expect(fake.opLog.at(-1)).toMatchObject({ op: 'write', path: `${fn}/vendorid`, data: '0x1957\n', result: 'ok' });
  });

  // api.ts OpLogEntry.result: the errno code of a failed call
  it('records a failed write with its errno as the result', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake);
    await fake.write(`${fn}/vendorid`, 'garbage').catch(() => undefined);
    expect(fake.opLog.at(-1)).toMatchObject({ op: 'write', path: `${fn}/vendorid`, data: 'garbage', result: 'EINVAL' });
  });

  // api.ts OpLogEntry.result for a call failed by a FaultRule
  it('records an injected fault as the errno result', async () => {
    const fake = await boot('7.3');
    const path = fnPath('pci_epf_test', 'func1');
    fake.injectFault({ op: 'mkdir', path, errno: 'ENOSPC' });
    await fake.mkdir(path).catch(() => undefined);
    expect(fake.opLog.at(-1)).toMatchObject({ op: 'mkdir', path, result: 'ENOSPC' });
  });

  // api.ts OpLogEntry.dest: the symlink target
  it('records a symlink with the link as path and the target as dest', async () => {
    const fake = await boot('7.3');
    const fn = await mkLinkable(fake);
    const link = await linkToEpc(fake, fn);
    expect(fake.opLog.at(-1)).toMatchObject({ op: 'symlink', path: link, dest: fn, result: 'ok' });
  });

  // api.ts OpLogEntry.seq
  it('numbers the entries in increasing seq order', async () => {
    const fake = await boot('7.3');
    const fn = await mkfn(fake);
    await fake.read(`${fn}/vendorid`);
    await fake.rmdir(fn);
    const seqs = fake.opLog.map((e) => e.seq);
    expect(seqs.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
    expect(fake.opLog.slice(-3).map((e) => e.op)).toEqual(['mkdir', 'read', 'rmdir']);
  });
});

describe('kernel log', () => {
  // api.ts kernelLog()/dmesg(): records oldest first, usec since boot
  it('dmesg() is the text of kernelLog() records, oldest first', async () => {
    const fake = await boot('7.3');
    await fake.write(`${epcPath()}/start`, '1');
    await mkfn(fake, 'pci_epf_vntb', 'vntb1');
    expect(fake.dmesg()).toEqual(fake.kernelLog().map((r) => r.text));
    const usec = fake.kernelLog().map((r) => r.usec);
    for (let i = 1; i < usec.length; i++) expect(usec[i]).toBeGreaterThanOrEqual(usec[i - 1] as number);
  });

  // api.ts dmesg(): lines without timestamps (observed 7.3.4: real boards prefix [   39.218533])
  it('dmesg lines carry no timestamp prefix', async () => {
    const fake = await boot('7.3');
    await mkfn(fake, 'pci_epf_vntb', 'vntb1');
    for (const line of fake.dmesg()) expect(line).not.toMatch(/^\[\s*\d+\.\d+\]/);
  });

  // pcie-cadence.c: the Cadence EPC probe line (7.3.4 wording, seen in the QEMU lane)
  it('the boot log has the qemu-virt Cadence probe line', async () => {
    const fake = await boot('7.3');
    expect(fake.dmesg()).toContainEqual(
      expect.stringContaining('cdns-pcie 7e000000.pcie-ep: no "phy-names" property found; PHY will not be initialized'),
    );
  });
});
