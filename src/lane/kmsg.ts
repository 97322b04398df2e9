// The kernel log lines each differential Op printed: on a live kernel the records /dev/kmsg
// has gained since the last drain (a nonblocking fd kept open for the run), on the fake the
// records its kernelLog() has gained. Both give "<level>text", the record's text without its
// sequence number and timestamp (Documentation/ABI/testing/dev-kmsg).
import fs from 'node:fs';
import { constants } from 'node:fs';
import type { FakeKernel } from '../fake/api.js';
import { kmsgEscape } from '../fake/printk.js';

/** New kernel log records since the previous drain, oldest first. */
export interface KernelLogTap {
  drain(): string[];
  close(): void;
}

/** At most this many records per drain: a runaway log cannot stall the guest. */
const MAX_RECORDS = 4096;
/** One /dev/kmsg record (text up to LOG_LINE_MAX plus its dictionary) fits in this. */
const RECORD_BYTES = 16384;

/** "6,339,5140900,-;text\n KEY=v\n" → "<6>text" (level = prefix & 7; facility dropped). */
export function parseKmsgRecord(record: string): string | undefined {
  const semi = record.indexOf(';');
  if (semi < 0) return undefined;
  const prefix = Number(record.slice(0, record.indexOf(',')));
  if (!Number.isInteger(prefix)) return undefined;
  const nl = record.indexOf('\n', semi);
  return `<${prefix & 7}>${record.slice(semi + 1, nl < 0 ? undefined : nl)}`;
}

/**
 * A tap on /dev/kmsg: opened O_NONBLOCK, the records already there are skipped, and each drain
 * reads until EAGAIN. A record overwritten before it was read (EPIPE) is lost and said so.
 */
export function kmsgTap(path = '/dev/kmsg'): KernelLogTap {
  const fd = fs.openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const buf = Buffer.alloc(RECORD_BYTES);
  const drain = (): string[] => {
    const out: string[] = [];
    while (out.length < MAX_RECORDS) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') break;
        if (code === 'EPIPE') {
          out.push('<4>epctl: kernel log records were overwritten before they were read');
          continue;
        }
        throw e;
      }
      if (n === 0) break;
      const line = parseKmsgRecord(buf.toString('utf8', 0, n));
      if (line !== undefined) out.push(line);
    }
    return out;
  };
  drain();
  return { drain, close: () => fs.closeSync(fd) };
}

/** The same tap over the fake kernel's log ring. */
export function fakeLogTap(fake: Pick<FakeKernel, 'kernelLog'>): KernelLogTap {
  let seen = fake.kernelLog().length;
  return {
    drain() {
      const records = fake.kernelLog();
      const out = records.slice(seen).map((r) => `<${r.level}>${kmsgEscape(r.text)}`);
      seen = records.length;
      return out;
    },
    close() {},
  };
}
