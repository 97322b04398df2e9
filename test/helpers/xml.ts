// A strict, minimal XML 1.0 reader for the tests of the JUnit report (there is no XML parser
// among the dependencies): elements, attributes, character data, the five predefined entities
// and character references, an optional <?xml …?> declaration. It throws on anything not
// well-formed in that subset — an unknown entity, a bare & or <, `]]>` in text, a character
// XML cannot carry, a duplicate attribute, a mismatched end tag, a second root — and returns
// the tree with attribute values normalised as a parser does (literal tab/LF/CR → space).
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own character data, decoded, its pieces joined. */
  text: string;
}

const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;
const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

export function parseXml(text: string): XmlElement {
  // End-of-line handling (XML 1.0 §2.11) comes before parsing: a literal CR never survives.
  const doc = text.replace(/\r\n?/g, '\n');
  for (const ch of doc) if (!isXmlChar(ch.codePointAt(0)!)) throw new Error(`character U+${ch.codePointAt(0)!.toString(16)} is not allowed in XML`);
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at offset ${i}: ${JSON.stringify(doc.slice(i, i + 30))}`);
  };
  const ws = () => {
    while (i < doc.length && ' \t\r\n'.includes(doc[i]!)) i++;
  };
  const name = (): string => {
    const m = NAME.exec(doc.slice(i));
    if (!m) fail('expected a name');
    i += m![0].length;
    return m![0];
  };
  /** Decodes character data up to STOP (not included); refuses < and a bare &. */
  const chars = (stop: string, attr: boolean): string => {
    let out = '';
    while (i < doc.length && !stop.includes(doc[i]!)) {
      const c = doc[i]!;
      if (c === '<') fail('a bare <');
      if (!attr && doc.startsWith(']]>', i)) fail('`]]>` in character data');
      if (c === '&') {
        const end = doc.indexOf(';', i);
        if (end < 0) fail('an unterminated reference');
        const ref = doc.slice(i + 1, end);
        let v: string | undefined;
        if (/^#[0-9]+$/.test(ref)) v = String.fromCodePoint(Number(ref.slice(1)));
        else if (/^#x[0-9a-fA-F]+$/.test(ref)) v = String.fromCodePoint(parseInt(ref.slice(2), 16));
        else v = PREDEFINED[ref];
        if (v === undefined || !isXmlChar(v.codePointAt(0)!)) fail(`a bad reference &${ref};`);
        out += v;
        i = end + 1;
      } else {
        out += attr && '\t\r\n'.includes(c) ? ' ' : c;
        i++;
      }
    }
    return out;
  };
  const element = (): XmlElement => {
    if (doc[i] !== '<') fail('expected <');
    i++;
    const el: XmlElement = { name: name(), attrs: {}, children: [], text: '' };
    for (;;) {
      const before = i;
      ws();
      if (doc.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (doc[i] === '>') {
        i++;
        break;
      }
      if (i === before) fail('expected white space before an attribute');
      const a = name();
      ws();
      if (doc[i] !== '=') fail('expected =');
      i++;
      ws();
      const q = doc[i];
      if (q !== '"' && q !== "'") fail('expected a quoted value');
      i++;
      const v = chars(q!, true);
      if (doc[i] !== q) fail('an unterminated attribute');
      i++;
      if (a in el.attrs) fail(`a duplicate attribute ${a}`);
      el.attrs[a] = v;
    }
    for (;;) {
      if (i >= doc.length) fail(`unclosed <${el.name}>`);
      if (doc.startsWith('</', i)) {
        i += 2;
        if (name() !== el.name) fail(`a mismatched end tag for <${el.name}>`);
        ws();
        if (doc[i] !== '>') fail('expected >');
        i++;
        return el;
      }
      if (doc[i] === '<') el.children.push(element());
      else el.text += chars('<', false);
    }
  };
  if (doc.startsWith('<?xml', i)) {
    const end = doc.indexOf('?>', i);
    if (end < 0) fail('an unterminated declaration');
    i = end + 2;
  }
  ws();
  const root = element();
  ws();
  if (i !== doc.length) fail('content after the root element');
  return root;
}
