/**
 * Telegram's HTML parse mode, reimplemented after TDLib's parser (same tag set,
 * same error texts), and the text checks the Bot API applies to message texts
 * and captions (empty text, length after entity parsing, trimming).
 */
import type { MessageEntity } from 'grammy/types';
import { isArray } from './http-util.js';
import { BotApiError } from './telegram-state.js';

/** Text with its formatting entities (offsets in UTF-16 code units). */
export interface ParsedText {
  text: string;
  entities: MessageEntity[];
}

class EntityParseError extends Error {}

const TAGS = new Set([
  'a',
  'b',
  'strong',
  'i',
  'em',
  's',
  'strike',
  'del',
  'u',
  'ins',
  'tg-spoiler',
  'tg-emoji',
  'span',
  'pre',
  'code',
  'blockquote',
]);
const SIMPLE: Record<string, 'bold' | 'italic' | 'underline' | 'strikethrough' | 'spoiler'> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  s: 'strikethrough',
  strike: 'strikethrough',
  del: 'strikethrough',
  'tg-spoiler': 'spoiler',
  span: 'spoiler',
};

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\0' || c === '\v';

/** Decodes `&lt;` `&gt;` `&amp;` `&quot;` and numeric references at `pos`, like TDLib (`;` optional). */
function decodeEntity(s: string, pos: number): { char: string; end: number } | undefined {
  let end = pos + 1;
  let code = 0;
  if (s[pos + 1] === '#') {
    end++;
    const hex = s[pos + 2] === 'x';
    if (hex) end++;
    const digit = hex ? /[0-9a-fA-F]/ : /[0-9]/;
    while (end < s.length && digit.test(s[end] ?? ''))
      code = code * (hex ? 16 : 10) + Number.parseInt(s[end++] ?? '0', 16);
    if (code === 0 || code >= 0x10ffff || end - pos >= 10) return undefined;
  } else {
    while (end < s.length && /[a-zA-Z]/.test(s[end] ?? '')) end++;
    const named: Record<string, number> = { lt: 60, gt: 62, amp: 38, quot: 34 };
    const hit = named[s.slice(pos + 1, end)];
    if (hit === undefined) return undefined;
    code = hit;
  }
  if (code >= 0xd800 && code <= 0xdfff) {
    throw new EntityParseError(
      'Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units',
    );
  }
  return { char: String.fromCodePoint(code), end: s[end] === ';' ? end + 1 : end };
}

