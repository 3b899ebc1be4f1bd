import { describe, expect, it } from 'vitest';
import { htmlToPlainText } from '../../../gateway/render/escape.js';
import { markdownToTelegramHtml } from '../../../gateway/render/markdown.js';
import { splitTelegramHtml, TELEGRAM_MAX_CHARS, TELEGRAM_MAX_ENTITIES } from '../../../gateway/render/split.js';
import { parseTelegramHtml } from '../../fakes/telegram-html.js';

/** The characters of a piece's tags. */
const markupOf = (html: string) => (html.match(/<[^>]*>/g) ?? []).join('').length;

/**
 * Checks what Telegram would: every piece parses, its visible text fits `max` (in UTF-16
 * units) and its tags too; returns the pieces' visible texts.
 */
function check(pieces: string[], max: number): string[] {
  return pieces.map((p) => {
    expect(markupOf(p)).toBeLessThanOrEqual(max);
    const parsed = parseTelegramHtml(p, true);
    expect(parsed.text.length).toBeLessThanOrEqual(max);
    expect(parsed.text.trim()).not.toBe('');
    return htmlToPlainText(p);
  });
}

describe('splitTelegramHtml', () => {
  it('keeps a message that fits as it is', () => {
    expect(splitTelegramHtml('<b>short</b> text')).toEqual(['<b>short</b> text']);
    expect(splitTelegramHtml('   ')).toEqual([]);
  });

  it('cuts long text at paragraph boundaries and loses no character', () => {
    const paragraphs = Array.from({ length: 30 }, (_, i) => `Paragraph ${i} ${'word '.repeat(40).trim()}.`);
    const html = paragraphs.join('\n\n');
    const pieces = splitTelegramHtml(html, 1000);
    expect(pieces.length).toBeGreaterThan(1);
    const texts = check(pieces, 1000);
    expect(texts.join('')).toBe(html);
    // Every cut falls right after a blank line.
    for (const t of texts.slice(0, -1)) expect(t.endsWith('\n\n')).toBe(true);
  });

  it('counts the visible text against the limit, not the markup', () => {
    // 3,900 visible characters in 4,600 of HTML: one message, as Telegram counts.
    const html = Array.from(
      { length: 100 },
      (_, i) => `<b>word ${String(i).padStart(2, '0')}</b> ${'x'.repeat(30)}`,
    ).join('\n');
    expect(html.length).toBeGreaterThan(TELEGRAM_MAX_CHARS);
    expect(htmlToPlainText(html).length).toBeLessThan(TELEGRAM_MAX_CHARS);
    expect(splitTelegramHtml(html)).toEqual([html]);
    // Past the limit, each piece is filled by its visible text.
    const longer = `${html}\n${html}`;
    const pieces = splitTelegramHtml(longer);
    expect(pieces).toHaveLength(2);
    expect(check(pieces, TELEGRAM_MAX_CHARS).join('')).toBe(htmlToPlainText(longer));
  });

  it('cuts a link-heavy text by its tags, which Telegram also limits, and not by its character references', () => {
    // Short link texts, long addresses: 500 visible characters in 12,000 of HTML.
    const link = (i: number) => `<a href="https://example.com/${'p'.repeat(100)}/${i}">l${i}</a>`;
    const html = Array.from({ length: 90 }, (_, i) => link(i)).join(' ');
    const pieces = splitTelegramHtml(html);
    expect(pieces.length).toBeGreaterThan(1);
    for (const p of pieces) expect(markupOf(p)).toBeLessThanOrEqual(TELEGRAM_MAX_CHARS);
    expect(check(pieces, TELEGRAM_MAX_CHARS).join('')).toBe(htmlToPlainText(html));
    // Code full of && and <: 5,000 visible characters in 25,000 of HTML are two messages.
    const escaped = '&amp;'.repeat(5_000);
    expect(splitTelegramHtml(escaped).map((p) => htmlToPlainText(p).length)).toEqual([4096, 904]);
  });

  it('drops a text with nothing to show, whatever its tags', () => {
    expect(splitTelegramHtml('<pre>   </pre>')).toEqual([]);
    expect(splitTelegramHtml(`<b>${' '.repeat(5_000)}</b>`)).toEqual([]);
  });

  it('puts at most 100 entities in a message, since Telegram drops the formatting past them', () => {
    const html = Array.from({ length: 150 }, (_, i) => `<b>w${i}</b>`).join(' ');
    expect(htmlToPlainText(html).length).toBeLessThan(TELEGRAM_MAX_CHARS);
    const pieces = splitTelegramHtml(html);
    expect(pieces).toHaveLength(2);
    const counts = pieces.map((p) => parseTelegramHtml(p, true).entities.length);
    expect(counts.every((n) => n <= TELEGRAM_MAX_ENTITIES)).toBe(true);
    expect(counts.reduce((a, b) => a + b)).toBe(150);
    expect(check(pieces, TELEGRAM_MAX_CHARS).join('')).toBe(htmlToPlainText(html));
    // Reopened tags count: 30 bold words inside one link are 31 entities.
    const linked = `<a href="https://x.io">${Array.from({ length: 30 }, (_, i) => `<b>w${i}</b>`).join(' ')}</a>`;
    for (const p of splitTelegramHtml(linked, 4096, 4096, 10))
      expect(parseTelegramHtml(p, true).entities.length).toBeLessThanOrEqual(10);
  });

  it('closes and reopens formatting that spans a cut', () => {
    const html = `<b>${'bold words '.repeat(30).trim()}</b>`;
    const pieces = splitTelegramHtml(html, 120);
    expect(pieces.length).toBeGreaterThan(2);
    for (const p of pieces) {
      expect(p.startsWith('<b>')).toBe(true);
      expect(p.endsWith('</b>')).toBe(true);
      const parsed = parseTelegramHtml(p, true);
      expect(parsed.entities.map((e) => e.type)).toEqual(['bold']);
    }
    expect(check(pieces, 120).join('')).toBe(htmlToPlainText(html));
  });

  it('reopens a code block with its language and a link with its address', () => {
    const code = Array.from({ length: 40 }, (_, i) => `let v${i} = a &lt; b &amp;&amp; c;`).join('\n');
    const html = `<pre><code class="language-ts">${code}</code></pre>\n\n<a href="https://x.io/?a=1&amp;b=2">${'link text '.repeat(20)}</a>`;
    const pieces = splitTelegramHtml(html, 300);
    for (const p of pieces) {
      const parsed = parseTelegramHtml(p, true);
      for (const e of parsed.entities) {
        if (e.type === 'pre') expect(e.language).toBe('ts');
        if (e.type === 'text_link') expect(e.url).toBe('https://x.io/?a=1&b=2');
      }
    }
    expect(pieces.some((p) => p.startsWith('<pre><code class="language-ts">') && !p.includes('let v0 '))).toBe(true);
    expect(check(pieces, 300).join('')).toBe(htmlToPlainText(html));
  });

  it('never cuts inside a character reference or a surrogate pair', () => {
    const html = '&amp;&lt;😀'.repeat(200);
    const pieces = splitTelegramHtml(html, 97);
    for (const p of pieces) {
      expect(p).not.toMatch(/&[a-z]*$/);
      expect(p).not.toMatch(/^[a-z]*;/);
      expect(/[\ud800-\udbff]$/.test(p)).toBe(false);
    }
    expect(check(pieces, 97).join('')).toBe(htmlToPlainText(html));
  });

  it('splits a 10,000-character Markdown answer into valid messages of at most 4096 characters', () => {
    const blocks: string[] = [];
    for (let i = 0; blocks.join('\n\n').length < 10_000; i++) {
      blocks.push(
        i % 4 === 0
          ? `## Part ${i}`
          : i % 4 === 1
            ? `Text with **bold ${i}** & <angle> brackets and a [link](https://x.io/${i}). ${'More words here. '.repeat(12)}`
            : i % 4 === 2
              ? `- item ${i}\n- item with \`code < ${i}\``
              : `\`\`\`js\n${'const x = a < b && c;\n'.repeat(15)}\`\`\``,
      );
    }
    const markdown = blocks.join('\n\n').slice(0, 10_000);
    const html = markdownToTelegramHtml(markdown);
    const pieces = splitTelegramHtml(html);
    expect(pieces.length).toBeGreaterThanOrEqual(3);
    expect(check(pieces, TELEGRAM_MAX_CHARS).join('')).toBe(htmlToPlainText(html));
  });

  it('holds for random mixes of formatting (every piece valid, nothing lost)', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const parts = [
      '**b**',
      '_i_',
      '`c<d`',
      '[l](https://a.b)',
      ' & ',
      '<x>',
      '\n\n',
      '\n- li',
      '😀',
      'word ',
      '> q\n\n',
    ];
    for (let round = 0; round < 30; round++) {
      let markdown = '';
      while (markdown.length < 3000) markdown += parts[rand(parts.length)];
      const html = markdownToTelegramHtml(markdown);
      const max = 200 + rand(400);
      const pieces = splitTelegramHtml(html, max);
      expect(check(pieces, max).join('').replace(/\s+/g, ' ').trim()).toBe(
        htmlToPlainText(html).replace(/\s+/g, ' ').trim(),
      );
    }
  });
});
