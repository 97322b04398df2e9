// lib/kstrtox.c semantics as observed on 6.1, 6.12 and 7.3.4 for configfs writes.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { kstrtoull, kstrtou, kstrtoint, kstrtobool, formatHex4 } from './values.js';

describe('kstrtoull', () => {
  it('parses every 64-bit value written in decimal, 0x-hex or 0-octal, with an optional + and one newline', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(10, 16, 8), fc.boolean(), fc.boolean(), (v, base, plus, nl) => {
        const body = base === 16 ? `0x${v.toString(16)}` : base === 8 ? `0${v.toString(8)}` : v.toString(10);
        expect(kstrtoull(`${plus ? '+' : ''}${body}${nl ? '\n' : ''}`)).toEqual({ ok: true, value: v });
      }),
      { numRuns: 10_000 },
    );
  });

  it('never throws and answers only ok, EINVAL or ERANGE for any text', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const r = kstrtoull(s);
        expect(r.ok || r.errno === 'EINVAL' || r.errno === 'ERANGE').toBe(true);
      }),
      { numRuns: 10_000 },
    );
  });

  it.each(['', '\n', ' 1', '1 ', '0x', '12abc', '0x1234x', '0x12 34', '1\r\n', '-1', '1\n\n', '08'])('rejects %j with EINVAL', (s) => {
    expect(kstrtoull(s)).toEqual({ ok: false, errno: 'EINVAL' });
  });

  it('answers ERANGE past 64 bits, and kstrtou answers ERANGE past the type', () => {
    expect(kstrtoull('18446744073709551616')).toEqual({ ok: false, errno: 'ERANGE' });
    expect(kstrtou('0x10000', 16)).toEqual({ ok: false, errno: 'ERANGE' });
    expect(kstrtou('256', 8)).toEqual({ ok: false, errno: 'ERANGE' });
    expect(kstrtou('0X1AB', 16)).toEqual({ ok: true, value: 0x1ab });
  });
});

describe('kstrtoint and kstrtobool', () => {
  it('kstrtoint takes a sign and stays in 32 bits (vNTB *_bar, pci-epf-vntb.c)', () => {
    expect(kstrtoint('-1')).toEqual({ ok: true, value: -1 });
    expect(kstrtoint('-0')).toEqual({ ok: true, value: 0 });
    expect(kstrtoint('+5')).toEqual({ ok: true, value: 5 });
    expect(kstrtoint('4294967296')).toEqual({ ok: false, errno: 'ERANGE' });
  });

  it.each([
    ['1', true], ['y', true], ['Yes', true], ['true', true], ['on', true], ['On', true], ['10', true], ['1 ', true],
    ['0', false], ['n', false], ['false', false], ['off', false], ['OFF', false], ['of', false],
  ])('kstrtobool reads %j as %s from its first one or two characters (observed 7.3.4)', (s, v) => {
    expect(kstrtobool(s)).toEqual({ ok: true, value: v });
  });

  it.each([' 1', 'o', '2', 'bogus', '\n', ''])('kstrtobool rejects %j', (s) => {
    expect(kstrtobool(s)).toEqual({ ok: false, errno: 'EINVAL' });
  });

  it('prints header values as 0x%04x with a newline, lower case, four digits even for u8', () => {
    expect(formatHex4(0x1ab)).toBe('0x01ab\n');
    expect(formatHex4(5)).toBe('0x0005\n');
  });
});
