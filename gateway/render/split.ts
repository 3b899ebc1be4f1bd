import { htmlToPlainText } from './escape.js';

/** Telegram's limit on one message's text, counted after entity parsing: the visible text. */
export const TELEGRAM_MAX_CHARS = 4096;

/** Formatting entities Telegram keeps in one message; it silently drops those past it. */
export const TELEGRAM_MAX_ENTITIES = 100;

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
  /** How full the piece is, 0 to 1: of visible characters, tags or entities, whichever is fuller. */
  fill: number;
  open: Atom[];
}

const closing = (open: Atom[]): string =>
  open
    .slice()
    .reverse()
    .map((a) => `</${(a as { tag: string }).tag}>`)
    .join('');

/**
 * Splits Telegram HTML into messages of at most `max` visible characters (in UTF-16 units,
 * which is never fewer than Telegram counts), `maxMarkup` characters of tags and
 * `maxEntities` entities each, without breaking a tag: a cut inside `<b>…</b>` or
 * `<pre><code …>…</code></pre>` closes the open tags at the end of one piece and reopens
 * them, attributes included, at the start of the next. Cuts fall at block boundaries (a
 * blank line outside any tag) when one lies in the second half of the window, else at a
 * line end, a space, or as a last resort between two characters (never inside a character
 * reference or a surrogate pair). No visible character is lost or repeated; pieces holding
 * only whitespace are dropped, since Telegram refuses an empty message.
 *
 * Telegram counts its 4096 characters after parsing, so tags and character references are
 * free, but it also refuses a message whose formatting is too large in total
 * ("Entities_too_long", at about 9,500 characters by its developers' estimate,
 * tdlib/telegram-bot-api#165): `maxMarkup`, `max` unless given, keeps a link-heavy message
 * well under that. And it keeps only the first 100 entities of a message (a bold word, a
 * link), dropping the formatting of the rest without an error: a piece opens at most
 * `maxEntities` tags, reopened ones included.
 */
export function splitTelegramHtml(
  html: string,
  max = TELEGRAM_MAX_CHARS,
  maxMarkup = max,
  maxEntities = TELEGRAM_MAX_ENTITIES,
): string[] {
  const text = htmlToPlainText(html);
  if (text.trim() === '') return [];
  const tags = tagsOf(html);
  if (text.length <= max && tags.chars <= maxMarkup && tags.opened <= maxEntities) return [html]; // it fits whole
  const atoms = atomsOf(html);
  const pieces: string[] = [];
  let start = 0;
  let open: Atom[] = [];
  while (start < atoms.length) {
    const prefix = open.map((a) => a.raw).join('');
    let markup = prefix.length;
    let visible = 0;
    let entities = open.length;
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
      const shown = a.kind === 'char' ? a.visible.length : 0;
      const tag = a.kind === 'char' ? 0 : a.raw.length;
      const opened = a.kind === 'open' ? 1 : 0;
      const full = visible + shown > max || markup + tag + nextClose > maxMarkup || entities + opened > maxEntities;
      // Always take at least one atom, so a pathological atom cannot stall the loop.
      if (full && i > start) break;
      markup += tag;
      visible += shown;
      entities += opened;
      stack = nextStack;
      closeCost = nextClose;
      const fill = Math.max(visible / max, (markup + closeCost) / maxMarkup, entities / maxEntities);
      const candidate: Candidate = { end: i, fill, open: stack };
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
      if (c && c.fill >= 0.5) {
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

/** The characters of `html`'s tags, and how many tags it opens. */
function tagsOf(html: string): { chars: number; opened: number } {
  let chars = 0;
  let opened = 0;
  for (const m of html.matchAll(/<[^>]*>/g)) {
    chars += m[0].length;
    if (m[0][1] !== '/') opened++;
  }
  return { chars, opened };
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
