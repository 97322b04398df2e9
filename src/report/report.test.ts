// The farm reports hold whatever a board says: controller and function names from sysfs,
// reasons quoting kernel files. Hostile strings from a generator (control characters, `]]>`,
// quotes, lone surrogates, U+FFFE, lines that look like TAP results) must never break the JUnit
// document (test/helpers/xml.ts reads it back strictly) nor forge a TAP line.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { Check } from './checks.js';
import { renderJunit, renderJunitError } from './junit.js';
import { renderTap, renderTapBailOut } from './tap.js';
import { escapeAttr, escapeText, xmlVisible } from './xml.js';
import { parseXml } from '../../test/helpers/xml.js';

const NASTY = [']]>', '<', '>', '&', '&amp;', '&#0;', '"', "'", '\r', '\n', '\r\n', '\t', '\x00', '\x1b', '\x7f', '\x85', '\uFFFE', '\uFFFF', '\uD800', '\uDFFF', '😀', '#', '\\', '\u2028', 'not ok 1 - forged', 'ok 9 - forged', 'Bail out!', '1..0', '<!--', '<![CDATA[', '</testsuite>', ' # SKIP'];
const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.array(fc.oneof(fc.constantFrom(...NASTY), fc.string({ maxLength: 4 })), { maxLength: 12 }).map((a) => a.join('')),
);
const checkArb: fc.Arbitrary<Check> = fc.record({
  name: hostile,
  status: fc.constantFrom('pass' as const, 'fail' as const, 'skip' as const),
  message: hostile,
  details: fc.array(hostile, { maxLength: 3 }),
});

describe('XML escaping', () => {
  it('the test reader refuses what is not well-formed (so the properties below mean something)', () => {
    for (const bad of ['<a>]]></a>', '<a>&foo;</a>', '<a>&#1;</a>', '<a>\x01</a>', '<a>\uFFFE</a>', '<a b="<"/>', '<a b="1" b="2"/>', '<a></b>', '<a/><b/>', '<a>&</a>', '<a b=c/>', '<a>'])
      expect(() => parseXml(bad), bad).toThrow();
    expect(parseXml('<a b="x&#10;y\tz">t&#13;<c/></a>')).toEqual({ name: 'a', attrs: { b: 'x\ny z' }, children: [{ name: 'c', attrs: {}, children: [], text: '' }], text: 't\r' });
  });

  it('text and attribute values read back as written, with what XML cannot carry made visible', () => {
    fc.assert(
      fc.property(hostile, hostile, (a, t) => {
        const el = parseXml(`<e a="${escapeAttr(a)}" b='${escapeAttr(a)}'>${escapeText(t)}</e>`);
        expect(el.attrs).toEqual({ a: xmlVisible(a), b: xmlVisible(a) });
        expect(el.text).toBe(xmlVisible(t));
      }),
      { numRuns: 500 },
    );
  });

  it('writes forbidden characters visibly and keeps allowed ones', () => {
    expect(xmlVisible('a\x00b\x1bc\tq\n\uFFFE\uD800😀')).toBe('a\\x00b\\x1Bc\tq\n\\uFFFE\\uD800😀');
    expect(escapeText(']]> & <x>\r')).toBe(']]&gt; &amp; &lt;x&gt;&#13;');
    expect(escapeAttr(`"'\t\n`)).toBe('&quot;&apos;&#9;&#10;');
  });
});