function checkUrl(url: string): string | undefined {
  if (/^(https?|ftp|tg|ton):\/\/\S+$/i.test(url)) return url;
  if (/^[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?([/?#]\S*)?$/i.test(url)) return `http://${url}`;
  return undefined;
}

/**
 * Parses Telegram HTML. A bare `<` is always an error; an `&` that starts no
 * entity is kept literally by the real server but rejected when `strictAmpersand`.
 */
export function parseTelegramHtml(s: string, strictAmpersand: boolean): ParsedText {
  const at = (i: number): string => (i < s.length ? (s[i] ?? '\0') : '\0');
  const byteOffset = (i: number): number => Buffer.byteLength(s.slice(0, i));
  const nested: Open[] = [];
  const entities: MessageEntity[] = [];
  const langs = new Map<MessageEntity, string>();
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = at(i);
    if (c === '&') {
      const decoded = decodeEntity(s, i);
      if (decoded) {
        out += decoded.char;
        i = decoded.end - 1;
        continue;
      }
      if (strictAmpersand) {
        throw new EntityParseError(`Character '&' must be escaped as "&amp;" at byte offset ${byteOffset(i)}`);
      }
    }
    if (c !== '<') {
      out += c;
      continue;
    }
    const begin = i++;
    if (at(i) !== '/') {
      while (!isSpace(at(i)) && at(i) !== '>') i++;
      if (i >= s.length) throw new EntityParseError(`Unclosed start tag at byte offset ${byteOffset(begin)}`);
      const tag = s.slice(begin + 1, i).toLowerCase();
      if (!TAGS.has(tag)) {
        throw new EntityParseError(`Unsupported start tag "${tag}" at byte offset ${byteOffset(begin)}`);
      }
      let arg = '';
      while (at(i) !== '>') {
        while (i < s.length && isSpace(at(i))) i++;
        if (at(i) === '>') break;
        const nameBegin = i;
        while (!isSpace(at(i)) && at(i) !== '=' && at(i) !== '>') i++;
        const attr = s.slice(nameBegin, i);
        if (attr === '') {
          throw new EntityParseError(`Empty attribute name in the tag "${tag}" at byte offset ${byteOffset(begin)}`);
        }
        while (i < s.length && isSpace(at(i))) i++;
        if (at(i) !== '=') {
          if (tag === 'blockquote' && attr.toLowerCase() === 'expandable') {
            arg = 'expandable';
            continue;
          }
          throw new EntityParseError(
            `Expected equal sign in declaration of an attribute of the tag "${tag}" at byte offset ${byteOffset(begin)}`,
          );
        }
        i++;
        while (i < s.length && isSpace(at(i))) i++;
        if (i >= s.length)
          throw new EntityParseError(`Unclosed start tag "${tag}" at byte offset ${byteOffset(begin)}`);
        let value = '';
        const quote = at(i);
        if (quote !== "'" && quote !== '"') {
          const tokenBegin = i;
          while (/[A-Za-z0-9.-]/.test(at(i))) i++;
          value = s.slice(tokenBegin, i).toLowerCase();
          if (!isSpace(at(i)) && at(i) !== '>') {
            throw new EntityParseError(`Unexpected end of name token at byte offset ${byteOffset(tokenBegin)}`);
          }
        } else {
          i++;
          while (i < s.length && at(i) !== quote) {
            const decoded = at(i) === '&' ? decodeEntity(s, i) : undefined;
            if (decoded) {
              value += decoded.char;
              i = decoded.end;
            } else value += at(i++);
          }
          if (at(i) === quote) i++;
        }
        if (i >= s.length) throw new EntityParseError(`Unclosed start tag at byte offset ${byteOffset(begin)}`);
        const name = attr.toLowerCase();
        if (tag === 'a' && name === 'href') arg = value;
        else if (tag === 'code' && name === 'class' && value.startsWith('language-')) arg = value.slice(9);
        else if (tag === 'span' && name === 'class' && value.startsWith('tg-')) arg = value.slice(3);
        else if (tag === 'tg-emoji' && name === 'emoji-id') arg = value;
      }
      if (tag === 'span' && arg !== 'spoiler') {
        throw new EntityParseError(`Tag "span" must have class "tg-spoiler" at byte offset ${byteOffset(begin)}`);
      }
      nested.push({ tag, arg, offset: out.length });
    } else {
      const top = nested.pop();
      if (!top) throw new EntityParseError(`Unexpected end tag at byte offset ${byteOffset(begin)}`);
      while (!isSpace(at(i)) && at(i) !== '>') i++;
      const endName = s.slice(begin + 2, i).toLowerCase();
      while (i < s.length && isSpace(at(i))) i++;
      if (at(i) !== '>') throw new EntityParseError(`Unclosed end tag at byte offset ${byteOffset(begin)}`);
      if (endName !== '' && endName !== top.tag) {
        throw new EntityParseError(
          `Unmatched end tag at byte offset ${byteOffset(begin)}, expected "</${top.tag}>", found "</${endName}>"`,
        );
      }
      addEntity(entities, langs, top, out);
    }
  }
  const open = nested.at(-1);
  if (open) throw new EntityParseError(`Can't find end tag corresponding to start tag "${open.tag}"`);
  entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return { text: out, entities };
}

type Open = { tag: string; arg: string; offset: number };

/** Turns a closed tag into an entity; `<pre><code class="language-x">` becomes one pre with a language. */
function addEntity(entities: MessageEntity[], langs: Map<MessageEntity, string>, top: Open, out: string): void {
  const { tag, arg, offset } = top;
  const length = out.length - offset;
  if (length <= 0) return;
  const simple = SIMPLE[tag];
  if (simple) entities.push({ type: simple, offset, length });
  else if (tag === 'blockquote') entities.push({ type: arg ? 'expandable_blockquote' : 'blockquote', offset, length });
  else if (tag === 'code') {
    const code: MessageEntity = { type: 'code', offset, length };
    entities.push(code);
    if (arg) langs.set(code, arg);
  } else if (tag === 'pre') {
    const last = entities.at(-1);
    if (last?.type === 'code' && last.offset === offset && last.length === length) {
      const language = langs.get(last);
      entities[entities.length - 1] = language
        ? { type: 'pre', offset, length, language }
        : { type: 'pre', offset, length };
    } else entities.push({ type: 'pre', offset, length });
  } else if (tag === 'a') {
    const url = checkUrl(arg || out.slice(offset));
    if (url) entities.push({ type: 'text_link', offset, length, url });
  } else if (tag === 'tg-emoji' && arg) {
    entities.push({ type: 'custom_emoji', offset, length, custom_emoji_id: arg });
  }
}

/** Entities Telegram keeps in one message (tdlib/telegram-bot-api#820, rubenlagus/TelegramBots#854). */
const MAX_ENTITIES = 100;

/** Limits and messages for renderText. */
export interface RenderRules {
  limit: number;
  tooLong: string;
  allowEmpty: boolean;
  strictAmpersand: boolean;
}

/** Applies parse_mode and the Bot API's text rules; throws BotApiError 400 like the real server. */
export function renderText(
  raw: string,
  parseMode: string | undefined,
  entities: unknown,
  rules: RenderRules,
): ParsedText {
  let parsed: ParsedText = { text: raw, entities: isArray(entities) ? (entities as MessageEntity[]) : [] };
  const mode = (parseMode ?? '').toLowerCase();
  if (mode === 'html') {
    try {
      parsed = parseTelegramHtml(raw, rules.strictAmpersand);
    } catch (err) {
      if (err instanceof EntityParseError)
        throw new BotApiError(400, `Bad Request: can't parse entities: ${err.message}`);
      throw err;
    }
  } else if (mode !== '' && mode !== 'markdown' && mode !== 'markdownv2') {
    throw new BotApiError(400, 'Bad Request: unsupported parse_mode');
  }
  const lead = parsed.text.length - parsed.text.trimStart().length;
  const text = parsed.text.trim();
  const trimmed = parsed.entities
    .map((e) => {
      const start = Math.max(0, e.offset - lead);
      const end = Math.min(text.length, e.offset - lead + e.length);
      return { ...e, offset: start, length: end - start };
    })
    .filter((e) => e.length > 0);
  if (text === '' && !rules.allowEmpty) throw new BotApiError(400, 'Bad Request: message text is empty');
  if (Array.from(text).length > rules.limit) throw new BotApiError(400, rules.tooLong);
  // Telegram keeps the first 100 entities of a message and drops the rest without an error.
  return { text, entities: trimmed.slice(0, MAX_ENTITIES) };
}
