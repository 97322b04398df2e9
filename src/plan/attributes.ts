// What a declared value is written as, and whether what the kernel reads back already equals
// it. Written like `echo VALUE > attr` (one trailing newline: kstrto* accepts it, and
// nvmet_pci_epf's strscpy store drops the last byte, so the newline is the byte it drops).
// Compared in the kernel's own read-back format: header fields read "0x%04x\n", counts "%d\n",
// vNTB vntb_vid "%d\n" in decimal (pci-ep-cfs.c, pci-epf-vntb.c), so numbers are compared as
// numbers and anything else as text.
import { kstrtobool, kstrtoll } from '../configfs/values.js';

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
  if (want.ok && have.ok) return want.value === have.value;
  return got === chomp(String(value));
}
