import { randomInt } from 'node:crypto';
import { type Api, GrammyError } from 'grammy';
import type { Logger } from '../../core/logger.js';
import { escapeHtml } from '../render/escape.js';
import { FrameRenderer } from '../render/frames.js';
import { markdownToTelegramHtml } from '../render/markdown.js';
import { splitTelegramHtml } from '../render/split.js';
import type { ChatPacer } from './pacer.js';
import { type ChatTarget, editHtml, sendDraft, sendHtml } from './telegram-send.js';
import type { BotThrottle } from './throttle.js';

/** How often a private chat's draft is refreshed while the answer streams. */
export const DRAFT_INTERVAL_MS = 400;
/** How often a streamed message is edited (at most; groups also obey the chat's pacer). */
export const EDIT_INTERVAL_MS = 1_000;

/** Where and how an answer is shown while it streams. */
export interface AnswerStreamOptions {
  api: Api;
  to: ChatTarget;
  /**
   * `draft`: `sendMessageDraft` frames in a private chat, then the final message(s);
   * `edit`: a message sent early and edited as the text grows (groups, and private chats
   * whose Bot API server has no drafts).
   */
  mode: 'draft' | 'edit';
  /** Paces sends and edits per chat (Telegram's group limits). */
  pacer: ChatPacer;
  /** The bot's writes: a frame is skipped while the bot has no room to spare. */
  throttle: BotThrottle;
  /** Told when the Bot API server has no drafts at all (404), so later answers skip them. */
  onDraftsMissing?: () => void;
  log: Logger;
  /** The person's message the answer replies to (groups). */
  replyTo?: number | undefined;
  draftIntervalMs?: number;
  editIntervalMs?: number;
}

/**
 * Shows a model's answer while it is generated and delivers the final text. Every frame is
 * the Markdown so far as Telegram HTML split into messages (converting only what can still
 * change, see FrameRenderer): drafts show the piece being written; edits keep one message
 * per piece. `finish` sends (or edits in) the final pieces; nothing here throws a Telegram
 * error at the person, and a refused draft switches the stream to edits.
 */
export class AnswerStream {
  private mode: 'draft' | 'edit';
  private latest = '';
  private shown = '';
  private readonly messages: { id: number; html: string }[] = [];
  private readonly draftId = randomInt(1, 2 ** 30);
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  private lastFrameAt = 0;
  private closed = false;
  private broken = false;
  private renderFailed = false;
  /** Frames convert only the part of the answer that can still change. */
  private readonly preview = new FrameRenderer((markdown) => this.render(markdown));
  /**
   * Abandons a frame still waiting on Telegram (e.g. auto-retry after a 429) when the answer
   * is final. Made with the first frame: most short answers are final before any frame, and
   * an abort builds a DOMException with a stack trace.
   */
  private frames: AbortController | undefined;

  constructor(private readonly opts: AnswerStreamOptions) {
    this.mode = opts.mode;
  }

  /** The answer's Markdown so far; shown at the next frame the throttle allows. */
  update(markdown: string): void {
    if (this.closed || this.broken) return;
    this.latest = markdown;
    this.schedule();
  }

