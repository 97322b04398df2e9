// Hostile input to the devmem parsers and range check: random strings and numbers as ADDR, WIDTH
// and VALUE never produce anything but a correct value or a DevmemArgumentError / refusal with
// exit 64, one line, naming the argument (never a TypeError, RangeError or a stack trace).
// A fixed seed keeps runs stable; EPCTL_SEED explores others.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { EpctlError } from '../kernel/errors.js';
import { EXIT } from '../exit-codes.js';
import type { AccessWidth } from '../kernel/port.js';
import type { MemoryMap } from '../devicetree/reg.js';
import { checkAccess, DevmemArgumentError, DevmemRefusedError, formatValue, parseAddress, parseRequest, parseValue, parseWidth, WIDTHS } from './devmem.js';

const SEED = Number(process.env['EPCTL_SEED'] ?? 20261130);
const RUNS = { numRuns: 2000, seed: SEED };

/** Text a person (or a script with a bug) might pass: near-numbers, junk, unicode, huge. */
const hostileText = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.stringMatching(/^(0[xX])?[0-9a-fA-F_ +\-.eEoObBhHwWlL]{0,24}$/),
  fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }).map((n) => n.toString()),
  fc.bigInt({ min: 0n, max: 1n << 70n }).map((n) => `0x${n.toString(16)}`),
  fc.constantFrom('', '0x', '0X', '-0', '+1', '0o17', '0b101', '1_000', 'NaN', 'Infinity', '0x1p3', '١٢٣', '８', '\u0000', '0x' + 'f'.repeat(500), '9'.repeat(5000)),
);

/** The error a parser may throw: ours, exit 64, one line naming the argument, with a fix. */
function expectArgumentError(e: unknown, argument: string): void {
  expect(e).toBeInstanceOf(DevmemArgumentError);
  const err = e as DevmemArgumentError;
  expect(err.exitCode).toBe(EXIT.USAGE);
  expect(err.argument).toBe(argument);
  expect(err.message.startsWith(`devmem ${argument} `)).toBe(true);
  expect(err.message).not.toMatch(/\n/);
  expect(err.message.length).toBeLessThan(300);
  expect(err.hint).toBeTruthy();
}

describe('devmem parsers under hostile input', () => {
  it('ADDR: a correct value or a clear error', () => {
    fc.assert(
      fc.property(hostileText, (text) => {
        let v: bigint;
        try {
          v = parseAddress(text);
        } catch (e) {
          expectArgumentError(e, 'ADDR');
          return;
        }
        expect(v >= 0n && v < 1n << 64n).toBe(true);
        // Whatever was accepted was 0x-hex or plain decimal, and means exactly that.
        expect(v).toBe(BigInt(/^0[xX]/.test(text) ? `0x${text.slice(2)}` : text));
      }),
      RUNS,
    );
  });

  it('WIDTH: one of 8/16/32/64 or a clear error', () => {
    fc.assert(
      fc.property(fc.oneof(hostileText, fc.integer({ min: -200, max: 200 }).map(String)), (text) => {
        let w: AccessWidth;
        try {
          w = parseWidth(text);
        } catch (e) {
          expectArgumentError(e, 'WIDTH');
          return;
        }
        expect(WIDTHS).toContain(w);
      }),
      RUNS,
    );
  });

  it('VALUE: fits the width or a clear error', () => {
    fc.assert(
      fc.property(hostileText, fc.constantFrom(...WIDTHS), (text, width) => {
        let v: bigint;
        try {
          v = parseValue(text, width);
        } catch (e) {
          expectArgumentError(e, 'VALUE');
          return;
        }
        expect(v >= 0n && v < 1n << BigInt(width)).toBe(true);
      }),
      RUNS,
    );
  });

  it('every in-range number round-trips through its hex and decimal spellings', () => {
    fc.assert(
      fc.property(fc.constantFrom(...WIDTHS), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (width, raw) => {
        const v = raw & ((1n << BigInt(width)) - 1n);
        expect(parseValue(formatValue(v, width), width)).toBe(v);
        expect(parseValue(v.toString(), width)).toBe(v);
        expect(parseAddress(`0x${raw.toString(16)}`)).toBe(raw);
      }),
      RUNS,
    );
  });

  it('parseRequest and checkAccess: an access that passes lies wholly inside one range and is aligned', () => {
    const map: MemoryMap = {
      problems: [],
      ranges: [
        { node: '/memory@40000000', index: 0, name: undefined, base: 0x40000000n, size: 0x40000000n, kind: 'memory' },
        { node: '/its', index: 0, name: undefined, base: 0x08080000n, size: 0x20000n, kind: 'device' },
        { node: '/top', index: 0, name: undefined, base: (1n << 64n) - 0x1000n, size: 0x1000n, kind: 'device' },
      ],
    };
    const near = fc.oneof(
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.bigInt({ min: 0x0807fff0n, max: 0x080a0010n }),
      fc.bigInt({ min: 0x3ffffff0n, max: 0x40000010n }),
      fc.bigInt({ min: (1n << 64n) - 0x1010n, max: (1n << 64n) - 1n }),
    );
    fc.assert(
      fc.property(
        fc.oneof(hostileText, near.map((n) => `0x${n.toString(16)}`)),
        fc.option(fc.oneof(hostileText, fc.constantFrom('8', '16', '32', '64', 'b', 'h', 'w', 'l')), { nil: undefined }),
        fc.option(hostileText, { nil: undefined }),
        fc.boolean(),
        (addr, width, value, force) => {
          try {
            const req = parseRequest(addr, width, value === undefined || width === undefined ? undefined : value);
            const v = checkAccess(map, { ...req, force });
            const bytes = BigInt(req.width / 8);
            expect(req.address % bytes).toBe(0n);
            if (!force) {
              expect(v.range).toBeDefined();
              expect(req.address >= v.range!.base && req.address + bytes <= v.range!.base + v.range!.size).toBe(true);
              expect(req.value !== undefined && v.range!.kind === 'memory').toBe(false);
            }
          } catch (e) {
            expect(e).toBeInstanceOf(EpctlError);
            expect(e instanceof DevmemArgumentError || e instanceof DevmemRefusedError).toBe(true);
            expect((e as EpctlError).exitCode).toBe(EXIT.USAGE);
            expect((e as EpctlError).message).not.toMatch(/\n/);
          }
        },
      ),
      RUNS,
    );
  });
});
