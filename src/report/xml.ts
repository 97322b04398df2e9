// XML 1.0 escaping for the JUnit report: board data (controller and function names from
// sysfs, reasons quoting kernel files) can hold anything, and none of it may break the
// document. Characters XML 1.0 cannot carry at all (control characters other than tab, LF and
// CR; U+FFFE, U+FFFF; lone surrogates) are written visibly as \xHH or \uHHHH; markup
// characters become entity references (so `]]>` is `]]&gt;`); in attributes tab, LF and CR
// become character references, or a parser would normalise them to spaces.

/** XML 1.0's Char production: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]. */
export function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** TEXT with every character XML cannot carry written visibly (\x1B, \uFFFE, \uD800). */
export function xmlVisible(text: string): string {
  let out = '';
  // for…of walks code points; a lone surrogate comes out alone.
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (isXmlChar(cp)) out += ch;
    else out += cp < 0x100 ? `\\x${cp.toString(16).toUpperCase().padStart(2, '0')}` : `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return out;
}

const TEXT: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };
const ATTR: Record<string, string> = { ...TEXT, '"': '&quot;', "'": '&apos;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' };

/** Character data for an element's content. CR is kept as &#13; (a parser turns a literal CR into LF). */
export function escapeText(text: string): string {
  return xmlVisible(text).replace(/[&<>\r]/g, (c) => (c === '\r' ? '&#13;' : TEXT[c]!));
}

/** A value for a double- or single-quoted attribute. */
export function escapeAttr(text: string): string {
  return xmlVisible(text).replace(/[&<>"'\t\n\r]/g, (c) => ATTR[c]!);
}
