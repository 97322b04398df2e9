import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EXIT } from '../exit-codes.js';
import { cells, encodeValue, flag, str, u8, type DtValue } from './spec.js';
import {
  cellsToBigint,
  decodeCells,
  decodeFlag,
  decodeString,
  decodeStrings,
  decodeU32,
  decodeU64,
  decodeU8,
  DtParseError,
} from './decode.js';

const P = '/sys/firmware/devicetree/base/soc/pcie-ep@4c300000/msi-map';
const b = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

describe('decoders', () => {
  // drivers/of/kobj.c, observed 6.12: msi-map = <0x0 &its 0x0 0x10000> reads 00000000 00008003 00000000 00010000
  it('reads big-endian cells as unsigned 32-bit numbers', () => {
    expect(decodeCells(b(0, 0, 0, 0, 0, 0, 0x80, 3, 0, 0, 0, 0, 0, 1, 0, 0), P)).toEqual([0, 0x8003, 0, 0x10000]);
    expect(decodeCells(b(0xff, 0xff, 0xff, 0xff), P)).toEqual([0xffffffff]);
  });

  it('rejects a length that is not whole cells, naming the path and what to do', () => {
    const e = (() => {
      try {
        decodeCells(new Uint8Array(14), P);
      } catch (err) {
        return err;
      }
    })() as DtParseError;
    expect(e).toBeInstanceOf(DtParseError);
    expect(e.exitCode).toBe(EXIT.BAD_DATA);
    expect(e.path).toBe(P);
    expect(e.reason).toBe('14 bytes is not a whole number of 32-bit cells');
    expect(e.message).toBe(`${P}: 14 bytes is not a whole number of 32-bit cells; the device tree is truncated or corrupt — re-record the board or check the DTB`);
  });

  it('reads a cell only from exactly four bytes', () => {
    expect(decodeU32(b(0, 0, 0xff, 0xff), P)).toBe(0xffff);
    expect(() => decodeU32(b(0, 0, 0, 1, 0, 0, 0, 2), P)).toThrow(DtParseError);
    expect(() => decodeU32(b(), P)).toThrow(/0 bytes where one 32-bit cell/);
  });

  it('reads 64-bit values from two cells, high first', () => {
    expect(decodeU64(b(0, 0, 0, 9, 0, 0, 0, 0), P)).toBe(0x9_0000_0000n);
    expect(cellsToBigint([0xa, 0x40000000])).toBe(0xa_4000_0000n);
    expect(cellsToBigint([])).toBe(0n);
    expect(() => decodeU64(b(0, 0, 0, 9), P)).toThrow(DtParseError);
  });

  // drivers/of/kobj.c, observed 6.12: max-functions = /bits/ 8 <2> is the single byte 02
  it('reads a /bits/ 8 value from exactly one byte', () => {
    expect(decodeU8(b(2), P)).toBe(2);
    expect(() => decodeU8(b(0, 0, 0, 2), P)).toThrow(DtParseError);
  });

  // drivers/of/kobj.c, observed 6.12: boolean properties (msi-controller) are 0-byte files
  it('accepts a boolean property only when it is empty', () => {
    expect(decodeFlag(b(), P)).toBe(true);
    expect(() => decodeFlag(b(1), P)).toThrow(DtParseError);
  });

  // drivers/of/kobj.c, observed 6.12: reg-names = "reg\0mem\0"
  it('splits a string list at NULs and keeps empty strings in the middle, as of_property_read_string_helper does', () => {
    expect(decodeStrings(new TextEncoder().encode('reg\0mem\0'), P)).toEqual(['reg', 'mem']);
    expect(decodeStrings(b(0x61, 0, 0, 0x62, 0), P)).toEqual(['a', '', 'b']);
    expect(decodeStrings(b(), P)).toEqual([]);
    expect(() => decodeStrings(new TextEncoder().encode('reg\0mem'), P)).toThrow(/without a final NUL/);
  });

  // drivers/of/kobj.c, observed 6.12: status = "okay\0", 5 bytes
  it('reads a string up to its first NUL and refuses one without any, as of_property_read_string does', () => {
    expect(decodeString(new TextEncoder().encode('okay\0'), P)).toBe('okay');
    expect(decodeString(new TextEncoder().encode('okay\0junk'), P)).toBe('okay');
    expect(() => decodeString(new TextEncoder().encode('okay'), P)).toThrow(DtParseError);
    expect(() => decodeString(b(), P)).toThrow(/empty where a NUL-terminated string/);
  });

  it('decodes a subarray view at its own offset', () => {
    const whole = b(9, 9, 0, 0, 0, 7, 0, 0, 0, 8);
    expect(decodeCells(whole.subarray(2), P)).toEqual([7, 8]);
    expect(decodeU32(whole.subarray(2, 6), P)).toBe(7);
  });
});

describe('decoder properties', () => {
  const decoders = [decodeCells, decodeU32, decodeU64, decodeU8, decodeFlag, decodeStrings, decodeString];

  it('never throws anything but DtParseError, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(8), (raw, skip) => {
        const bytes = raw.subarray(Math.min(skip, raw.length));
        for (const decode of decoders) {
          try {
            decode(bytes, P);
          } catch (e) {
            if (!(e instanceof DtParseError)) throw e;
          }
        }
      }),
      { numRuns: 10_000 },
    );
  });

  const nulFree = fc.string({ unit: fc.constantFrom(...'abcdefgxyz0189,-_@/ é€'.split('')), maxLength: 12 });
  const value: fc.Arbitrary<DtValue> = fc.oneof(
    fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 8 }).map((xs) => cells(...xs)),
    fc.array(nulFree, { maxLength: 5 }).map((xs) => str(...xs)),
    fc.nat(255).map((x) => u8(x)),
    fc.constant(flag()),
  );

  it('decodes what encodeValue encodes back to the same value', () => {
    fc.assert(
      fc.property(value, (v) => {
        const bytes = encodeValue(v);
        switch (v.kind) {
          case 'cells':
            expect(decodeCells(bytes, P)).toEqual(v.cells);
            if (v.cells.length === 1) expect(decodeU32(bytes, P)).toBe(v.cells[0]);
            if (v.cells.length === 2) expect(decodeU64(bytes, P)).toBe(cellsToBigint(v.cells as number[]));
            break;
          case 'strings':
            expect(decodeStrings(bytes, P)).toEqual(v.values);
            if (v.values.length > 0) expect(decodeString(bytes, P)).toBe(v.values[0]);
            break;
          case 'u8':
            expect(decodeU8(bytes, P)).toBe(v.values[0]);
            break;
          case 'empty':
            expect(decodeFlag(bytes, P)).toBe(true);
            break;
          default:
            throw new Error(`unexpected ${v.kind}`);
        }
      }),
      { numRuns: 10_000 },
    );
  });
});
