import { TELEGRAM_MAX_CHARS } from '../render/split.js';

/** Telegram's limit on one message's text (defined with the HTML splitter). */
export { TELEGRAM_MAX_CHARS };

/**
 * Splits plain text (no parse mode) into pieces of at most `max` characters, preferring to break at a
 * paragraph, then a line, then a space; never splits a surrogate pair.
 */
export function splitMessage(text: string, max = TELEGRAM_MAX_CHARS): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const window = rest.slice(0, max);
    let cut = Math.max(window.lastIndexOf('\n\n'), window.lastIndexOf('\n'));
    if (cut < max / 2) cut = window.lastIndexOf(' ');
    if (cut < max / 2) cut = max;
    // Do not cut between the two halves of a surrogate pair.
    const code = rest.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
    pieces.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).replace(/^\s+/, '');
  }
  if (rest.length > 0 || pieces.length === 0) pieces.push(rest);
  return pieces;
}
