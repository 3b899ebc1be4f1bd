/**
 * LaneBacklog in a grammY bot wired as createBot wires it (backlog, then sequentialize with
 * Anvil's lane key), against the fake Bot API: a chat flooding the bot has at most `max`
 * updates in it, is told once, and every other chat (and /stop) goes on meanwhile.
 */
import { sequentialize } from '@grammyjs/runner';
import { Bot } from 'grammy';
import type { Update } from 'grammy/types';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LaneBacklog } from '../../gateway/bot/backlog.js';
import type { BotContext } from '../../gateway/bot/context.js';
import { sequentialKey } from '../../gateway/bot/control-lane.js';
import { replies } from '../../gateway/bot/replies.js';
import { type FakeTelegram, startFakeTelegram } from '../fakes/telegram.js';

const ANN = 1_001;
const BEN = 1_002;
const GROUP = -100_777;

let f: FakeTelegram;
let token: string;
let bot: Bot<BotContext>;
let backlog: LaneBacklog;
/** Texts of the updates the bot's handler was given, in the order it was given them. */
let handled: string[];
/** Every handler waits for this, as an answer waits for the model. */
let release: () => void;
let gate: Promise<void>;
let nextId: number;

beforeEach(async () => {
  f = await startFakeTelegram();
  token = f.addBot({ username: 'anvil_test_bot' }).token;
  bot = new Bot<BotContext>(token, { client: { apiRoot: f.apiRoot } });
  await bot.init();
  backlog = new LaneBacklog(pino({ level: 'silent' }), 3);
  bot.use(backlog.middleware());
  bot.use(sequentialize(sequentialKey));
  bot.on('message', async (ctx) => {
    handled.push(ctx.message.text ?? '');
    await gate;
  });
  handled = [];
  gate = new Promise((r) => {
    release = r;
  });
  nextId = 1;
});
afterEach(async () => {
  release();
  await f.close();
});

/** Hands the bot a text message, as the runner or the webhook worker would (not awaited). */
function deliver(chatId: number, from: number, text: string): Promise<void> {
  const chat =
    chatId > 0
      ? { id: chatId, type: 'private' as const, first_name: 'A' }
      : { id: chatId, type: 'supergroup' as const, title: 'Shop floor' };
  const update: Update = {
    update_id: nextId,
    message: { message_id: nextId++, date: 0, chat, from: { id: from, is_bot: false, first_name: 'A' }, text },
  };
  return bot.handleUpdate(update);
}

const notices = (chatId: number) => f.sentTo(token, chatId).filter((m) => m.text === replies.backlogFull);
const settle = () => new Promise((r) => setTimeout(r, 50));

describe('LaneBacklog', () => {
  it('lets a chat hold at most max updates, tells it once, and the other chats go on', async () => {
    const done = Array.from({ length: 6 }, (_, i) => deliver(ANN, ANN, `ann ${i}`));
    done.push(deliver(BEN, BEN, 'ben 0'));
    // A refused update is done once its notice (if any) is sent.
    await Promise.all(done.slice(3, 6));
    await settle();
    // Ann's first runs, two wait behind it; Ben's chat is not held up by hers.
    expect(handled).toEqual(['ann 0', 'ben 0']);
    expect(backlog.size(String(ANN))).toBe(3);
    expect(notices(ANN)).toHaveLength(1); // for "ann 3"; "ann 4" and "ann 5" pass silently
    expect(notices(BEN)).toHaveLength(0);

    release();
    await Promise.all(done);
    expect(handled).toEqual(['ann 0', 'ben 0', 'ann 1', 'ann 2']);
    expect(backlog.size(String(ANN))).toBe(0);
  });

  it('takes updates again once the chat has drained, and tells it again at the next flood', async () => {
    const first = Array.from({ length: 4 }, (_, i) => deliver(ANN, ANN, `ann ${i}`));
    await first[3];
    release();
    await Promise.all(first);
    expect(notices(ANN)).toHaveLength(1);
    gate = new Promise((r) => {
      release = r;
    });
    const second = Array.from({ length: 4 }, (_, i) => deliver(ANN, ANN, `again ${i}`));
    await second[3];
    await settle();
    expect(handled.filter((t) => t.startsWith('again'))).toEqual(['again 0']);
    expect(notices(ANN)).toHaveLength(2);
    release();
    await Promise.all(second);
    expect(handled.filter((t) => t.startsWith('again'))).toEqual(['again 0', 'again 1', 'again 2']);
  });

  it('never refuses /stop or /help, which take no lane', async () => {
    const flood = Array.from({ length: 4 }, (_, i) => deliver(ANN, ANN, `ann ${i}`));
    await settle();
    const stop = deliver(ANN, ANN, '/stop');
    await settle();
    expect(handled).toContain('/stop');
    expect(backlog.size(String(ANN))).toBe(3);
    release();
    await Promise.all([...flood, stop]);
  });

  it('does not count group chatter not meant for the bot, and refuses past the backlog silently in a group', async () => {
    const asked = Array.from({ length: 3 }, (_, i) => deliver(GROUP, ANN, `@anvil_test_bot question ${i}`));
    await settle();
    expect(backlog.size(String(GROUP))).toBe(3);
    // People talking among themselves: handed on at once (the group feature ignores them).
    const chatter = Array.from({ length: 5 }, (_, i) => deliver(GROUP, BEN, `lunch at ${i}?`));
    await settle();
    expect(handled.filter((t) => t.startsWith('lunch'))).toHaveLength(5);
    // A fourth question to the bot is one too many; refused before anyone is identified,
    // so nothing is said in the group (the sender may be a stranger).
    const fourth = deliver(GROUP, BEN, '@anvil_test_bot one more');
    await fourth;
    expect(f.calls.filter((c) => c.method === 'sendMessage')).toEqual([]);
    release();
    await Promise.all([...asked, ...chatter, fourth]);
    expect(handled).not.toContain('@anvil_test_bot one more');
  });
});
