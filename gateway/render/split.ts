import { htmlToPlainText } from './escape.js';

/** Telegram's limit on one message's text. */
export const TELEGRAM_MAX_CHARS = 4096;

/** One indivisible unit of Telegram HTML: a tag, a character reference or one character. */
type Atom =
  | { kind: 'open'; tag: string; raw: string }
  | { kind: 'close'; tag: string; raw: string }
  | { kind: 'char'; raw: string; visible: string };

// Tags, character references, surrogate pairs, then any single UTF-16 unit.
const ATOM =
  /<(\/?)([a-zA-Z][\w-]*)(?:\s[^>]*)?>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|[\ud800-\udbff][\udc00-\udfff]|[\s\S]/g;

function atomsOf(html: string): Atom[] {
  const atoms: Atom[] = [];
  for (const m of html.matchAll(ATOM)) {
    const raw = m[0];
    if (m[2] !== undefined) {
      const tag = m[2].toLowerCase();
      atoms.push(m[1] ? { kind: 'close', tag, raw } : { kind: 'open', tag, raw });
    } else {
      atoms.push({ kind: 'char', raw, visible: raw.startsWith('&') ? htmlToPlainText(raw) : raw });
    }
  }
  return atoms;
}

/** How good a place to cut is: the end of a block, of a line, of a word, or anywhere. */
const Cut = { Anywhere: 0, Word: 1, Line: 2, Block: 3 } as const;
type Cut = (typeof Cut)[keyof typeof Cut];

interface Candidate {
  /** Index of the last atom of the piece. */
  end: number;
  /** HTML length of the piece without the closing tags. */
  length: number;
  open: Atom[];
}

const closing = (open: Atom[]): string =>
  open
    .slice()
    .reverse()
    .map((a) => `</${(a as { tag: string }).tag}>`)
    .join('');

/**
 * Splits Telegram HTML into messages of at most `max` characters each (counting the markup,
 * so the visible text is shorter still) without breaking a tag: a cut inside `<b>…</b>` or
 * `<pre><code …>…</code></pre>` closes the open tags at the end of one piece and reopens them,
 * attributes included, at the start of the next. Cuts fall at block boundaries (a blank line
 * outside any tag) when one lies in the second half of the window, else at a line end, a
 * space, or as a last resort between two characters (never inside a character reference or a
 * surrogate pair). No visible character is lost or repeated; pieces holding only whitespace
 * are dropped, since Telegram refuses an empty message.
 */
export function splitTelegramHtml(html: string, max = TELEGRAM_MAX_CHARS): string[] {
  if (html.length <= max) return html.trim() === '' ? [] : [html];
  const atoms = atomsOf(html);
  const pieces: string[] = [];
  let start = 0;
  let open: Atom[] = [];
  while (start < atoms.length) {
    const prefix = open.map((a) => a.raw).join('');
    let length = prefix.length;
    let stack = open.slice();
    let closeCost = closing(stack).length;
    const best: (Candidate | undefined)[] = [];
    let last: Candidate | undefined;
    let i = start;
    for (; i < atoms.length; i++) {
      const a = atoms[i] as Atom;
      let nextStack = stack;
      let nextClose = closeCost;
      if (a.kind === 'open') {
        nextStack = [...stack, a];
        nextClose += a.tag.length + 3;
      } else if (a.kind === 'close') {
        const at = stack.map((s) => (s as { tag: string }).tag).lastIndexOf(a.tag);
        if (at >= 0) {
          nextClose -= stack.slice(at).reduce((n, s) => n + (s as { tag: string }).tag.length + 3, 0);
          nextStack = stack.slice(0, at);
        }
      }
      // Always take at least one atom, so a pathological atom cannot stall the loop.
      if (length + a.raw.length + nextClose > max && i > start) break;
      length += a.raw.length;
      stack = nextStack;
      closeCost = nextClose;
      const candidate: Candidate = { end: i, length, open: stack };
      last = candidate;
      best[cutQuality(atoms, i, stack)] = candidate;
    }
    if (i >= atoms.length) {
      pushPiece(
        pieces,
        prefix +
          atoms
            .slice(start)
            .map((a) => a.raw)
            .join('') +
          closing(stack),
      );
      break;
    }
    // The best kind of cut that still fills at least half a message; else the longest piece.
    let chosen = last as Candidate;
    for (const quality of [Cut.Block, Cut.Line, Cut.Word]) {
      const c = best[quality];
      if (c && c.length >= max / 2) {
        chosen = c;
        break;
      }
    }
    const body = atoms
      .slice(start, chosen.end + 1)
      .map((a) => a.raw)
      .join('');
    pushPiece(pieces, prefix + body + closing(chosen.open));
    start = chosen.end + 1;
    open = chosen.open;
  }
  return pieces;
}

function pushPiece(pieces: string[], html: string): void {
  if (htmlToPlainText(html).trim() !== '') pieces.push(html);
}

/** The quality of a cut right after atom `i`. */
function cutQuality(atoms: Atom[], i: number, open: Atom[]): Cut {
  const a = atoms[i] as Atom;
  const next = atoms[i + 1];
  if (a.kind !== 'char') return Cut.Anywhere;
  if (a.visible === '\n') {
    const prev = atoms[i - 1];
    if (open.length === 0 && prev?.kind === 'char' && prev.visible === '\n') return Cut.Block;
    return Cut.Line;
  }
  if (a.visible === ' ' && next?.kind === 'char' && next.visible !== ' ') return Cut.Word;
  return Cut.Anywhere;
}
