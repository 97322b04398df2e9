// The guest's side of the transport: framed records written whole to the console (fd 1 is
// /dev/console, ttyAMA0), and the kernel log read from /dev/kmsg (the console itself only shows
// KERN_ALERT and worse once /init has lowered the console loglevel).
import fs from 'node:fs';
import { encodeFrame } from '../framing.js';
import type { GuestRecord } from './protocol.js';

/** Writes records as numbered frames; numbering starts at 0 for each boot. */
export class Reporter {
  private seq = 0;

  /** Sends one record; returns when the bytes are handed to the tty. */
  send(record: GuestRecord): void {
    const buf = Buffer.from(encodeFrame(this.seq++, record), 'utf8');
    let off = 0;
    while (off < buf.length) {
      try {
        off += fs.writeSync(1, buf, off, buf.length - off);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      }
    }
  }
}

/** One /dev/kmsg record (`pri,seq,usec,flags;text\n KEY=val…`) as the console prints it: `[seconds] text`. */
export function kmsgLine(record: string): string {
  const semi = record.indexOf(';');
  const usec = Number(record.slice(0, semi).split(',')[2]);
  const text = record.slice(semi + 1).split('\n')[0]!;
  return `[${String(Math.floor(usec / 1e6)).padStart(5)}.${String(usec % 1e6).padStart(6, '0')}] ${text}`;
}

/** Reads /dev/kmsg without blocking: each call returns the lines logged since the last. */
export class KernelLogReader {
  private readonly fd: number;
  private readonly buf = Buffer.alloc(16384);

  constructor() {
    this.fd = fs.openSync('/dev/kmsg', fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  }

  /** The new lines, as `[seconds] text` (kernel/printk/printk.c devkmsg_read: `pri,seq,usec,flags;text`). */
  drain(): string[] {
    const out: string[] = [];
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(this.fd, this.buf, 0, this.buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') break;
        // EPIPE: records were overwritten before we read them; the next read resumes.
        if (code === 'EPIPE') continue;
        throw e;
      }
      if (n <= 0) break;
      out.push(kmsgLine(this.buf.toString('utf8', 0, n)));
    }
    return out;
  }
}
