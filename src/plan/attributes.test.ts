// Read-back comparison in the kernel's formats: hex header fields, decimal counts, unsigned
// fields printed through signed formats (vNTB: u32 "%d", u64 "%lld").
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { readsAs, writeText } from './attributes.js';

describe('readsAs', () => {
  it('compares numbers whatever the base, text as text', () => {
    expect(readsAs('0x104c\n', 0x104c)).toBe(true);
    expect(readsAs('0x104c\n', '4172')).toBe(true);
    expect(readsAs('0x0000\n', 1)).toBe(false);
    expect(readsAs('nqn.2014-08.org.example\n', 'nqn.2014-08.org.example')).toBe(true);
    expect(readsAs('1\n', true)).toBe(true);
  });

  it('takes a u64 past 2^63 read back through %lld, and a u32 past 2^31 through %d, as the value written', () => {
    expect(readsAs('-9223372036854775808\n', '0x8000000000000000')).toBe(true);
    expect(readsAs('-2147483648\n', 2147483648)).toBe(true);
    expect(readsAs('-1\n', -1)).toBe(true);
    expect(readsAs('1\n', 2 ** 32 + 1)).toBe(false);
  });

  it('every u64 reads as itself through %lld', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (v) => {
        const printed = `${BigInt.asIntN(64, v)}\n`;
        expect(readsAs(printed, `0x${v.toString(16)}`)).toBe(true);
        expect(readsAs(printed, `${v}`)).toBe(true);
      }),
    );
  });

  it('writes what echo writes: one newline, header fields in hex', () => {
    expect(writeText(0x104c, true)).toBe('0x104c\n');
    expect(writeText(16)).toBe('16\n');
    expect(writeText('nqn.x')).toBe('nqn.x\n');
    expect(writeText('nqn.x\n')).toBe('nqn.x\n');
    expect(writeText(false)).toBe('0\n');
  });
});
