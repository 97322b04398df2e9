// Framed records on the serial console: the guest harness reports results as
// `@@EPCTL <seq> <len> <crc32> <base64 json>` lines, and the host finds them again in a console
// stream where kernel messages may be printed in the middle of a line (printk writes to the
// UART directly, not through the tty the harness writes to: kernel/printk/printk.c). Shared by
// the guest (encode) and the host (decode); pure, no Node APIs beyond Buffer.

export const TAG = '@@EPCTL';

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE, as zlib's crc32) of bytes, so a frame damaged on the console is detected. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One record as a console line (with its `\n`): the guest writes exactly this. */
export function encodeFrame(seq: number, value: unknown): string {
  const bytes = Buffer.from(JSON.stringify(value), 'utf8');
  const b64 = bytes.toString('base64');
  return `${TAG} ${seq} ${b64.length} ${crc32(bytes).toString(16).padStart(8, '0')} ${b64}\n`;
}

export interface DecodedConsole {
  /** Records in order of their sequence numbers, as the guest sent them. */
  readonly records: unknown[];
  /** Console lines that are not part of a frame (kernel log, QEMU messages), CR stripped. */
  readonly lines: string[];
  /** Framing problems: damaged frames, gaps and repeats in the sequence. Empty when all is well. */
  readonly errors: string[];
}

const FRAME = /^@@EPCTL (\d+) (\d+) ([0-9a-f]{8}) ([A-Za-z0-9+/=]*)$/;
/** A printk line with CONFIG_PRINTK_TIME as the console prints it: `[    1.234567] ...\n`. */
const KERNEL_LINE = /\[\s*\d+\.\d+\][^\n]*\n/y;

/**
 * Splits console output into logical lines. A kernel line (`[ ts] …` up to its newline) that
 * starts in the middle of a line interrupted that line: it becomes a line of its own and the
 * interrupted line continues after it. A tty write never splits a printk line (the console
 * driver writes each record whole under the port lock), but printk can split a tty write.
 */
export function logicalLines(output: string): string[] {
  const text = output.replace(/\r/g, '');
  const out: string[] = [];
  let cur = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      out.push(cur);
      cur = '';
      i++;
      continue;
    }
    if (c === '[' && cur.length) {
      KERNEL_LINE.lastIndex = i;
      const k = KERNEL_LINE.exec(text);
      if (k) {
        out.push(k[0].slice(0, -1));
        i += k[0].length;
        continue;
      }
    }
    const next = text.slice(i).search(/[\n[]/);
    const end = next < 0 ? text.length : i + Math.max(1, next);
    cur += text.slice(i, end);
    i = end;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Finds every frame in console output (CRLF allowed, kernel lines interleaved anywhere). */
export function decodeConsole(output: string): DecodedConsole {
  const bySeq = new Map<number, unknown>();
  const errors: string[] = [];
  const lines: string[] = [];
  for (const line of logicalLines(output)) {
    const at = line.indexOf(TAG);
    if (at < 0) {
      lines.push(line);
      continue;
    }
    if (at > 0) lines.push(line.slice(0, at));
    const f = FRAME.exec(line.slice(at));
    if (!f) {
      errors.push(`damaged frame: ${JSON.stringify(line.slice(at, at + 60))}`);
      continue;
    }
    const [, seqS, lenS, crcS, payload] = f as unknown as [string, string, string, string, string];
    const seq = Number(seqS);
    let bad = '';
    let value: unknown;
    const bytes = Buffer.from(payload, 'base64');
    if (payload.length !== Number(lenS)) bad = `payload has ${payload.length} characters, header says ${lenS}`;
    // Node's base64 decoder ignores stray trailing bits: only the canonical encoding counts.
    else if (bytes.toString('base64') !== payload) bad = 'payload is not canonical base64';
    else if (crc32(bytes).toString(16).padStart(8, '0') !== crcS) bad = `checksum is ${crc32(bytes).toString(16).padStart(8, '0')}, header says ${crcS}`;
    else
      try {
        value = JSON.parse(bytes.toString('utf8'));
      } catch (e) {
        bad = `payload is not JSON (${(e as Error).message})`;
      }
    if (bad) errors.push(`damaged frame ${seq}: ${bad}`);
    else if (bySeq.has(seq)) errors.push(`frame ${seq} received twice`);
    else bySeq.set(seq, value);
  }
  const seqs = [...bySeq.keys()].sort((a, b) => a - b);
  for (let s = 0; s < (seqs.at(-1) ?? -1); s++) if (!bySeq.has(s)) errors.push(`frame ${s} missing (sequence has a gap)`);
  return { records: seqs.map((s) => bySeq.get(s)), lines, errors };
}
