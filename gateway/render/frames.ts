import { splitTelegramHtml } from './split.js';

/**
 * Converts a growing answer for its streaming frames, redoing only what can still change,
 * so a frame costs the same at 40 KB as at 1 KB (the whole answer, converted and split at
 * every frame, cost 29 ms at 40 KB; see `npm run bench:render`).
 *
 * Text before the answer's last blank line outside a code fence no longer changes as the
 * model appends to it: its blocks are converted once, and its messages (the pieces Telegram
 * takes, see splitTelegramHtml) are split once, except the last, which later text may still
 * fill. Each frame converts only the blocks after that blank line and splits from the last
 * unfinished piece. Messages before it are cut exactly where a split of the whole would cut
 * them, since each cut depends only on the text from its own message's start.
 *
 * Converting block groups apart can differ from converting the whole in places Markdown
 * ties across a blank line (a "loose" list, a reference link defined further down). Frames
 * are a preview: the final message is converted whole.
 */
export class FrameRenderer {
  /** The part of the answer whose blocks are converted (it ends after a blank line). */
  private stableMarkdown = '';
  /** The messages of the converted part that later text cannot change. */
  private readonly finished: string[] = [];
  /** The converted part's last message, which later text may still fill. */
  private open = '';

  constructor(private readonly convert: (markdown: string) => string) {}

  /** The messages the answer so far shows as (each within Telegram's limits, see splitTelegramHtml). */
  pieces(markdown: string): string[] {
    if (!markdown.startsWith(this.stableMarkdown)) this.reset();
    const boundary = stableBoundary(markdown, this.stableMarkdown.length);
    if (boundary > this.stableMarkdown.length) {
      const html = this.convert(markdown.slice(this.stableMarkdown.length, boundary));
      const pieces = splitTelegramHtml(joinBlocks(this.open, html));
      this.open = pieces.pop() ?? '';
      this.finished.push(...pieces);
      this.stableMarkdown = markdown.slice(0, boundary);
    }
    const tail = this.convert(markdown.slice(boundary));
    return [...this.finished, ...splitTelegramHtml(joinBlocks(this.open, tail))];
  }

  private reset(): void {
    this.stableMarkdown = '';
    this.finished.length = 0;
    this.open = '';
  }
}

/** Converted blocks are joined by a blank line, as the converter joins them. */
const joinBlocks = (a: string, b: string): string => (a && b ? `${a}\n\n${b}` : a || b);

const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/**
 * Where the answer's last block group starts: the start of the line after its last blank
 * line outside a code fence, searched from `from` (which is such a start, or 0), or `from`
 * when there is none. A blank line at the very end does not count: the block after it has
 * not begun.
 */
export function stableBoundary(markdown: string, from: number): number {
  let boundary = from;
  let fence: { char: string; length: number } | undefined;
  let lineStart = from;
  let afterBlank = false;
  while (lineStart < markdown.length) {
    const nl = markdown.indexOf('\n', lineStart);
    const lineEnd = nl === -1 ? markdown.length : nl;
    const line = markdown.slice(lineStart, lineEnd);
    if (afterBlank && line.trim() !== '') boundary = lineStart;
    const marker = FENCE.exec(line)?.[1];
    if (fence) {
      if (marker && marker[0] === fence.char && marker.length >= fence.length && line.trim() === marker) {
        fence = undefined;
      }
    } else if (marker) {
      fence = { char: marker[0] as string, length: marker.length };
    }
    afterBlank = !fence && line.trim() === '';
    if (nl === -1) break;
    lineStart = nl + 1;
  }
  return boundary;
}
