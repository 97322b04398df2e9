// kstrto*-compatible parsing of what a person writes to a configfs attribute, and the
// read-back formats. lib/kstrtox.c: base 0 picks 16 for "0x<hexdigit>", 8 for a leading "0",
// else 10; one leading "+" (and "-" for signed types); exactly one trailing "\n" allowed;
// anything else left over is EINVAL; a value past the type is ERANGE.

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errno: 'EINVAL' | 'ERANGE' };

const EINVAL = { ok: false, errno: 'EINVAL' } as const;
const ERANGE = { ok: false, errno: 'ERANGE' } as const;

function digit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return 99;
}

/** lib/kstrtox.c _kstrtoull: unsigned, base 0, at most 64 bits. */
export function kstrtoull(s: string): ParseResult<bigint> {
  let i = 0;
  if (s[0] === '+') i++;
  let base = 10;
  if (s[i] === '0') {
    if ((s[i + 1] === 'x' || s[i + 1] === 'X') && digit(s.charCodeAt(i + 2)) < 16) {
      base = 16;
      i += 2;
    } else base = 8;
  }
  const start = i;
  let v = 0n;
  let overflow = false;
  for (; i < s.length; i++) {
    const d = digit(s.charCodeAt(i));
    if (d >= base) break;
    v = v * BigInt(base) + BigInt(d);
    if (v > 0xffffffffffffffffn) overflow = true;
  }
  if (i === start) return EINVAL;
  if (overflow) return ERANGE;
  if (s[i] === '\n') i++;
  if (i !== s.length) return EINVAL;
  return { ok: true, value: v };
}

/** kstrtoll: a leading "-" negates; the magnitude must fit in a signed 64-bit value. */
export function kstrtoll(s: string): ParseResult<bigint> {
  if (s[0] === '-') {
    const r = kstrtoull(s.slice(1));
    if (!r.ok) return r;
    if (r.value > 1n << 63n) return ERANGE;
    return { ok: true, value: -r.value };
  }
  const r = kstrtoull(s);
  if (!r.ok) return r;
  if (r.value > (1n << 63n) - 1n) return ERANGE;
  return r;
}

/** kstrtou8/u16/u32/u64 (bits = 8, 16, 32, 64): kstrtoull, then ERANGE past the type. */
export function kstrtou(s: string, bits: 8 | 16 | 32 | 64): ParseResult<number | bigint> {
  const r = kstrtoull(s);
  if (!r.ok) return r;
  if (r.value >> BigInt(bits) !== 0n) return ERANGE;
  return { ok: true, value: bits === 64 ? r.value : Number(r.value) };
}

/** kstrtoint (32-bit signed). */
export function kstrtoint(s: string): ParseResult<number> {
  const r = kstrtoll(s);
  if (!r.ok) return r;
  if (r.value < -(1n << 31n) || r.value > (1n << 31n) - 1n) return ERANGE;
  return { ok: true, value: Number(r.value) };
}

/**
 * lib/kstrtox.c kstrtobool: only the first one or two characters count.
 * y Y t T 1 / on → true; n N f F 0 / off → false; anything else EINVAL.
 */
export function kstrtobool(s: string): ParseResult<boolean> {
  switch (s[0]) {
    case 'y': case 'Y': case 't': case 'T': case '1':
      return { ok: true, value: true };
    case 'n': case 'N': case 'f': case 'F': case '0':
      return { ok: true, value: false };
    case 'o': case 'O':
      if (s[1] === 'n' || s[1] === 'N') return { ok: true, value: true };
      if (s[1] === 'f' || s[1] === 'F') return { ok: true, value: false };
      return EINVAL;
    default:
      return EINVAL;
  }
}

/** Read-back of the header attributes: "0x%04x\n" (drivers/pci/endpoint/pci-ep-cfs.c). */
export const formatHex4 = (v: number): string => `0x${v.toString(16).padStart(4, '0')}\n`;
/** Read-back of counts and type-group values: "%d\n", "%u\n", "%lld\n", "%zu\n". */
export const formatDecimal = (v: number | bigint): string => `${v}\n`;
/** Read-back of `controllers/<epc>/start`: pci_epc_start_show prints the cached bool as "%d\n". */
export const formatStart = (started: boolean): string => (started ? '1\n' : '0\n');
/** The bool `start` shows, or undefined when the text is not what pci_epc_start_show prints. */
export function parseStart(text: string): boolean | undefined {
  return text === '1\n' ? true : text === '0\n' ? false : undefined;
}
