import { describe, expect, it } from 'vitest';
import { parseSystemRam } from './iomem.js';

// /proc/iomem of an arm64 board as root (kernel/resource.c r_show), cut down.
const ROOT = `08000000-0800ffff : GICD
08080000-0809ffff : GICv3 ITS
09000000-09000fff : pl011@9000000
  09000000-09000fff : 9000000.pl011 pl011@9000000
40000000-7dffffff : System RAM
  40210000-41a5ffff : Kernel code
7e000000-7fffffff : reserved
80000000-bfffffff : System RAM
4010000000-401fffffff : PCI ECAM
`;

describe('parseSystemRam', () => {
  it('takes the top-level System RAM entries, end inclusive', () => {
    expect(parseSystemRam(ROOT)).toEqual([
      { base: 0x40000000n, size: 0x3e000000n },
      { base: 0x80000000n, size: 0x40000000n },
    ]);
  });

  it('is undefined when the addresses are hidden (read without CAP_SYS_ADMIN) or there is no RAM', () => {
    expect(parseSystemRam(ROOT.replace(/[0-9a-f]+-[0-9a-f]+ :/g, '00000000-00000000 :'))).toBeUndefined();
    expect(parseSystemRam('')).toBeUndefined();
    expect(parseSystemRam('garbage\n\u0000\nffffffffffffffffff-0 : System RAM\n')).toBeUndefined();
  });
});
