// fast-check arbitraries for the bytes a person writes to pci_ep attributes: every syntax the
// kernel's parsers accept (kstrto* base 0: decimal, 0x/0X hex, leading-0 octal, a leading +,
// one optional trailing newline; kstrtobool's words), the ones they refuse, and each
// attribute's whole range with its edges, zero and huge values (lib/kstrtox.c, pci-ep-cfs.c;
// observed 7.3.4). Host side only (fast-check is a devDependency).
import fc from 'fast-check';
import { FUNCTION_ATTRIBUTES } from '../configfs/header.js';
import { BAR_ATTRS } from '../fake/functions/pci-epf-test.js';
import { ntbTypeGroup } from '../fake/functions/pci-epf-vntb.js';

/** How an attribute's value is written: the kinds of store() parser in pci_ep. */
export type ValueKind = 'u8' | 'u16' | 'msi' | 'msix' | 'bool' | 'barSize' | 'dbCount' | 'spadCount' | 'numMws' | 'mw' | 'bar' | 'u32' | 'vid';

/** Refused by every numeric parser (lib/kstrtox.c), and the empty write that never reaches store(). */
const MALFORMED = ['', '\n', ' 1', '1 ', '0x', '12abc', '0x1234x', '0x12 34', '-1', 'garbage', '0x1111\r\n', '99999999999999999999', '1\n\n', '0b101'];

/** kstrtobool words and near misses (lib/kstrtox.c kstrtobool). */
const BOOL_WORDS = ['1', '0', 'y', 'Y', 'n', 'N', 't', 'T', 'f', 'F', 'on', 'off', 'On', 'OFF', 'of', 'true', 'false', 'yes', 'no', '10', '1 ', ' 1', 'o', '2', 'bogus', '\n', '', '1\n', '0\n'];

/** A number in one of the syntaxes base 0 accepts, with or without the trailing newline. */
function spelled(n: fc.Arbitrary<bigint>): fc.Arbitrary<string> {
  return fc
    .tuple(n, fc.constantFrom('dec', 'hex', 'HEX', 'oct', 'plus'), fc.boolean())
    .map(([v, form, nl]) => {
      const neg = v < 0n;
      const a = neg ? -v : v;
      const body = form === 'hex' ? `0x${a.toString(16)}` : form === 'HEX' ? `0X${a.toString(16).toUpperCase()}` : form === 'oct' ? `0${a.toString(8)}` : form === 'plus' && !neg ? `+${a}` : `${a}`;
      return `${neg ? '-' : ''}${body}${nl ? '\n' : ''}`;
    });
}

const big = (lo: bigint, hi: bigint): fc.Arbitrary<bigint> => fc.bigInt({ min: lo, max: hi });
const some = (...vs: bigint[]): fc.Arbitrary<bigint> => fc.constantFrom(...vs);
const pow2 = (maxExp: number): fc.Arbitrary<bigint> => fc.integer({ min: 0, max: maxExp }).map((e) => 1n << BigInt(e));

/** In range (mostly), at the edges, just over, and malformed. */
function ranged(inRange: fc.Arbitrary<bigint>, edges: bigint[], over: bigint[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: spelled(inRange) },
    { weight: 2, arbitrary: spelled(some(...edges)) },
    { weight: 1, arbitrary: spelled(some(...over)) },
    { weight: 1, arbitrary: fc.constantFrom(...MALFORMED) },
  );
}

const U32_OVER = [1n << 32n, (1n << 64n) - 1n, 1n << 64n];

