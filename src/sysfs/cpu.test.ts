// /sys/devices/system/cpu/online: the cpulist bitmap_list_string writes (lib/vsprintf.c), parsed
// back exactly; anything else is refused with a reason, never thrown.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cpuCount, formatCpuList, parseCpuList, readOnlineCpus, CPU_ONLINE } from './cpu.js';
import { createFakeKernel } from '../fake/index.js';
import { KernelDataError } from '../kernel/errors.js';
import type { KernelPort } from '../kernel/port.js';

const count = (text: string): number | string => {
  const r = parseCpuList(text);
  return r.ok ? cpuCount(r.ranges) : r.reason;
};

describe('parseCpuList', () => {
  it('reads the lists the kernel writes', () => {
    expect(count('0\n')).toBe(1);
    expect(count('0-5\n')).toBe(6);
    expect(count('0,2-3\n')).toBe(3);
    expect(count('0-3,8-11,16\n')).toBe(9);
    expect(parseCpuList('0,2-3\n')).toEqual({ ok: true, ranges: [{ first: 0, last: 0 }, { first: 2, last: 3 }] });
    // An empty mask prints only the newline.
    expect(parseCpuList('\n')).toEqual({ ok: true, ranges: [] });
  });

  it('refuses what bitmap_list_string never writes', () => {
    for (const bad of ['', '0-5', '0-5\n\n', ' 0-5\n', '0-5 \n', '0-\n', '-1\n', '5-3\n', '3-3\n', '0,0\n', '0-3,2-5\n', '0-3,4\n', '3,1\n', '01\n', '0x3\n', '0,,1\n', '0,\n', '1-2-3\n', '4294967296\n', '0:2\n', '٣\n'])
      expect(parseCpuList(bad), JSON.stringify(bad)).toMatchObject({ ok: false, reason: expect.any(String) });
  });

  it('parses back exactly what formatCpuList writes, for any set of CPUs (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat({ max: 4095 }), { maxLength: 200 }), (cpus) => {
        const r = parseCpuList(formatCpuList(cpus));
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(cpuCount(r.ranges)).toBe(cpus.length);
        const back = r.ranges.flatMap((g) => Array.from({ length: g.last - g.first + 1 }, (_, i) => g.first + i));
        expect(back).toEqual([...cpus].sort((a, b) => a - b));
        // Maximal runs: formatting what was parsed gives the same text.
        expect(formatCpuList(back)).toBe(formatCpuList(cpus));
      }),
    );
  });

  it('never throws, and accepts a text only if it is the kernel format of what it lists (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9,\-\n ]{0,20}$/)), (text) => {
        const r = parseCpuList(text);
        if (r.ok) expect(formatCpuList(r.ranges.flatMap((g) => Array.from({ length: g.last - g.first + 1 }, (_, i) => g.first + i)))).toBe(text);
      }),
    );
  });
});

describe('readOnlineCpus', () => {
  const portWith = (text: string | undefined): KernelPort =>
    ({
      read: async (p: string) => {
        if (p !== CPU_ONLINE || text === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
        return Buffer.from(text, 'latin1');
      },
    }) as unknown as KernelPort;

  it('counts the CPUs the fake board has online', async () => {
    expect(await readOnlineCpus(createFakeKernel({ board: 'imx95' }))).toBe(6);
    expect(await readOnlineCpus(createFakeKernel({ board: 'qemu-virt' }))).toBe(1);
    expect(Buffer.from(await createFakeKernel({ board: 'rk3588' }).read(CPU_ONLINE)).toString()).toBe('0-7\n');
  });

  it('is undefined without the file, and a KernelDataError for a list that is not the kernel’s or names no CPU', async () => {
    expect(await readOnlineCpus(portWith(undefined))).toBeUndefined();
    await expect(readOnlineCpus(portWith('0-3,junk\n'))).rejects.toBeInstanceOf(KernelDataError);
    await expect(readOnlineCpus(portWith('\n'))).rejects.toThrow(/lists no CPU/);
  });
});
