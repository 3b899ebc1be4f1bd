import { Lexer, type Token, type Tokens } from 'marked';
import { decodeEntities, escapeAttribute, escapeHtml, htmlToPlainText } from './escape.js';

/**
 * Converts the model's Markdown into the HTML subset Telegram accepts (`b`, `i`, `s`, `u`,
 * `code`, `pre` with a language class, `a href`, `blockquote`), using marked's lexer and
 * rendering its tokens here: headings become bold lines, lists "• " / "1. " lines, tables a
 * monospaced `<pre>` block, horizontal rules a line of box-drawing characters. Every other
 * character is escaped, so raw HTML in the answer shows as text instead of breaking the
 * message. Blockquotes are not nested (Telegram refuses that), nor is code put inside links.
 * A run of inline text with more than `maxInlineDelimiters` emphasis delimiters, or past the
 * conversion's budget of them, is shown as plain text (see MAX_INLINE_DELIMITERS).
 */
export function markdownToTelegramHtml(markdown: string, maxInlineDelimiters = MAX_INLINE_DELIMITERS): string {
  const tokens = new GuardedLexer(maxInlineDelimiters).lex(markdown);
  return blocks(tokens, { quoteDepth: 0, listDepth: 0 }).trim();
}

/**
 * Most emphasis delimiters (`*`, `_`, `~`) one run of inline text (a paragraph, a heading,
 * a table cell) may hold and still be formatted; past it the run is shown as plain text.
 * marked looks ahead for the closer of every delimiter, so its time grows with the square
 * of their number: `_a` repeated 40,000 times in one paragraph took 9 s, and every chat of
 * every tenant waits while the gateway's event loop is blocked. Real answers hold a few
 * dozen per paragraph.
 *
 * Many runs just under the limit would still add up (`*_a` in paragraphs of 500 delimiters
 * took 1 s per 40 KB), so one conversion may also spend at most four runs' worth at the
 * limit: the squares of its runs' delimiters add up to at most 4 × 300². Runs past that
 * budget are shown as plain text too; a real answer spends a fraction of a percent of it
 * (`npm run bench:render` measures both guards).
 */
export const MAX_INLINE_DELIMITERS = 300;

function delimitersIn(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 42 || c === 95 || c === 126) n++; // * _ ~
  }
  return n;
}

/**
 * marked's lexer (GFM), with inline runs of more delimiters than allowed, or past the
 * conversion's budget, kept as one text token.
 */
class GuardedLexer extends Lexer {
  private readonly maxWork: number;
  private spent = 0;

  constructor(private readonly maxDelimiters: number) {
    super({ gfm: true, breaks: false });
    this.maxWork = 4 * maxDelimiters * maxDelimiters;
  }

  override inlineTokens(src: string, tokens: Token[] = []): Token[] {
    const delimiters = delimitersIn(src);
    const work = delimiters * delimiters;
    if (delimiters <= this.maxDelimiters && this.spent + work <= this.maxWork) {
      this.spent += work;
      return super.inlineTokens(src, tokens);
    }
    tokens.push({ type: 'text', raw: src, text: src, escaped: false });
    return tokens;
  }
}

interface BlockState {
  /** Blockquotes we are inside; only the outermost one becomes a tag. */
  quoteDepth: number;
  listDepth: number;
}

interface InlineState {
  inLink: boolean;
}

const HR = '──────────';
const LIST_INDENT = '   ';

function blocks(tokens: Token[], st: BlockState, separator = '\n\n'): string {
  const out: string[] = [];
  for (const t of tokens) {
    const rendered = block(t, st);
    if (rendered.trim() !== '') out.push(rendered);
  }
  return out.join(separator);
}

function block(t: Token, st: BlockState): string {
  const tok = t as Tokens.Generic;
  switch (tok.type) {
    case 'space':
    case 'def':
      return '';
    case 'paragraph':
      return inline((t as Tokens.Paragraph).tokens, { inLink: false });
    case 'text': {
      // Block-level text appears in tight list items; it carries inline tokens.
      const text = t as Tokens.Text;
      return text.tokens ? inline(text.tokens, { inLink: false }) : escapeHtml(decodeEntities(text.text));
    }
    case 'heading': {
      const body = inline((t as Tokens.Heading).tokens, { inLink: false });
      return body.trim() === '' ? '' : `<b>${body}</b>`;
    }
    case 'code':
      return codeBlock(t as Tokens.Code);
    case 'blockquote': {
      const inner = blocks((t as Tokens.Blockquote).tokens, { ...st, quoteDepth: st.quoteDepth + 1 }, '\n');
      return st.quoteDepth > 0 ? inner : `<blockquote>${inner}</blockquote>`;
    }
    case 'list':
      return list(t as Tokens.List, st);
    case 'table':
      return table(t as Tokens.Table);
    case 'hr':
      return HR;
    case 'html':
      return escapeHtml((t as Tokens.HTML).text.trim());
    default:
      // A token type this renderer does not know (a future marked): show its source as text.
      return escapeHtml(tok.raw.trim());
  }
}

