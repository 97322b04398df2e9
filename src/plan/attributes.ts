// What a declared value is written as, and whether what the kernel reads back already equals
// it. Written like `echo VALUE > attr` (one trailing newline: kstrto* accepts it, and
// nvmet_pci_epf's strscpy store drops the last byte, so the newline is the byte it drops).
// Compared in the kernel's own read-back format: header fields read "0x%04x\n", counts "%d\n",
// vNTB vntb_vid "%d\n" in decimal (pci-ep-cfs.c, pci-epf-vntb.c), so numbers are compared as
// numbers and anything else as text.
import { kstrtobool, kstrtoll, kstrtoull } from '../configfs/values.js';

export type DeclaredValue = number | string | boolean;

/** The bytes to write for VALUE (header fields in hex, as the how-tos write them). */
export function writeText(value: DeclaredValue, hex = false): string {
  if (typeof value === 'boolean') return value ? '1\n' : '0\n';
  if (typeof value === 'number') return hex ? `0x${value.toString(16)}\n` : `${value}\n`;
  return value.endsWith('\n') ? value : `${value}\n`;
}

const chomp = (s: string): string => (s.endsWith('\n') ? s.slice(0, -1) : s);

/** Whether READBACK (what a read() of the attribute returned) shows VALUE. */
export function readsAs(readBack: string, value: DeclaredValue): boolean {
  const got = chomp(readBack);
  if (typeof value === 'boolean') {
    const r = kstrtobool(got);
    return r.ok && r.value === value;
  }
  const want = typeof value === 'number' ? { ok: true as const, value: BigInt(value) } : kstrtoll(chomp(value));
  const have = kstrtoll(got);
  if (want.ok && have.ok) return sameStored(want.value, have.value);
  // A u64 written past 2^63 reads back negative ("%lld", vNTB mwN): kstrtoll refuses the declared text.
  const wantU = typeof value === 'string' ? kstrtoull(chomp(value)) : undefined;
  if (wantU?.ok && have.ok) return sameStored(wantU.value, have.value);
  return got === chomp(String(value));
}

/**
 * Whether a value written and the value read back are the same bits: the kernel prints an
 * unsigned field through a signed format in places ("%d" for vNTB's u32 counts, "%lld" for its
 * u64 mwN), so 2^31 reads -2147483648 and 2^63 reads -9223372036854775808. The store already
 * refused anything wider than the field (ERANGE), so equal bits at 32 or 64 bits are equal values.
 */
function sameStored(a: bigint, b: bigint): boolean {
  if (a === b) return true;
  if (BigInt.asUintN(64, a) === BigInt.asUintN(64, b)) return true;
  const fits32 = (x: bigint): boolean => x >= -(1n << 31n) && x < 1n << 32n;
  return fits32(a) && fits32(b) && BigInt.asUintN(32, a) === BigInt.asUintN(32, b);
}
