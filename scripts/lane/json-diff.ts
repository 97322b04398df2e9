// A precise difference between two JSON values (real kernel vs fake), one line per differing
// leaf path, so a divergence names exactly the field to fix.

/** Lines `path: real X, fake Y` for every leaf where the two differ (arrays by index). */
export function jsonDiff(real: unknown, fake: unknown, at = '$'): string[] {
  if (Object.is(real, fake)) return [];
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (Array.isArray(real) && Array.isArray(fake)) {
    const out: string[] = [];
    for (let i = 0; i < Math.max(real.length, fake.length); i++) {
      if (i >= real.length) out.push(`${at}[${i}]: real has no element, fake ${JSON.stringify(fake[i])}`);
      else if (i >= fake.length) out.push(`${at}[${i}]: real ${JSON.stringify(real[i])}, fake has no element`);
      else out.push(...jsonDiff(real[i], fake[i], `${at}[${i}]`));
    }
    return out;
  }
  if (isObj(real) && isObj(fake)) {
    const out: string[] = [];
    for (const k of new Set([...Object.keys(real), ...Object.keys(fake)])) {
      if (!(k in fake)) out.push(`${at}.${k}: real ${JSON.stringify(real[k])}, fake has no such field`);
      else if (!(k in real)) out.push(`${at}.${k}: real has no such field, fake ${JSON.stringify(fake[k])}`);
      else out.push(...jsonDiff(real[k], fake[k], `${at}.${k}`));
    }
    return out;
  }
  return [`${at}: real ${JSON.stringify(real)}, fake ${JSON.stringify(fake)}`];
}