/** The value text arbitrary of each kind. */
export const VALUE_ARBITRARIES: Readonly<Record<ValueKind, fc.Arbitrary<string>>> = {
  u8: ranged(big(0n, 255n), [0n, 1n, 255n], [256n, 0x100n, 4096n]),
  u16: ranged(big(0n, 0xffffn), [0n, 0xffffn, 0x1957n, 0x104cn], [0x10000n, 65536n]),
  // kstrtou8; bound later to 1..32 by pci_epc_set_msi (a value outside makes epc_init fail).
  msi: ranged(big(1n, 32n), [0n, 1n, 32n, 33n, 64n, 255n], [256n]),
  // kstrtou16; bound later to 1..2048 by pci_epc_set_msix.
  msix: ranged(big(1n, 2048n), [0n, 1n, 2048n, 2049n, 4096n, 65535n], [65536n]),
  bool: fc.constantFrom(...BOOL_WORDS),
  // pci-epf-test barN_size: kstrtouint, power of two, below 2^31.
  barSize: ranged(pow2(30), [0n, 1n, 3n, 131072n, 1048576n, 1n << 30n, 1n << 31n, 0xffffffffn], U32_OVER),
  // vNTB db_count: 3..32 at write on 7.3.4; 0 leaves the link to fail.
  dbCount: ranged(big(0n, 40n), [0n, 2n, 3n, 4n, 32n, 33n, 128n], U32_OVER),
  // spad_count: small, or huge so the bind's allocation fails (ENOMEM).
  spadCount: ranged(big(0n, 256n), [0n, 1n, 128n, 0x10000000n, 0xffffffffn], U32_OVER),
  numMws: ranged(big(0n, 5n), [0n, 1n, 4n, 5n], U32_OVER),
  // mwN: kstrtou64; window sizes up to 1 MiB, or huge (bind ENOMEM), never a size that fits RAM but fills it.
  mw: ranged(fc.oneof(pow2(20), big(1n, 0x100000n)), [0n, 0x100000n, 1n << 40n, (1n << 64n) - 1n], [1n << 64n]),
  // *_bar: kstrtoint, -1..5.
  bar: fc.oneof(ranged(big(-1n, 5n), [-1n, 0n, 5n, 6n, -2n, 16n], [1n << 32n]), fc.constantFrom('-0', '+5', '-1\n')),
  u32: ranged(big(0n, 300n), [0n, 255n, 256n, 0xffffffffn], U32_OVER),
  // vntb_vid/vntb_pid: kstrtou32 stored in a u16.
  vid: ranged(big(0n, 0x1ffffn), [0n, 0xffffn, 0x10000n, 0x1957n, 0x080an], U32_OVER),
};

/** The value kind of each attribute pci_ep shows (function dirs, type groups, `start`). */
export const ATTRIBUTE_KIND: Readonly<Record<string, ValueKind>> = {
  vendorid: 'u16',
  deviceid: 'u16',
  subsys_vendor_id: 'u16',
  subsys_id: 'u16',
  revid: 'u8',
  progif_code: 'u8',
  subclass_code: 'u8',
  baseclass_code: 'u8',
  cache_line_size: 'u8',
  interrupt_pin: 'u8',
  msi_interrupts: 'msi',
  msix_interrupts: 'msix',
  start: 'bool',
  bar0_size: 'barSize',
  bar1_size: 'barSize',
  bar2_size: 'barSize',
  bar3_size: 'barSize',
  bar4_size: 'barSize',
  bar5_size: 'barSize',
  db_count: 'dbCount',
  spad_count: 'spadCount',
  num_mws: 'numMws',
  mw1: 'mw',
  mw2: 'mw',
  mw3: 'mw',
  mw4: 'mw',
  ctrl_bar: 'bar',
  db_bar: 'bar',
  mw1_bar: 'bar',
  mw2_bar: 'bar',
  mw3_bar: 'bar',
  mw4_bar: 'bar',
  vbus_number: 'u32',
  vntb_vid: 'vid',
  vntb_pid: 'vid',
};

/** The function-directory attributes (pci-ep-cfs.c). */
export const FUNCTION_ATTRIBUTE_NAMES: readonly string[] = FUNCTION_ATTRIBUTES.map((a) => a.name);

/**
 * Each driver's type-group attributes on the newest kernels (the fake's driver models hold
 * them); on a kernel without one of them the write is ENOENT on both sides.
 */
export const TYPE_GROUP_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  pci_epf_test: BAR_ATTRS,
  pci_epf_vntb: ntbTypeGroup(true, true).attributes,
  pci_epf_ntb: ntbTypeGroup(false, false).attributes,
};
