import { describe, expect, it } from 'vitest';
import { createFakeKernel } from '../fake/index.js';
import { fakeLogTap, parseKmsgRecord } from './kmsg.js';
import { runOps } from './run-ops.js';
import type { Op } from './ops.js';

const boot = () => createFakeKernel({ board: 'qemu-virt', kernel: '7.3.4' });
const EPC = 'controllers/7e000000.pcie-ep';

describe('runOps over the fake', () => {
  it('returns each call’s value or errno with the log lines it printed', async () => {
    const k = boot();
    const ops: Op[] = [
      { op: 'mkdir', path: 'functions/pci_epf_vntb/v' },
      { op: 'write', path: 'functions/pci_epf_vntb/v/vendorid', data: '0x1957\n' },
      { op: 'read', path: 'functions/pci_epf_vntb/v/vendorid' },
      { op: 'write', path: 'functions/pci_epf_vntb/v/vendorid', data: '' },
      { op: 'write', path: 'functions/pci_epf_vntb/v/@group/mw2', data: '4096' },
      { op: 'create', path: 'functions/pci_epf_vntb/v/new' },
      { op: 'rename', path: 'functions/pci_epf_vntb/v', to: 'functions/pci_epf_vntb/w' },
      { op: 'lstat', path: 'functions/pci_epf_vntb/v/@group' },
      { op: 'symlink', path: `${EPC}/l`, target: 'functions/pci_epf_vntb/v' },
      { op: 'readlink', path: `${EPC}/l` },
      { op: 'readdir', path: EPC },
      { op: 'interrupts' },
    ];
    const r = await runOps(k, fakeLogTap(k), ops);
    expect(r.map((x) => x.ret)).toEqual(['ok', 'ok', 'ok', 'EFAULT', 'ERANGE', 'EACCES', 'EPERM', 'ok', 'EINVAL', 'ENOENT', 'ok', 'ok']);
    expect(r[0]!.log).toEqual(['<6>pci_epf_vntb pci_epf_vntb.0: pci-ep epf driver loaded']);
    expect(r[1]).toEqual({ ret: 'ok', count: 7, log: [] });
    expect(r[2]!.data).toBe('0x1957\n');
    expect(r[4]!.log).toEqual(['<3>pci_epf_vntb pci_epf_vntb.0: MW2 out of range (num_mws=0)']);
    expect(r[7]!.stat).toEqual({ kind: 'dir', mode: 0o755, size: 0, nlink: 2, uid: 0, gid: 0 });
    // db_count still 0: the link fails and says why.
    expect(r[8]!.log).toContain('<3>pci_epf_vntb pci_epf_vntb.0: DB count 0 out of range (3 - 32)');
    expect(r[9]!.link).toBeUndefined();
    expect(r[10]!.names).toEqual(['start']);
    expect(r[11]!.rows).toEqual([]);
  });

  it('tells the caller before and after each op, and stops after an oops', async () => {
    const k = boot();
    const T = 'functions/pci_epf_test/t';
    // The 7.3.4 pci_epf_test_unbind oops on purpose: bound, unlinked, then linked through secondary/.
    const ops: Op[] = [
      { op: 'mkdir', path: T },
      { op: 'write', path: `${T}/msi_interrupts`, data: '1' },
      { op: 'symlink', path: `${EPC}/l`, target: T },
      { op: 'unlink', path: `${EPC}/l` },
      { op: 'symlink', path: `${T}/secondary/s`, target: EPC },
      { op: 'read', path: `${T}/vendorid` },
    ];
    const seen: string[] = [];
    const r = await runOps(k, fakeLogTap(k), ops, { onStart: (i) => seen.push(`start ${i}`), onResult: (i, x) => seen.push(`${i} ${x.ret}`) });
    expect(r.map((x) => x.ret)).toEqual(['ok', 'ok', 'ok', 'ok', 'oops']);
    expect(seen.slice(-2)).toEqual(['start 4', '4 oops']);
    expect(r[4]!.log.some((l) => l.includes('Unable to handle kernel NULL pointer dereference'))).toBe(true);
  });

  it('with settleSubGroups waits for primary/ and secondary/ after a function mkdir', async () => {
    const k = boot();
    const r = await runOps(k, fakeLogTap(k), [{ op: 'mkdir', path: 'functions/pci_epf_test/t' }, { op: 'readdir', path: 'functions/pci_epf_test/t' }], { settleSubGroups: true });
    expect(r[1]!.names).toContain('primary');
  });
});

describe('parseKmsgRecord', () => {
  it('keeps the level and the text, drops sequence, timestamp, facility and dictionary', () => {
    expect(parseKmsgRecord('6,339,5140900,-;pci_epc 7e000000.pcie-ep: x\n SUBSYSTEM=pci_epc\n')).toBe('<6>pci_epc 7e000000.pcie-ep: x');
    expect(parseKmsgRecord('12,1,2,-;user message\n')).toBe('<4>user message');
    expect(parseKmsgRecord('garbage')).toBeUndefined();
  });
});
