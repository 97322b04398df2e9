// The machine's own Debian mirror and suite, read from its apt sources (deb822
// /etc/apt/sources.list.d/debian.sources first, then the one-line /etc/apt/sources.list), so
// the lane's private apt configurations use the same mirror or proxy without hard-coding one.

export interface MachineSource {
  readonly uri: string;
  readonly suite: string;
}

/** First `URIs:` and `Suites:` of a deb822 sources file, or undefined. */
export function parseDeb822(text: string): MachineSource | undefined {
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)`, 'mi').exec(stanza)?.[1];
    const types = new RegExp('^Types:(.*)$', 'mi').exec(stanza)?.[1] ?? '';
    const uri = field('URIs');
    const suite = field('Suites');
    if (types.trim().split(/\s+/).includes('deb') && uri && suite && !/^#/.test(uri)) return { uri, suite };
  }
  return undefined;
}

/** URI and suite of the first `deb` line of a one-line sources.list, or undefined. */
export function parseOneLine(text: string): MachineSource | undefined {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (m) return { uri: m[1]!, suite: m[2]! };
  }
  return undefined;
}
