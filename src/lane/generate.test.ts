import { describe, expect, it } from 'vitest';
import { generateOps, type GenerateOptions } from './generate.js';
import { firstHazard } from './hazards.js';
import { TYPE_GROUP_ATTRIBUTES } from './values.js';
import { FUNCTION_ATTRIBUTES } from '../configfs/header.js';

const base: GenerateOptions = { seed: 3, count: 1000, drivers: ['pci_epf_test', 'pci_epf_vntb'], controllers: ['7e000000.pcie-ep'], subLinkUnlinkSafe: true };

describe('generateOps', () => {
  it('is a function of the seed and gives at least the count asked', () => {
    const a = generateOps(base);
    expect(a.length).toBeGreaterThanOrEqual(1000);
    expect(generateOps(base)).toEqual(a);
    expect(generateOps({ ...base, seed: 4 })).not.toEqual(a);
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
  });

  it('writes every attribute of every function and type group, binds through each route and uses every shell call', () => {
    const ops = generateOps(base);
    const written = new Set(ops.flatMap((o) => (o.op === 'write' ? [o.path.slice(o.path.lastIndexOf('/') + 1)] : [])));
    for (const a of [...FUNCTION_ATTRIBUTES.map((x) => x.name), ...TYPE_GROUP_ATTRIBUTES['pci_epf_test']!, ...TYPE_GROUP_ATTRIBUTES['pci_epf_vntb']!, 'start']) expect(written).toContain(a);
    const links = ops.flatMap((o) => (o.op === 'symlink' ? [o.path] : []));
    expect(links.some((p) => p.startsWith('controllers/'))).toBe(true);
    expect(links.some((p) => p.includes('/primary/'))).toBe(true);
    expect(links.some((p) => p.includes('/secondary/'))).toBe(true);
    expect(new Set(ops.map((o) => o.op))).toEqual(new Set(['mkdir', 'rmdir', 'write', 'read', 'readdir', 'symlink', 'unlink', 'create', 'rename', 'lstat', 'readlink', 'interrupts']));
    // Zero-length writes, malformed values and huge counts are among them.
    const data = ops.flatMap((o) => (o.op === 'write' ? [o.data] : []));
    expect(data).toContain('');
    expect(data.some((d) => /garbage|12abc|0x1234x/.test(d))).toBe(true);
  });

  it('keeps clear of the oopsing sequences, and of primary/ unlinks on a kernel without the fix', () => {
    expect(firstHazard(generateOps(base), base)).toBeUndefined();
    const old = { ...base, subLinkUnlinkSafe: false };
    const ops = generateOps(old);
    expect(firstHazard(ops, old)).toBeUndefined();
    expect(ops.some((o) => o.op === 'symlink' && o.path.includes('/primary/'))).toBe(false);
  });
});