  /**
   * Delivers the final answer, with an optional HTML note under it ("Stopped."), replacing
   * the draft or the streamed messages.
   */
  async finish(markdown: string, noteHtml?: string): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.inflight) {
      this.frames?.abort();
      await this.inflight;
    }
    let html = this.render(markdown);
    if (noteHtml) html = html ? `${html}\n\n${noteHtml}` : noteHtml;
    const pieces = splitTelegramHtml(html || '…');
    const { api, to, pacer } = this.opts;
    if (this.mode === 'draft') {
      for (const piece of pieces) await sendHtml(api, to, piece);
      return;
    }
    for (const [i, piece] of pieces.entries()) {
      const sent = this.messages[i];
      if (sent?.html === piece) continue;
      await pacer.acquire(to.chatId);
      try {
        if (sent) {
          await editHtml(api, to, sent.id, piece);
          sent.html = piece;
        } else {
          const id = await sendHtml(api, to, piece, this.messages.length === 0 ? this.opts.replyTo : undefined);
          this.messages.push({ id, html: piece });
        }
      } finally {
        pacer.settle(to.chatId);
      }
    }
    // A final text shorter than what streamed: remove the messages it no longer needs.
    for (const extra of this.messages.splice(pieces.length)) {
      await pacer.acquire(to.chatId);
      await api.deleteMessage(to.chatId, extra.id).catch(() => undefined);
    }
  }

  private schedule(): void {
    if (this.timer || this.inflight || this.closed) return;
    const interval =
      this.mode === 'draft'
        ? (this.opts.draftIntervalMs ?? DRAFT_INTERVAL_MS)
        : (this.opts.editIntervalMs ?? EDIT_INTERVAL_MS);
    let wait = Math.max(0, this.lastFrameAt + interval - Date.now());
    if (this.mode === 'edit') wait = Math.max(wait, this.opts.pacer.wait(this.opts.to.chatId));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.inflight = this.frame()
        .catch((err: unknown) => {
          this.opts.log.error({ err }, 'an answer frame failed; the live preview stops');
          this.broken = true;
        })
        .finally(() => {
          this.inflight = undefined;
          if (this.latest !== this.shown && !this.broken) this.schedule();
        });
    }, wait);
  }

  /**
   * The Markdown as Telegram HTML; when the converter fails (marked recurses once per
   * nesting level, so thousands of `>` or `*` overflow the stack) the text is shown as
   * escaped plain text instead, for the rest of the answer, and the failure is logged once.
   */
  private render(markdown: string): string {
    if (this.renderFailed) return escapeHtml(markdown).trim();
    try {
      return markdownToTelegramHtml(markdown);
    } catch (err) {
      this.opts.log.warn({ err, length: markdown.length }, 'Markdown conversion failed; sent as plain text');
      this.renderFailed = true;
      return escapeHtml(markdown).trim();
    }
  }

  /** Shows the latest text: one Telegram call at most. */
  private async frame(): Promise<void> {
    const markdown = this.latest;
    if (this.closed || markdown === this.shown) return;
    // The bot is near its limit: skip this frame, so the final answers of this and other
    // chats go first. The next frame is a whole interval away, as after a frame shown.
    if (!this.opts.throttle.hasRoom()) {
      this.lastFrameAt = Date.now();
      return;
    }
    const pieces = this.preview.pieces(markdown);
    if (pieces.length === 0) {
      this.shown = markdown;
      return;
    }
    const { api, to, log } = this.opts;
    this.frames ??= new AbortController();
    const { signal } = this.frames;
    try {
      if (this.mode === 'draft') {
        const i = pieces.length - 1;
        await sendDraft(api, to, this.draftId + i, pieces[i] as string, signal);
        this.shown = markdown;
      } else if (await this.editStep(pieces, signal)) {
        this.shown = markdown;
      }
    } catch (err) {
      // An abandoned frame (the answer became final meanwhile) is not a failure.
      if (signal.aborted) return;
      if (this.mode === 'draft') {
        log.info({ err }, 'drafts refused; streaming by edits instead');
        this.mode = 'edit';
        if (err instanceof GrammyError && err.error_code === 404) this.opts.onDraftsMissing?.();
      } else {
        // The final delivery still runs; only the live preview stops.
        log.warn({ err }, 'could not stream the answer');
        this.broken = true;
      }
    } finally {
      // Intervals count from when the last frame was answered, as Telegram saw it.
      this.lastFrameAt = Date.now();
    }
  }

  /**
   * Moves the streamed messages one call closer to `pieces`: brings the last message up to
   * date, else opens the next one. Returns true when they now match.
   */
  private async editStep(pieces: string[], signal: AbortSignal): Promise<boolean> {
    const { api, to, pacer } = this.opts;
    const n = this.messages.length;
    const last = this.messages[n - 1];
    const want = pieces[n - 1];
    if (last && want !== undefined && last.html !== want) {
      if (!pacer.tryTake(to.chatId)) return false;
      try {
        await editHtml(api, to, last.id, want, signal);
      } finally {
        pacer.settle(to.chatId);
      }
      last.html = want;
      return pieces.length === n;
    }
    const next = pieces[n];
    if (next === undefined) return true;
    if (!pacer.tryTake(to.chatId)) return false;
    let id: number;
    try {
      // Not abandoned like the other frames: a message sent but never recorded would stay behind.
      id = await sendHtml(api, to, next, n === 0 ? this.opts.replyTo : undefined);
    } finally {
      pacer.settle(to.chatId);
    }
    this.messages.push({ id, html: next });
    return pieces.length === n + 1;
  }
}
