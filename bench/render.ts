/**
 * `npm run bench:render`: what showing a streamed answer costs the gateway's CPU. Every
 * frame (a draft every 400 ms in private chats, an edit a second in groups) shows the answer
 * so far as Telegram HTML split at 4096 characters. Converting and splitting the whole
 * answer at every frame costs more as the answer grows; the streaming preview
 * (gateway/render/frames.ts) converts only what can still change. For answers of 1 to 40 KB
 * (headings, bold, links, lists, a table per section, as models write them) this measures
 * one frame each way, and all the frames of the answer streamed 40 characters per frame
 * (about 30 tokens a second at one frame per 400 ms).
 *
 * A second table converts hostile answers (emphasis delimiters by the thousand, which
 * marked matches in time growing with the square of their number) with the converter's
 * guards (MAX_INLINE_DELIMITERS per run, and a budget per conversion) and without them,
 * once each: the gateway's event loop is blocked for that long, for every tenant.
 * Prints the tables and writes bench/results/render.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { DRAFT_INTERVAL_MS } from '../gateway/bot/answer-stream.js';
import { FrameRenderer } from '../gateway/render/frames.js';
import { MAX_INLINE_DELIMITERS, markdownToTelegramHtml } from '../gateway/render/markdown.js';
import { splitTelegramHtml } from '../gateway/render/split.js';

const SIZES_KB = [1, 4, 10, 40];
const RUNS = Number(process.env.RUNS ?? 30);

const section = (i: number) =>
  `## Section ${i}\n\nS355 plate of **${i} mm** is welded with _care_; see [the table](https://example.com/${i}).\n\n` +
  `- item one with \`code\`\n- item two\n\n| grade | yield |\n|---|---|\n| S${i} | ${i * 2} MPa |\n\n`;

function answerOf(kb: number): string {
  let text = '';
  for (let i = 0; text.length < kb * 1024; i++) text += section(i);
  return text.slice(0, kb * 1024);
}

/** Median milliseconds of `runs` calls, after a warm-up. */
function median(f: () => unknown, runs = RUNS): number {
  for (let i = 0; i < 5; i++) f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    f();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

/** Milliseconds for every frame of `markdown` streamed 40 characters per frame. */
function streamed(markdown: string, frame: (soFar: string) => unknown): number {
  const t = process.hrtime.bigint();
  for (let at = 40; at < markdown.length + 40; at += 40) frame(markdown.slice(0, at));
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const rows = SIZES_KB.map((kb) => {
  const markdown = answerOf(kb);
  const html = markdownToTelegramHtml(markdown);
  const renderMs = median(() => markdownToTelegramHtml(markdown));
  const splitMs = median(() => splitTelegramHtml(html));
  const wholeMs = renderMs + splitMs;
  // A frame of the streaming preview, which has seen the answer grow to this size.
  const preview = new FrameRenderer(markdownToTelegramHtml);
  for (let at = 40; at < markdown.length; at += 40) preview.pieces(markdown.slice(0, at));
  const previewMs = median(() => preview.pieces(markdown));
  const streamWholeMs = streamed(markdown, (soFar) => splitTelegramHtml(markdownToTelegramHtml(soFar)));
  const fresh = new FrameRenderer(markdownToTelegramHtml);
  const streamPreviewMs = streamed(markdown, (soFar) => fresh.pieces(soFar));
  return {
    kb,
    pieces: splitTelegramHtml(html).length,
    renderMs,
    splitMs,
    wholeMs,
    previewMs,
    streamWholeMs,
    streamPreviewMs,
  };
});

const f = (n: number) => n.toFixed(2);
const share = (ms: number) => `${((ms / DRAFT_INTERVAL_MS) * 100).toFixed(1)} %`;
console.log(`Node ${process.version}, median of ${RUNS} runs\n`);
console.log(
  '| answer so far | messages | Markdown → HTML | split | one frame, whole answer (share of a core at one per 400 ms) | one frame, streaming preview (share) | all frames of the answer: whole / preview |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(
    `| ${r.kb} KB | ${r.pieces} | ${f(r.renderMs)} ms | ${f(r.splitMs)} ms | ${f(r.wholeMs)} ms (${share(r.wholeMs)}) | ${f(r.previewMs)} ms (${share(r.previewMs)}) | ${Math.round(r.streamWholeMs)} / ${Math.round(r.streamPreviewMs)} ms |`,
  );
}

/** Milliseconds of one call. */
function once(f: () => unknown): number {
  const t = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** `unit` repeated to `size` characters, in paragraphs of `perParagraph` units. */
const hostileOf = (unit: string, size: number, perParagraph = Number.POSITIVE_INFINITY) => {
  const paragraph = perParagraph === Number.POSITIVE_INFINITY ? unit.repeat(size) : `${unit.repeat(perParagraph)}\n\n`;
  return paragraph.repeat(Math.ceil(size / paragraph.length)).slice(0, size);
};
const HOSTILE_KB = [10, 40];
const hostile = [
  { what: '`_a` in one paragraph', unit: '_a', perParagraph: Number.POSITIVE_INFINITY },
  { what: '`*a` in one paragraph', unit: '*a', perParagraph: Number.POSITIVE_INFINITY },
  // Paragraphs just at the limit, back to back: what the conversion's budget is for.
  { what: `\`_a\` in paragraphs of ${MAX_INLINE_DELIMITERS}`, unit: '_a', perParagraph: MAX_INLINE_DELIMITERS },
  {
    what: `\`*_a\` in paragraphs of ${MAX_INLINE_DELIMITERS}`,
    unit: '*_a',
    perParagraph: MAX_INLINE_DELIMITERS / 2,
  },
].flatMap(({ what, unit, perParagraph }) =>
  HOSTILE_KB.map((kb) => {
    const markdown = hostileOf(unit, kb * 1024, perParagraph);
    return {
      what,
      kb,
      guardedMs: once(() => markdownToTelegramHtml(markdown)),
      unguardedMs: once(() => markdownToTelegramHtml(markdown, Number.POSITIVE_INFINITY)),
    };
  }),
);
console.log(`\nHostile answers, one conversion each (guard: ${MAX_INLINE_DELIMITERS} delimiters per inline run)\n`);
console.log('| answer | size | with the guard | without |');
console.log('| --- | --- | --- | --- |');
for (const h of hostile) {
  console.log(`| ${h.what} | ${h.kb} KB | ${f(h.guardedMs)} ms | ${f(h.unguardedMs)} ms |`);
}

mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/render.json',
  `${JSON.stringify({ at: new Date().toISOString(), node: process.version, runs: RUNS, rows, hostile }, null, 2)}\n`,
);
