// /dev/kmsg records (Documentation/ABI/testing/dev-kmsg): "level,seq,usec,flags;text", then
// optional continuation lines " KEY=value" (dictionary), one record per read(2). The level
// field carries the facility in its high bits (prefix = facility << 3 | level).
import type { KmsgRecord } from './port.js';

/** One record as read(2) returns it from /dev/kmsg, or undefined when it is not one. */
export function parseKmsgRecord(record: string): KmsgRecord | undefined {
  const semi = record.indexOf(';');
  if (semi < 0) return undefined;
  const fields = record.slice(0, semi).split(',');
  if (fields.length < 4) return undefined;
  const [prefix, seq, usec] = fields.map(Number) as [number, number, number];
  if (![prefix, seq, usec].every((n) => Number.isSafeInteger(n) && n >= 0)) return undefined;
  // The text ends at the first newline; dictionary lines follow it.
  const body = record.slice(semi + 1);
  const nl = body.indexOf('\n');
  return { level: prefix & 7, seq, usec, text: unescapeKmsg(nl < 0 ? body : body.slice(0, nl)) };
}

/** kernel/printk/printk.c msg_add_ext_text: non-printable bytes and '\\' are written "\\xNN". */
function unescapeKmsg(text: string): string {
  return text.includes('\\x') ? text.replace(/\\x([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))) : text;
}

/** The records after `seq` (apply's window onto what the kernel printed meanwhile). */
export function kmsgAfter(records: readonly KmsgRecord[], seq: number): KmsgRecord[] {
  return records.filter((r) => r.seq > seq);
}

/** The highest seq in `records`, -1 for an empty log. */
export function lastSeq(records: readonly KmsgRecord[]): number {
  return records.reduce((m, r) => Math.max(m, r.seq), -1);
}