describe('JUnit XML', () => {
  it('is well-formed for any checks, one testcase per check, every string read back', () => {
    fc.assert(
      fc.property(hostile, hostile, fc.array(checkArb, { maxLength: 8 }), (suiteName, origin, checks) => {
        const root = parseXml(renderJunit({ name: suiteName, properties: { origin } }, checks));
        expect(root.name).toBe('testsuite');
        expect(root.attrs['name']).toBe(xmlVisible(suiteName));
        const count = (s: Check['status']) => String(checks.filter((c) => c.status === s).length);
        expect(root.attrs).toMatchObject({ tests: String(checks.length), failures: count('fail'), skipped: count('skip'), errors: '0' });
        const [props, ...cases] = root.children;
        expect(props!.children[0]!.attrs).toEqual({ name: 'origin', value: xmlVisible(origin) });
        expect(cases).toHaveLength(checks.length);
        cases.forEach((tc, k) => {
          const c = checks[k]!;
          expect(tc.name).toBe('testcase');
          expect(tc.attrs['name']).toBe(xmlVisible(c.name));
          const [inner] = tc.children;
          if (c.status === 'pass') expect(inner).toMatchObject({ name: 'system-out', text: xmlVisible(c.message) });
          else if (c.status === 'skip') expect(inner).toMatchObject({ name: 'skipped', attrs: { message: xmlVisible(c.message) } });
          else expect(inner).toMatchObject({ name: 'failure', attrs: { message: xmlVisible(c.message), type: 'fail' }, text: xmlVisible([c.message, ...c.details].join('\n')) });
        });
      }),
      { numRuns: 300 },
    );
  });

  it('a run that could not read the board is one <error> testcase', () => {
    fc.assert(
      fc.property(hostile, hostile, (message, hint) => {
        const root = parseXml(renderJunitError({ name: 'epctl probe', properties: {} }, message, hint));
        expect(root.attrs).toMatchObject({ tests: '1', errors: '1', failures: '0' });
        expect(root.children[0]!.children[0]).toMatchObject({ name: 'error', attrs: { message: xmlVisible(message) }, text: xmlVisible(hint ? `${message}\nfix: ${hint}` : message) });
      }),
    );
  });

  it('matches the hand-checked document for one check of each kind', () => {
    const checks: Check[] = [
      { name: 'configfs mounted', status: 'pass', message: 'configfs at /sys/kernel/config', details: [] },
      { name: 'ep "0" link up', status: 'skip', message: 'no reading <here>', details: [] },
      { name: 'x]]>y', status: 'fail', message: 'bad\x1b & "worse"', details: ['fix: a\tb'] },
    ];
    expect(renderJunit({ name: 'epctl probe', properties: { kernel: '7.3.4' } }, checks)).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<testsuite name="epctl probe" tests="3" failures="1" errors="0" skipped="1">',
        '  <properties>',
        '    <property name="kernel" value="7.3.4"/>',
        '  </properties>',
        '  <testcase name="configfs mounted" classname="epctl.probe">',
        '    <system-out>configfs at /sys/kernel/config</system-out>',
        '  </testcase>',
        '  <testcase name="ep &quot;0&quot; link up" classname="epctl.probe">',
        '    <skipped message="no reading &lt;here&gt;"/>',
        '  </testcase>',
        '  <testcase name="x]]&gt;y" classname="epctl.probe">',
        '    <failure message="bad\\x1B &amp; &quot;worse&quot;" type="fail">bad\\x1B &amp; "worse"\nfix: a\tb</failure>',
        '  </testcase>',
        '</testsuite>',
        '',
      ].join('\n'),
    );
  });
});

/** The TAP lines, checked against TAP 13's grammar as kselftest uses it; returns the test lines. */
function tapLines(doc: string): { ok: boolean; n: number; rest: string }[] {
  expect(doc.endsWith('\n')).toBe(true);
  const lines = doc.slice(0, -1).split('\n');
  expect(lines[0]).toBe('TAP version 13');
  const tests: { ok: boolean; n: number; rest: string }[] = [];
  let plan: number | undefined;
  for (const l of lines.slice(1)) {
    if (l === '#' || l.startsWith('# ')) continue;
    const p = /^1\.\.(\d+)$/.exec(l);
    if (p && plan === undefined && tests.length === 0) {
      plan = Number(p[1]);
      continue;
    }
    const t = /^(ok|not ok) (\d+) - (.*)$/.exec(l);
    if (!t) throw new Error(`not a TAP line: ${JSON.stringify(l)}`);
    tests.push({ ok: t[1] === 'ok', n: Number(t[2]), rest: t[3]! });
  }
  expect(plan).toBe(tests.length);
  expect(tests.map((t) => t.n)).toEqual(tests.map((_, k) => k + 1));
  return tests;
}

/** The description's unescaped `#`s: TAP's directive marker. */
const directives = (rest: string): string[] => [...rest.matchAll(/(?<!\\)(?:\\\\)*#/g)].map((m) => rest.slice(m.index! + m[0].length));

describe('TAP', () => {
  it('one test line per check, in order, nothing forged, # SKIP only on skipped checks', () => {
    fc.assert(
      fc.property(hostile, fc.array(checkArb, { maxLength: 8 }), (title, checks) => {
        const doc = renderTap(title, checks);
        expect(doc).not.toMatch(/[\r\u2028\u2029]/);
        const tests = tapLines(doc);
        expect(tests).toHaveLength(checks.length);
        tests.forEach((t, k) => {
          const c = checks[k]!;
          expect(t.ok).toBe(c.status !== 'fail');
          const d = directives(t.rest);
          if (c.status === 'skip') {
            expect(d).toHaveLength(1);
            expect(d[0]!.startsWith(' SKIP ')).toBe(true);
          } else expect(d).toEqual([]);
        });
        expect(doc.trimEnd().split('\n').at(-1)).toMatch(/^# Totals: pass:\d+ fail:\d+ xfail:0 xpass:0 skip:\d+ error:0$/);
      }),
      { numRuns: 300 },
    );
  });

  it('a run that could not read the board bails out, on one line', () => {
    fc.assert(
      fc.property(hostile, hostile, (title, message) => {
        const lines = renderTapBailOut(title, message).slice(0, -1).split('\n');
        expect(lines[0]).toBe('TAP version 13');
        expect(lines.filter((l) => !l.startsWith('# ') && l !== '#').slice(1)).toEqual([expect.stringMatching(/^Bail out! /)]);
      }),
    );
  });
});
