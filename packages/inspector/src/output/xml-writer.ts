/**
 * A tiny XML serializer that reproduces libxml2's xmlTextWriter output as virt-inspector
 * configures it (xmlTextWriterSetIndent(1), indent string "  ", StartDocument(NULL, NULL, NULL)),
 * byte for byte, for the element shapes virt-inspector writes: elements holding either text or
 * child elements, with attributes.
 *
 * libxml2 2.9 rules reproduced here (xmlwriter.c, entities.c, xmlsave.c):
 * - the document starts with `<?xml version="1.0"?>` and a newline;
 * - every start tag is on its own line, indented two spaces per depth;
 * - an element with text keeps it on the same line: `<a>text</a>`, also for the empty string
 *   (`<a></a>`: writing "" still closes the start tag);
 * - an element with no content is written `<a/>`;
 * - text is escaped by xmlEncodeSpecialChars: `&` `<` `>` `"` and carriage return (`&#13;`);
 *   tabs, newlines and non-ASCII characters are written as they are (UTF-8);
 * - attribute values are escaped by xmlBufAttrSerializeTxtContent with no document: `&` `<` `>`
 *   `"`, newline `&#10;`, carriage return `&#13;`, tab `&#9;`, and every non-ASCII character as a
 *   hexadecimal character reference with upper-case digits (`&#xE9;`).
 */
export interface XmlElement {
  name: string;
  attributes?: readonly (readonly [string, string])[];
  /** Text content (possibly ""), or child elements, or nothing (undefined: an empty element). */
  content?: string | readonly XmlElement[];
}

/** Build an element with text content. */
export function textElement(name: string, text: string, attributes?: readonly (readonly [string, string])[]): XmlElement {
  return attributes ? { name, attributes, content: text } : { name, content: text };
}

/** Escape text content the way xmlEncodeSpecialChars does. */
export function escapeXmlText(s: string): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c === 0x26) rep = '&amp;';
    else if (c === 0x3c) rep = '&lt;';
    else if (c === 0x3e) rep = '&gt;';
    else if (c === 0x22) rep = '&quot;';
    else if (c === 0x0d) rep = '&#13;';
    if (rep !== undefined) {
      out += s.slice(last, i) + rep;
      last = i + 1;
    }
  }
  return last === 0 ? s : out + s.slice(last);
}

/** Escape an attribute value the way xmlBufAttrSerializeTxtContent does when there is no document. */
export function escapeXmlAttribute(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c === 0x26) out += '&amp;';
    else if (c === 0x3c) out += '&lt;';
    else if (c === 0x3e) out += '&gt;';
    else if (c === 0x22) out += '&quot;';
    else if (c === 0x0a) out += '&#10;';
    else if (c === 0x0d) out += '&#13;';
    else if (c === 0x09) out += '&#9;';
    else if (c >= 0x80) out += `&#x${c.toString(16).toUpperCase()};`;
    else out += ch;
  }
  return out;
}

const INDENT = '  ';

function startTag(el: XmlElement): string {
  let s = '<' + el.name;
  for (const [k, v] of el.attributes ?? []) s += ` ${k}="${escapeXmlAttribute(v)}"`;
  return s;
}

function writeElement(el: XmlElement, depth: number, out: string[]): void {
  const indent = INDENT.repeat(depth);
  const c = el.content;
  if (c === undefined || (Array.isArray(c) && c.length === 0)) {
    out.push(`${indent}${startTag(el)}/>\n`);
  } else if (typeof c === 'string') {
    out.push(`${indent}${startTag(el)}>${escapeXmlText(c)}</${el.name}>\n`);
  } else {
    out.push(`${indent}${startTag(el)}>\n`);
    for (const child of c as readonly XmlElement[]) writeElement(child, depth + 1, out);
    out.push(`${indent}</${el.name}>\n`);
  }
}

/** Serialize a whole document: the XML declaration, then the root element. */
export function writeXmlDocument(root: XmlElement): string {
  const out: string[] = ['<?xml version="1.0"?>\n'];
  writeElement(root, 0, out);
  return out.join('');
}