function codeBlock(t: Tokens.Code): string {
  const code = escapeHtml(t.text.replace(/\n+$/, ''));
  if (code === '') return '';
  const lang = (t.lang ?? '').trim().split(/\s+/)[0] ?? '';
  // A language name is put in an attribute: keep it to characters language names use.
  const safe = /^[A-Za-z0-9_+#.-]{1,32}$/.test(lang) ? lang : '';
  return safe ? `<pre><code class="language-${safe}">${code}</code></pre>` : `<pre>${code}</pre>`;
}

function list(t: Tokens.List, st: BlockState): string {
  const indent = LIST_INDENT.repeat(st.listDepth);
  const lines: string[] = [];
  let n = typeof t.start === 'number' ? t.start : 1;
  for (const item of t.items) {
    const bullet = t.ordered ? `${n++}. ` : st.listDepth === 0 ? '• ' : '◦ ';
    const box = item.task ? (item.checked ? '☑ ' : '☐ ') : '';
    const head = `${indent}${bullet}${box}`;
    const pad = `${indent}${' '.repeat(bullet.length)}`;
    const parts: string[] = [];
    let headUsed = false;
    for (const child of item.tokens) {
      if (child.type === 'checkbox') continue;
      if (child.type === 'list') {
        if (!headUsed) parts.push(head.trimEnd());
        headUsed = true;
        parts.push(list(child as Tokens.List, { ...st, listDepth: st.listDepth + 1 }));
        continue;
      }
      const rendered = block(child, { ...st, listDepth: st.listDepth + 1 });
      if (rendered.trim() === '') continue;
      // Continuation lines line up under the item's text; code keeps its own indentation.
      const body = child.type === 'code' ? rendered : rendered.replace(/\n/g, `\n${pad}`);
      parts.push(headUsed ? `${pad}${body}` : `${head}${body}`);
      headUsed = true;
    }
    if (!headUsed) parts.push(head.trimEnd());
    lines.push(parts.join('\n'));
  }
  return lines.join('\n');
}

function table(t: Tokens.Table): string {
  const cell = (c: Tokens.TableCell) =>
    htmlToPlainText(inline(c.tokens, { inLink: true }))
      .replace(/\s+/g, ' ')
      .trim();
  const rows = [t.header.map(cell), ...t.rows.map((r) => r.map(cell))];
  const columns = Math.max(...rows.map((r) => r.length));
  const width = (s: string) => Array.from(s).length;
  const widths = Array.from({ length: columns }, (_, i) => Math.max(1, ...rows.map((r) => width(r[i] ?? ''))));
  const pad = (s: string, i: number) => {
    const room = (widths[i] ?? 0) - width(s);
    const align = t.align[i];
    if (align === 'right') return ' '.repeat(room) + s;
    if (align === 'center') return ' '.repeat(Math.floor(room / 2)) + s + ' '.repeat(Math.ceil(room / 2));
    return s + ' '.repeat(room);
  };
  const line = (r: string[]) =>
    widths
      .map((_, i) => pad(r[i] ?? '', i))
      .join(' | ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('-+-');
  const text = [line(rows[0] ?? []), rule, ...rows.slice(1).map(line)].join('\n');
  return `<pre>${escapeHtml(text)}</pre>`;
}

function inline(tokens: Token[] | undefined, st: InlineState): string {
  if (!tokens) return '';
  let out = '';
  for (const t of tokens) out += inlineToken(t, st);
  return out;
}

function wrap(tag: string, body: string): string {
  return body === '' ? '' : `<${tag}>${body}</${tag}>`;
}

function inlineToken(t: Token, st: InlineState): string {
  const tok = t as Tokens.Generic;
  switch (tok.type) {
    case 'text': {
      const text = t as Tokens.Text;
      return text.tokens ? inline(text.tokens, st) : escapeHtml(decodeEntities(text.text));
    }
    case 'escape':
      return escapeHtml((t as Tokens.Escape).text);
    case 'strong':
      return wrap('b', inline((t as Tokens.Strong).tokens, st));
    case 'em':
      return wrap('i', inline((t as Tokens.Em).tokens, st));
    case 'del':
      return wrap('s', inline((t as Tokens.Del).tokens, st));
    case 'codespan': {
      const code = escapeHtml((t as Tokens.Codespan).text);
      return st.inLink ? code : wrap('code', code);
    }
    case 'br':
      return '\n';
    case 'link': {
      const link = t as Tokens.Link;
      const text = inline(link.tokens, { inLink: true });
      const href = safeUrl(link.href);
      if (st.inLink || !href) return text || escapeHtml(link.href);
      return `<a href="${escapeAttribute(href)}">${text || escapeHtml(href)}</a>`;
    }
    case 'image': {
      const image = t as Tokens.Image;
      const alt = escapeHtml(image.text || 'image');
      const href = safeUrl(image.href);
      return href && !st.inLink ? `<a href="${escapeAttribute(href)}">${alt}</a>` : alt;
    }
    case 'html': {
      const raw = (t as Tokens.HTML).text;
      return /^<br\s*\/?>$/i.test(raw.trim()) ? '\n' : escapeHtml(raw);
    }
    case 'checkbox':
      return (t as Tokens.Checkbox).checked ? '☑ ' : '☐ ';
    default:
      return escapeHtml(tok.raw);
  }
}

/** Links Telegram opens: web and tg:// addresses of sane length; anything else stays text. */
function safeUrl(href: string): string | undefined {
  const url = href.trim();
  if (url.length > 2000 || /\s/.test(url)) return undefined;
  return /^(https?:\/\/|tg:\/\/)/i.test(url) ? url : undefined;
}
