/**
 * `npm run bench:render`: what showing a streamed answer costs the gateway's CPU. Every
 * frame (a draft every 400 ms in private chats, an edit a second in groups) converts the
 * whole answer so far from Markdown to Telegram HTML and splits it at 4096 characters, so
 * a frame costs more as the answer grows. Measures both steps on answers of 1 to 40 KB
 * (headings, bold, links, lists, a table per section, as models write them) and the share
 * of one core a streaming answer of that size takes at one draft per 400 ms.
 * Prints a table and writes bench/results/render.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { DRAFT_INTERVAL_MS } from '../gateway/bot/answer-stream.js';
import { markdownToTelegramHtml } from '../gateway/render/markdown.js';
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

const rows = SIZES_KB.map((kb) => {
  const markdown = answerOf(kb);
  const html = markdownToTelegramHtml(markdown);
  const renderMs = median(() => markdownToTelegramHtml(markdown));
  const splitMs = median(() => splitTelegramHtml(html));
  const frameMs = renderMs + splitMs;
  return {
    kb,
    pieces: splitTelegramHtml(html).length,
    renderMs,
    splitMs,
    frameMs,
    coreShare: frameMs / DRAFT_INTERVAL_MS,
  };
});

const f = (n: number) => n.toFixed(2);
console.log(`Node ${process.version}, median of ${RUNS} runs\n`);
console.log(
  '| answer so far | messages | Markdown → HTML | split | one frame | share of a core, one frame per 400 ms |',
);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(
    `| ${r.kb} KB | ${r.pieces} | ${f(r.renderMs)} ms | ${f(r.splitMs)} ms | ${f(r.frameMs)} ms | ${(r.coreShare * 100).toFixed(1)} % |`,
  );
}
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/render.json',
  `${JSON.stringify({ at: new Date().toISOString(), node: process.version, runs: RUNS, rows }, null, 2)}\n`,
);
