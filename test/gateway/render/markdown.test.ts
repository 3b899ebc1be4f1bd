import { describe, expect, it } from 'vitest';
import { htmlToPlainText } from '../../../gateway/render/escape.js';
import { MAX_INLINE_DELIMITERS, markdownToTelegramHtml as md } from '../../../gateway/render/markdown.js';
import { parseTelegramHtml } from '../../fakes/telegram-html.js';

/** Parses like Telegram does (strict about `&`); throws on HTML Telegram would refuse. */
const telegram = (html: string) => parseTelegramHtml(html, true);

describe('markdownToTelegramHtml', () => {
  it('renders emphasis, strike-through and inline code with Telegram tags', () => {
    expect(md('**bold** and *italic*, __also bold__, ~~gone~~, `x()`')).toBe(
      '<b>bold</b> and <i>italic</i>, <b>also bold</b>, <s>gone</s>, <code>x()</code>',
    );
  });

  it('nests emphasis', () => {
    const html = md('**bold _italic ~~both~~_ end**');
    expect(html).toBe('<b>bold <i>italic <s>both</s></i> end</b>');
    const parsed = telegram(html);
    expect(parsed.text).toBe('bold italic both end');
    expect(parsed.entities.map((e) => e.type)).toEqual(['bold', 'italic', 'strikethrough']);
  });

  it('escapes &, < and > in text and keeps character references the Markdown wrote', () => {
    expect(md('a < b && c > d, &amp; <span>raw</span> &copy;')).toBe(
      'a &lt; b &amp;&amp; c &gt; d, &amp; &lt;span&gt;raw&lt;/span&gt; &amp;copy;',
    );
    expect(telegram(md('1 < 2 & <b>not bold</b>')).text).toBe('1 < 2 & <b>not bold</b>');
  });

  it('renders fenced code with its language and escapes < and & inside', () => {
    const html = md('```ts\nif (a < b && c) { return "<tag>"; }\n```');
    expect(html).toBe(
      '<pre><code class="language-ts">if (a &lt; b &amp;&amp; c) { return "&lt;tag&gt;"; }</code></pre>',
    );
    const parsed = telegram(html);
    expect(parsed.entities).toEqual([{ type: 'pre', offset: 0, length: parsed.text.length, language: 'ts' }]);
  });

  it('renders code without a language, indented code and unclosed fences as pre', () => {
    expect(md('```\nplain & simple\n```')).toBe('<pre>plain &amp; simple</pre>');
    expect(md('    indented <code>')).toBe('<pre>indented &lt;code&gt;</pre>');
    expect(md('```python\nprint(1)')).toBe('<pre><code class="language-python">print(1)</code></pre>');
  });

  it('drops a code language that is not a plain name instead of breaking the attribute', () => {
    expect(md('```a"b\nx\n```')).toBe('<pre>x</pre>');
  });

  it('renders links with escaped quotes and ampersands in the address', () => {
    const html = md('[the "spec"](https://example.com/a?x=1&y="2")');
    expect(html).toBe('<a href="https://example.com/a?x=1&amp;y=&quot;2&quot;">the "spec"</a>');
    expect(telegram(html).entities).toEqual([
      { type: 'text_link', offset: 0, length: 10, url: 'https://example.com/a?x=1&y="2"' },
    ]);
  });

  it('keeps links Telegram cannot open as text, and code inside a link as plain text', () => {
    expect(md('[run](javascript:alert(1))')).toBe('run');
    expect(md('[`code` here](https://x.io)')).toBe('<a href="https://x.io">code here</a>');
    expect(md('<https://auto.link/x?a=1&b=2>')).toBe(
      '<a href="https://auto.link/x?a=1&amp;b=2">https://auto.link/x?a=1&amp;b=2</a>',
    );
  });

  it('turns headings into bold lines and separates blocks by a blank line', () => {
    expect(md('# Title\n\nText\n\n## Sub `x`')).toBe('<b>Title</b>\n\nText\n\n<b>Sub <code>x</code></b>');
  });

  it('renders bullet, ordered, nested and task lists as lines', () => {
    expect(md('- one\n- two\n  - nested\n- [x] done\n- [ ] todo')).toBe(
      '• one\n• two\n   ◦ nested\n• ☑ done\n• ☐ todo',
    );
    expect(md('3. three\n4. **four**')).toBe('3. three\n4. <b>four</b>');
  });

  it('renders blockquotes without nesting them', () => {
    const html = md('> quoted **b**\n> > inner');
    expect(html).toBe('<blockquote>quoted <b>b</b>\ninner</blockquote>');
    expect(telegram(html).entities.filter((e) => e.type === 'blockquote')).toHaveLength(1);
  });

  it('renders tables as aligned monospaced text', () => {
    const html = md('| Grade | MPa |\n|:--|--:|\n| S355 | 355 |\n| *S235* | 235 |');
    expect(html).toBe('<pre>Grade | MPa\n------+----\nS355  | 355\nS235  | 235</pre>');
  });

  it('renders rules, hard breaks and images', () => {
    expect(md('a\n\n---\n\nb')).toBe('a\n\n──────────\n\nb');
    expect(md('line one  \nline two')).toBe('line one\nline two');
    expect(md('![a plan](https://x.io/p.png)')).toBe('<a href="https://x.io/p.png">a plan</a>');
  });

  it('produces HTML Telegram accepts for a mixed answer, with the same visible text as the plain reading', () => {
    const answer = [
      '# Steel grades',
      'Use **S355** when *yield* matters & loads are > 300 MPa.',
      '- check `t < 40mm`',
      '- see [EN 10025](https://en.wikipedia.org/wiki/EN_10025)',
      '> Always verify with the <supplier>.',
      '```js\nconst ok = a < b && c > d;\n```',
    ].join('\n\n');
    const html = md(answer);
    const parsed = telegram(html);
    expect(parsed.text).toBe(htmlToPlainText(html).trim());
    expect(parsed.text).toContain('loads are > 300 MPa');
    expect(parsed.text).toContain('const ok = a < b && c > d;');
  });

  it('shows a paragraph with more emphasis delimiters than MAX_INLINE_DELIMITERS as plain text, and formats the rest', () => {
    // marked's emphasis matching grows with the square of the delimiters in a run; a
    // hostile answer ("*a" 40,000 times) would block the gateway for seconds.
    const hostile = '*a'.repeat(MAX_INLINE_DELIMITERS + 1); // one delimiter over
    const html = md(`**Fine** here.\n\n${hostile}\n\n## Still *formatted*`);
    expect(html).toBe(`<b>Fine</b> here.\n\n${hostile}\n\n<b>Still <i>formatted</i></b>`);
    expect(telegram(html).text).toContain(hostile);
    // At the limit the run is still formatted, as without the guard.
    const atLimit = '*a'.repeat(MAX_INLINE_DELIMITERS);
    expect(md(atLimit)).toBe(md(atLimit, Number.POSITIVE_INFINITY));
    expect(md(atLimit)).toContain('<i>a</i>');
    // Special characters of the plain run are still escaped.
    expect(md(`${hostile} <b>&`)).toBe(`${hostile} &lt;b&gt;&amp;`);
  });

  it('spends at most four runs at the delimiter limit per conversion; later runs are plain text', () => {
    // Each paragraph is at the limit; together they would still cost seconds at 40 KB.
    const atLimit = '*a'.repeat(MAX_INLINE_DELIMITERS);
    const html = md(Array.from({ length: 6 }, () => atLimit).join('\n\n'));
    const paragraphs = html.split('\n\n');
    expect(paragraphs).toHaveLength(6);
    expect(paragraphs.map((p) => p.includes('<i>'))).toEqual([true, true, true, true, false, false]);
    expect(paragraphs[5]).toBe(atLimit);
    // Ordinary answers are nowhere near it: a 40 KB answer of formatted sections is formatted to its end.
    const section = '## Part\n\nS355 plate is **thick** and _strong_; see [the table](https://x.io).\n\n';
    const long = md(section.repeat(Math.ceil(40_960 / section.length)));
    expect(long.endsWith('see <a href="https://x.io">the table</a>.')).toBe(true);
    expect(long.match(/<i>strong<\/i>/g)?.length).toBe(Math.ceil(40_960 / section.length));
  });
});
