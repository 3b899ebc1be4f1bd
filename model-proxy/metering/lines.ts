import { StringDecoder } from 'node:string_decoder';

/** What a line that is not JSON parses to. */
export const MALFORMED: unique symbol = Symbol('malformed NDJSON line');

/** One NDJSON line: its parsed value, or MALFORMED. */
export type NdjsonLine = unknown;

/**
 * Splits an NDJSON byte stream into parsed lines as bytes arrive (split anywhere, even
 * inside a UTF-8 character), so every line is decoded and parsed exactly once whoever
 * reads it (the meter and the SSE translation). Blank lines are skipped.
 */
export class NdjsonLines {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  /** Feeds bytes; `onLine` gets every line they complete. */
  push(bytes: Buffer, onLine: (line: NdjsonLine) => void): void {
    const text = this.partial === '' ? this.decoder.write(bytes) : this.partial + this.decoder.write(bytes);
    let start = 0;
    let nl = text.indexOf('\n');
    while (nl !== -1) {
      emit(text.slice(start, nl), onLine);
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    this.partial = start === 0 ? text : text.slice(start);
  }

  /** The input ended: a last line without its newline is still a line. */
  end(onLine: (line: NdjsonLine) => void): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    emit(rest, onLine);
  }
}

function emit(text: string, onLine: (line: NdjsonLine) => void): void {
  if (text.trim() === '') return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = MALFORMED;
  }
  onLine(parsed);
}
