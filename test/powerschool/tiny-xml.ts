/**
 * Just enough XML for checking plugin.xml: elements, attributes (with entities decoded),
 * namespaces resolved to URIs, comments and the declaration skipped. Throws on anything malformed
 * (mismatched or unclosed tags, text outside the root, duplicate attributes).
 */

export interface XmlElement {
  /** Local name, without prefix. */
  name: string;
  namespace: string | null;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_m, e: string) => {
    if (e.startsWith('#x') || e.startsWith('#X')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)));
    return ENTITIES[e.toLowerCase()]!;
  });
}

const TOKEN =
  /<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<\/([\w:.-]+)\s*>|<([\w:.-]+)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/gy;
const ATTRIBUTE = /([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

interface Open {
  element: XmlElement;
  qname: string;
  scope: Record<string, string>;
}

export function parseXml(xml: string): XmlElement {
  const stack: Open[] = [];
  let root: XmlElement | null = null;
  TOKEN.lastIndex = 0;
  let position = 0;
  while (position < xml.length) {
    TOKEN.lastIndex = position;
    const m = TOKEN.exec(xml);
    if (!m || m.index !== position) throw new Error(`malformed XML near offset ${position}`);
    position = TOKEN.lastIndex;
    const [token, closing, opening, attrText, selfClosing, text] = m;
    if (token.startsWith('<?') || token.startsWith('<!--')) continue;
    if (text !== undefined) {
      if (stack.length === 0) {
        if (text.trim() !== '') throw new Error('text outside the root element');
      } else stack.at(-1)!.element.text += decode(text);
      continue;
    }
    if (closing !== undefined) {
      const open = stack.pop();
      if (!open || open.qname !== closing) throw new Error(`mismatched </${closing}>`);
      continue;
    }
    const parentScope = stack.at(-1)?.scope ?? {};
    const scope = { ...parentScope };
    const raw: Record<string, string> = {};
    for (const a of (attrText ?? '').matchAll(ATTRIBUTE)) {
      if (a[1]! in raw) throw new Error(`duplicate attribute ${a[1]}`);
      raw[a[1]!] = decode(a[2] ?? a[3] ?? '');
    }
    const attributes: Record<string, string> = {};
    for (const [key, value] of Object.entries(raw)) {
      if (key === 'xmlns') scope[''] = value;
      else if (key.startsWith('xmlns:')) scope[key.slice(6)] = value;
      else attributes[key] = value;
    }
    const [prefix, local] = opening!.includes(':') ? opening!.split(':') : ['', opening!];
    const element: XmlElement = { name: local!, namespace: scope[prefix!] ?? null, attributes, children: [], text: '' };
    if (stack.length) stack.at(-1)!.element.children.push(element);
    else if (root) throw new Error('more than one root element');
    else root = element;
    if (!selfClosing) stack.push({ element, qname: opening!, scope });
  }
  if (stack.length) throw new Error(`unclosed <${stack.at(-1)!.qname}>`);
  if (!root) throw new Error('no root element');
  return root;
}
