/**
 * The streaming preview's renderer: fed an answer as the model writes it, every frame is
 * exactly what converting and splitting the whole answer so far gives, while it converts
 * only the text after the last blank line outside a code fence.
 */
import { describe, expect, it } from 'vitest';
import { FrameRenderer, stableBoundary } from '../../../gateway/render/frames.js';
import { markdownToTelegramHtml } from '../../../gateway/render/markdown.js';
import { splitTelegramHtml } from '../../../gateway/render/split.js';
import { parseTelegramHtml } from '../../fakes/telegram-html.js';

/** A reply as models write it: headings, bold and links, tight lists, a table, code with blank lines, a quote. */
function answer(sections: number): string {
  const out: string[] = [];
  for (let i = 0; i < sections; i++) {
    out.push(
      `## Step ${i}: preparing the **S355** plate`,
      `Grind the bevel to 30° and check it with [the gauge](https://example.com/gauge/${i}). Keep <2 mm & clean.`,
      '- preheat to 100 °C\n- tack every 150 mm\n- root pass with `E7018`',
      '| pass | amps |\n| --- | --- |\n| root | 90 |\n| fill | 120 |',
      '```python\ndef heat(t):\n\n    return t * 2\n\n\nprint(heat(3))\n```',
      '> Check the WPS before you start.\n> Ask the foreman when unsure.',
    );
  }
  return out.join('\n\n');
}

/** Feeds `text` in chunks of pseudo-random sizes up to `most` (seeded), as a model's stream does. */
function* chunks(text: string, seed: number, most = 40): Generator<string> {
  let s = seed;
  for (let at = 0; at < text.length; ) {
    s = (s * 1_103_515_245 + 12_345) % 2_147_483_648;
    at = Math.min(text.length, at + 1 + (s % most));
    yield text.slice(0, at);
  }
}

const whole = (markdown: string) => splitTelegramHtml(markdownToTelegramHtml(markdown));

describe('FrameRenderer', () => {
  it('gives every frame exactly what the whole answer so far converts and splits to', () => {
    for (const [sections, seed] of [
      [1, 1],
      [3, 7],
      [40, 42], // about 13,000 characters: several messages
    ] as const) {
      const text = answer(sections);
      const frames = new FrameRenderer(markdownToTelegramHtml);
      let checked = 0;
      for (const soFar of chunks(text, seed, sections > 10 ? 160 : 40)) {
        expect(frames.pieces(soFar), `after ${soFar.length} characters`).toEqual(whole(soFar));
        checked++;
      }
      expect(checked).toBeGreaterThan(sections);
      if (sections === 40) expect(whole(text).length).toBeGreaterThan(2);
    }
  });

  it('converts only the text after the last blank line outside a code fence', () => {
    const converted: string[] = [];
    const frames = new FrameRenderer((markdown) => {
      converted.push(markdown);
      return markdownToTelegramHtml(markdown);
    });
    const text = answer(40);
    for (const soFar of chunks(text, 3)) frames.pieces(soFar);
    // Each character is converted about once as part of a finished group, plus the last
    // group at every frame: nowhere near once per frame, as converting the whole would.
    const total = converted.reduce((n, m) => n + m.length, 0);
    const frameCount = [...chunks(text, 3)].length;
    expect(Math.max(...converted.map((m) => m.length))).toBeLessThan(200);
    expect(total).toBeLessThan(text.length * 8);
    expect(total).toBeLessThan((frameCount * text.length) / 20);
  });

  it('starts over when the text is not a continuation of the last', () => {
    const frames = new FrameRenderer(markdownToTelegramHtml);
    frames.pieces('First paragraph.\n\nSecond **one**');
    expect(frames.pieces('Something else.\n\nEntirely')).toEqual(whole('Something else.\n\nEntirely'));
  });

  it('leaves valid Telegram HTML in every message of every frame', () => {
    const frames = new FrameRenderer(markdownToTelegramHtml);
    for (const soFar of chunks(answer(12), 9)) {
      for (const piece of frames.pieces(soFar)) {
        expect((piece.match(/<[^>]*>/g) ?? []).join('').length).toBeLessThanOrEqual(4096);
        expect(parseTelegramHtml(piece, true).text.length).toBeLessThanOrEqual(4096);
      }
    }
  });
});

describe('stableBoundary', () => {
  it('is the start of the block after the last blank line', () => {
    const text = 'One.\n\nTwo.\n\nThree, still being written';
    expect(stableBoundary(text, 0)).toBe(text.indexOf('Three'));
    // A blank line at the very end: the next block has not begun.
    expect(stableBoundary('One.\n\nTwo.\n\n', 0)).toBe('One.\n\n'.length);
    expect(stableBoundary('No blank line yet', 0)).toBe(0);
  });

  it('ignores blank lines inside a code fence, open or closed, with backticks or tildes', () => {
    const open = 'Intro.\n\n```js\nconst a = 1;\n\nconst b = 2;';
    expect(stableBoundary(open, 0)).toBe(open.indexOf('```'));
    const closed = `${open}\n\`\`\`\n\nAfter the code.`;
    expect(stableBoundary(closed, 0)).toBe(closed.indexOf('After'));
    const tildes = 'Intro.\n\n~~~~\n```\n\nstill code\n~~~~\n\nDone.';
    expect(stableBoundary(tildes, 0)).toBe(tildes.indexOf('Done'));
  });

  it('searches on from a boundary already found', () => {
    const text = 'One.\n\nTwo.\n\nThree.';
    const first = stableBoundary('One.\n\nTwo.', 0);
    expect(stableBoundary(text, first)).toBe(text.indexOf('Three'));
  });
});
