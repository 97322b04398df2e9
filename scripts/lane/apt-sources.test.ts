import { describe, expect, it } from 'vitest';
import { parseDeb822, parseOneLine } from './apt-sources.js';

describe("reading the machine's apt mirror", () => {
  it('takes the first URIs and Suites of a deb822 file, skipping deb-src-only stanzas', () => {
    const text = `Types: deb-src
URIs: http://src.example/debian
Suites: bookworm

Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
`;
    expect(parseDeb822(text)).toEqual({ uri: 'http://deb.debian.org/debian', suite: 'bookworm' });
  });

  it('takes the first deb line of a one-line file, options and comments allowed', () => {
    const text = '# deb http://old/ x main\ndeb-src http://src/ bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.local:3142/debian bookworm main\n';
    expect(parseOneLine(text)).toEqual({ uri: 'http://mirror.local:3142/debian', suite: 'bookworm' });
    expect(parseOneLine('# nothing\n')).toBeUndefined();
  });
});
