import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32, decodeConsole, encodeFrame } from './framing.js';

const kernelLine = fc
  .tuple(fc.nat(99999), fc.nat(999999), fc.string({ maxLength: 60 }).map((s) => s.replace(/[\n\r]/g, ' ')))
  .map(([s, us, msg]) => `[${String(s).padStart(5)}.${String(us).padStart(6, '0')}] ${msg}\n`);

const record = fc.jsonValue({ maxDepth: 3 });

/** Inserts each kernel line at a position of the frame `text` (tag and header included), never inside another. */
function interleave(text: string, inserts: [number, string][]): string {
  const at = inserts.map(([n, line]) => [n % text.length, line] as const).sort((x, y) => y[0] - x[0]);
  let out = text;
  for (const [pos, line] of at) out = out.slice(0, pos) + line + out.slice(pos);
  return out;
}

describe('console record framing', () => {
  it('crc32 is zlib\'s: "123456789" gives cbf43926', () => {
    expect(crc32(Buffer.from('123456789')).toString(16)).toBe('cbf43926');
  });

  it('records survive CRLF and kernel lines printed in the middle of a frame', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(record, fc.array(fc.tuple(fc.nat(), kernelLine), { maxLength: 3 })), { maxLength: 8 }),
        fc.array(kernelLine, { maxLength: 4 }),
        (frames, between) => {
          let out = between.join('');
          frames.forEach(([value, inserts], seq) => {
            out += interleave(encodeFrame(seq, value), inserts);
            out += between[seq % Math.max(1, between.length)] ?? '';
          });
          const d = decodeConsole(out.replace(/\n/g, '\r\n'));
          expect(d.errors).toEqual([]);
          expect(d.records).toEqual(frames.map(([v]) => JSON.parse(JSON.stringify(v))));
          // Every interleaved kernel line is kept as console text.
          const kernel = frames.flatMap(([, ins]) => ins.map(([, l]) => l.replace(/\n$/, '')));
          for (const l of kernel) expect(d.lines).toContain(l.replace(/\r/g, ''));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a changed payload character is reported as a damaged frame, never decoded', () => {
    fc.assert(
      fc.property(record, fc.nat(), fc.constantFrom('A', 'z', '0', '+'), (value, at, ch) => {
        const line = encodeFrame(0, value);
        const start = line.lastIndexOf(' ') + 1;
        const pos = start + (at % (line.length - 1 - start));
        fc.pre(line[pos] !== ch);
        const d = decodeConsole(line.slice(0, pos) + ch + line.slice(pos + 1));
        expect(d.records).toEqual([]);
        expect(d.errors.join('\n')).toMatch(/damaged frame 0/);
      }),
      { numRuns: 200 },
    );
  });

  it('a missing frame is a gap, a repeated one a repeat, a truncated one cut short', () => {
    const out = encodeFrame(0, 'a') + encodeFrame(2, 'c') + encodeFrame(2, 'c') + encodeFrame(3, { x: 1 }).slice(0, 32);
    const d = decodeConsole(out);
    expect(d.records).toEqual(['a', 'c']);
    expect(d.errors).toEqual(['frame 2 received twice', expect.stringMatching(/damaged frame 3: payload has \d+ characters, header says/), 'frame 1 missing (sequence has a gap)']);
  });

  it('text that is neither base64 nor a kernel line inside a payload damages the frame', () => {
    const line = encodeFrame(0, { hello: 'world, a longer value' });
    const d = decodeConsole(`${line.slice(0, 30)}QEMU says hi\n${line.slice(30)}`);
    expect(d.records).toEqual([]);
    expect(d.errors[0]).toMatch(/damaged frame/);
  });
});
