// Pure decoders of the property files under /sys/firmware/devicetree/base (drivers/of/kobj.c; observed 6.12):
// big-endian 32-bit cells, NUL-terminated strings, NUL-separated string lists, 0-byte booleans,
// `/bits/ 8` bytes. Each decoder accepts what the kernel's of_property_read_* helpers accept
// (drivers/of/property.c) and throws DtParseError, and only DtParseError, on anything else.
import { KernelDataError } from '../kernel/errors.js';

const CORRUPT = 'the device tree is truncated or corrupt — re-record the board or check the DTB';

/** A device-tree property file holds bytes epctl cannot read as the type it must have. */
export class DtParseError extends KernelDataError {
  /** `path`: the property file (/sys/firmware/devicetree/base/soc/pcie-ep@4c300000/msi-map);
   * `reason`: what is wrong, without the path ("14 bytes is not a whole number of 32-bit cells"). */
  constructor(path: string, reason: string, advice: string = CORRUPT) {
    super(path, reason, { hint: advice });
  }
}

const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Big-endian 32-bit cells (`<0x0 &its 0x10 0x1>`), unsigned. */
export function decodeCells(bytes: Uint8Array, path: string): number[] {
  if (bytes.length % 4 !== 0)
    throw new DtParseError(path, `${plural(bytes.length, 'byte')} is not a whole number of 32-bit cells`);
  const v = view(bytes);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += 4) out.push(v.getUint32(i, false));
  return out;
}

/** Exactly one cell (`#msi-cells`, `phandle`, `msi-map-mask`). */
export function decodeU32(bytes: Uint8Array, path: string): number {
  if (bytes.length !== 4) throw new DtParseError(path, `${plural(bytes.length, 'byte')} where one 32-bit cell (4 bytes) was expected`);
  return view(bytes).getUint32(0, false);
}

/** Exactly two cells, high first (`<0x9 0x0>`). */
export function decodeU64(bytes: Uint8Array, path: string): bigint {
  if (bytes.length !== 8) throw new DtParseError(path, `${plural(bytes.length, 'byte')} where a 64-bit value (two cells, 8 bytes) was expected`);
  return view(bytes).getBigUint64(0, false);
}

/** Joins N cells, most significant first, as of_read_number() does (#address-cells = 2 → 64 bits). */
export function cellsToBigint(cells: readonly number[]): bigint {
  let v = 0n;
  for (const c of cells) v = (v << 32n) | BigInt(c >>> 0);
  return v;
}

/** A `/bits/ 8` single value (`max-functions = /bits/ 8 <2>` is the byte 02). */
export function decodeU8(bytes: Uint8Array, path: string): number {
  if (bytes.length !== 1) throw new DtParseError(path, `${plural(bytes.length, 'byte')} where one /bits/ 8 value (1 byte) was expected`);
  return bytes[0]!;
}

/** A boolean property (`msi-controller;`): present means true and holds no bytes. */
export function decodeFlag(bytes: Uint8Array, path: string): true {
  if (bytes.length !== 0) throw new DtParseError(path, `${plural(bytes.length, 'byte')} in a boolean property, which must be empty`);
  return true;
}

const text = new TextDecoder('utf-8', { fatal: false });

/**
 * A string list (`compatible`, `reg-names`). As of_property_read_string_helper(): every string,
 * the last included, ends in a NUL inside the property; empty strings in the middle are
 * allowed; an empty property is an empty list.
 */
export function decodeStrings(bytes: Uint8Array, path: string): string[] {
  if (bytes.length > 0 && bytes[bytes.length - 1] !== 0)
    throw new DtParseError(path, `${plural(bytes.length, 'byte')} of strings without a final NUL`);
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0) continue;
    out.push(text.decode(bytes.subarray(start, i)));
    start = i + 1;
  }
  return out;
}

/**
 * One string (`status`). As of_property_read_string(): the property must hold a NUL; the value
 * is what comes before the first one (an empty property is an error, -EILSEQ).
 */
export function decodeString(bytes: Uint8Array, path: string): string {
  const nul = bytes.indexOf(0);
  if (nul < 0)
    throw new DtParseError(path, bytes.length === 0 ? 'empty where a NUL-terminated string was expected' : `${plural(bytes.length, 'byte')} without a NUL where a string was expected`);
  return text.decode(bytes.subarray(0, nul));
}
