/** Escapes text for Telegram HTML: `&`, `<` and `>` are the only characters it requires escaped. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/** Escapes an attribute value written between double quotes. */
export function escapeAttribute(text: string): string {
  return escapeHtml(text).replace(/"/g, '&quot;');
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/**
 * Decodes the character references Markdown text may carry (`&amp;`, `&#38;`, `&#x26;`
 * and a few common names). Unknown names stay as they are, to be escaped on output.
 */
export function decodeEntities(text: string): string {
  return text.replace(/&(#\d{1,7}|#x[0-9a-f]{1,6}|[a-z]+);/gi, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1));
      // Surrogates and out-of-range code points would make Telegram reject the text.
      if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return '\ufffd';
      return String.fromCodePoint(code);
    }
    return NAMED[ref.toLowerCase()] ?? whole;
  });
}

/**
 * What a person sees of Telegram HTML produced by this module's renderer: tags removed,
 * the entities Telegram decodes turned back into characters.
 */
export function htmlToPlainText(html: string): string {
  return html.replace(/<[^>]*>/g, '').replace(/&(lt|gt|quot|amp|#\d+|#x[0-9a-f]+);/gi, (_whole, ref: string) => {
    const r = ref.toLowerCase();
    if (r === 'lt') return '<';
    if (r === 'gt') return '>';
    if (r === 'quot') return '"';
    if (r === 'amp') return '&';
    return String.fromCodePoint(r.startsWith('#x') ? Number.parseInt(r.slice(2), 16) : Number(r.slice(1)));
  });
}
