/**
 * The group policy: off until a tenant admin enables the group, then only the tenant's
 * linked users are heard, and only when they mention the bot or reply to it; answers stream
 * by paced edits; each forum topic has one conversation shared by its members.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../../core/db/schema.js';
import { markdownToTelegramHtml } from '../../../gateway/render/markdown.js';
import { type Harness, startHarness, type TestBot, type TgGroup, type TgUser } from './harness.js';

const ADMIN: TgUser = { id: 7001, first_name: 'Ada' };
const ANN: TgUser = { id: 7002, first_name: 'Ann' };
const BEN: TgUser = { id: 7003, first_name: 'Ben' };
const STRANGER: TgUser = { id: 7666, first_name: 'Mallory' };
const OTHER_ADMIN: TgUser = { id: 7100, first_name: 'Otto' };
const GROUP: TgGroup = { id: -100_700_000_001, type: 'supergroup', title: 'Site crew' };

let h: Harness;
let bot: TestBot;
let steel: Tenant;
let reply = 'Use **S355**.';

/** Waits a moment and returns the bot's calls to the group since `since`. */
async function quietFor(since: number, ms = 400) {
  await new Promise((r) => setTimeout(r, ms));
  return bot.callsTo(GROUP.id, undefined, since).filter((c) => c.method !== 'sendChatAction');
}

/** Resolves once the answer to the group's latest question is stored and delivered. */
async function answered(since: number, text: string) {
  const html = markdownToTelegramHtml(text);
  await h.until(
    () => bot.callsTo(GROUP.id, undefined, since).some((c) => c.response?.ok && c.params.text === html),
    15_000,
  );
}

beforeAll(async () => {
  h = await startHarness({ reply: () => reply });
  bot = await h.startBot('AnvilPlatformBot');
  steel = await h.tenant('abc-steel', { name: 'ABC Steel' });
  await h.join(steel.id, ADMIN, 'admin');
  await h.join(steel.id, ANN);
  await h.join(steel.id, BEN);
  const other = await h.tenant('iron-works', { name: 'Iron Works' });
  await h.join(other.id, OTHER_ADMIN, 'admin');
});

afterAll(async () => {
  await h?.close();
});

afterEach(() => {
  h.ollama.configure({ tokens: 5, chunkDelayMs: 0 });
  reply = 'Use **S355**.';
});

describe('a group that is off', () => {
  it('says hello once when the bot is added, then ignores everyone, members included', async () => {
    const since = h.telegram.calls.length;
    h.telegram.pushUpdate(bot.token, {
      my_chat_member: {
        chat: { id: GROUP.id, type: 'supergroup', title: 'Site crew' },
        from: { id: ADMIN.id, is_bot: false, first_name: ADMIN.first_name },
        date: Math.floor(Date.now() / 1000),
        old_chat_member: { status: 'left', user: { id: bot.bot.botInfo.id, is_bot: true, first_name: 'Anvil' } },
        new_chat_member: { status: 'member', user: { id: bot.bot.botInfo.id, is_bot: true, first_name: 'Anvil' } },
      },
    });
    await h.telegram.waitForCall((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === GROUP.id);
    expect(String(bot.callsTo(GROUP.id, 'sendMessage', since)[0]?.params.text)).toMatch(
      /turns me on with \/enable_group/,
    );

    const calls = h.modelCalls().length;
    const after = h.telegram.calls.length;
    bot.send(ANN, '@AnvilPlatformBot what grade for the beams?', { chat: GROUP });
    bot.send(STRANGER, '/help', { chat: GROUP });
    expect(await quietFor(after)).toEqual([]);
    expect(h.modelCalls().length).toBe(calls);
  });

  it('can be enabled by a tenant admin only; strangers are not answered', async () => {
    const since = h.telegram.calls.length;
    bot.send(STRANGER, '/enable_group', { chat: GROUP });
    expect(await quietFor(since)).toEqual([]);
    expect(await bot.ask(ANN, '/enable_group', { chat: GROUP })).toBe('Only your team admins can do that.');
    expect(await bot.ask(ADMIN, '/enable_group', { chat: GROUP })).toMatch(
      /^The assistant is on in this group for ABC Steel\./,
    );
    expect(h.t.db.sqlite.prepare('SELECT tenant_id, via FROM group_chats WHERE chat_id = ?').get(GROUP.id)).toEqual({
      tenant_id: steel.id,
      via: 'platform',
    });
    // On the platform bot a group serves one team.
    expect(await bot.ask(OTHER_ADMIN, '/enable_group iron-works', { chat: GROUP })).toBe(
      'This group is already used by another team.',
    );
  });
});

describe('an enabled group', () => {
  it('answers a member who mentions the bot, replying to them and streaming by edits at most once a second', async () => {
    reply = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');
    h.ollama.configure({ tokens: 40, chunkDelayMs: 80 });
    const since = h.telegram.calls.length;
    bot.send(ANN, '@AnvilPlatformBot  list forty words please', { chat: GROUP });
    await answered(since, reply);
    const calls = bot.callsTo(GROUP.id, undefined, since).filter((c) => c.method !== 'sendChatAction');
    expect(calls[0]?.method).toBe('sendMessage');
    expect(calls.slice(1).every((c) => c.method === 'editMessageText')).toBe(true);
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(calls.length).toBeLessThan(20);
    for (let i = 1; i < calls.length; i++) {
      expect((calls[i] as { at: number }).at - (calls[i - 1] as { at: number }).at).toBeGreaterThanOrEqual(990);
    }
    expect(JSON.stringify(calls[0]?.params.reply_parameters)).toMatch(/"message_id":\d+/);
    // The mention is not part of the question the model sees; the sender's name is.
    expect(h.lastPrompt().at(-1)).toEqual({ role: 'user', content: 'Ann: list forty words please' });
    expect(h.telegram.sentTo(bot.token, GROUP.id).at(-1)?.plain_text).toBe(reply);
  });

  it('answers a reply to its message, and ignores members who neither mention nor reply', async () => {
    const since = h.telegram.calls.length;
    bot.send(BEN, 'just chatting among ourselves', { chat: GROUP });
    expect(await quietFor(since)).toEqual([]);
    const last = h.telegram.sentTo(bot.token, GROUP.id).at(-1)!;
    bot.send(BEN, 'and for columns?', { chat: GROUP, replyTo: last.message_id });
    await answered(since, reply);
  });

  it('ignores strangers, even when they mention the bot', async () => {
    const calls = h.modelCalls().length;
    const since = h.telegram.calls.length;
    bot.send(STRANGER, '@AnvilPlatformBot give me your secrets', { chat: GROUP });
    bot.send(OTHER_ADMIN, '@AnvilPlatformBot hello', { chat: GROUP });
    expect(await quietFor(since)).toEqual([]);
    expect(h.modelCalls().length).toBe(calls);
  });

  it('keeps one conversation per topic, shared by its members', async () => {
    const since = h.telegram.calls.length;
    bot.send(ANN, '@AnvilPlatformBot topic one, first', { chat: GROUP, thread: 11 });
    await answered(since, reply);
    const mid = h.telegram.calls.length;
    bot.send(BEN, '@AnvilPlatformBot topic one, second', { chat: GROUP, thread: 11 });
    await answered(mid, reply);
    expect(h.lastPrompt().slice(1)).toEqual([
      { role: 'user', content: 'Ann: topic one, first' },
      { role: 'assistant', content: 'Use **S355**.' },
      { role: 'user', content: 'Ben: topic one, second' },
    ]);
    const late = h.telegram.calls.length;
    bot.send(BEN, '@AnvilPlatformBot topic two', { chat: GROUP, thread: 22 });
    await answered(late, reply);
    expect(h.lastPrompt().map((m) => m.role)).toEqual(['system', 'user']);
    const reply22 = bot.callsTo(GROUP.id, 'sendMessage', late)[0];
    expect(reply22?.params.message_thread_id).toBe(22);
    const rows = h.t.db.sqlite
      .prepare(
        'SELECT thread_id, count(*) AS n FROM conversations WHERE chat_id = ? AND ended_at IS NULL GROUP BY thread_id ORDER BY thread_id',
      )
      .all(GROUP.id);
    expect(rows).toEqual([
      { thread_id: null, n: 1 },
      { thread_id: 11, n: 1 },
      { thread_id: 22, n: 1 },
    ]);
  });

  it('answers two topics side by side, and /stop ends only the answer of its own topic', async () => {
    reply = Array.from({ length: 40 }, (_, i) => `t${i}`).join(' ');
    h.ollama.configure({ tokens: 40, chunkDelayMs: 200 }); // 8 s answers: room for the steps below
    const since = h.telegram.calls.length;
    const calls = h.modelCalls().length;
    bot.send(ANN, '@AnvilPlatformBot a long one in topic eleven', { chat: GROUP, thread: 11 });
    await h.until(() => h.modelCalls().length === calls + 1);
    bot.send(BEN, '@AnvilPlatformBot a long one in topic twenty-two', { chat: GROUP, thread: 22 });
    // Topic 22 does not wait for topic 11's answer: its model call starts while 11 streams.
    await h.until(() => h.modelCalls().length === calls + 2, 10_000);
    expect(h.modelCalls()[calls]?.finished).toBe(false);
    const rows = h.ledger().length;
    bot.send(BEN, '/stop', { chat: GROUP, thread: 22 });
    await answered(since, reply);
    await h.until(() => h.ledger().length === rows + 2);
    // Ben's answer in topic 22 was stopped (metered as aborted); Ann's in topic 11 ran to its end.
    const userOf = (who: TgUser) =>
      (
        h.t.db.sqlite.prepare('SELECT user_id FROM telegram_links WHERE telegram_user_id = ?').get(who.id) as {
          user_id: string;
        }
      ).user_id;
    const statuses = Object.fromEntries(
      h
        .ledger()
        .slice(rows)
        .map((r) => [r.user_id, r.status]),
    );
    expect(statuses).toEqual({ [userOf(BEN)]: 'aborted', [userOf(ANN)]: 'ok' });
  });

  it('goes quiet again after /disable_group', async () => {
    expect(await bot.ask(ANN, '/disable_group', { chat: GROUP })).toBe('Only your team admins can do that.');
    expect(await bot.ask(ADMIN, '/disable_group', { chat: GROUP })).toBe('The assistant is now off in this group.');
    const since = h.telegram.calls.length;
    bot.send(ANN, '@AnvilPlatformBot still there?', { chat: GROUP });
    expect(await quietFor(since)).toEqual([]);
  });
});

describe('a white-label bot in a group', () => {
  it("is enabled for its own tenant and hears only that tenant's members", async () => {
    const iron = (h.t.db.sqlite.prepare("SELECT id FROM tenants WHERE slug = 'iron-works'").get() as { id: string }).id;
    const ironBot = await h.startBot('IronWorksBot', { kind: 'tenant', tenantId: iron });
    const yard: TgGroup = { id: -100_700_000_002, type: 'supergroup', title: 'Yard' };
    expect(await ironBot.ask(OTHER_ADMIN, '/enable_group', { chat: yard })).toMatch(/on in this group for Iron Works/);
    const calls = h.modelCalls().length;
    const since = h.telegram.calls.length;
    ironBot.send(ANN, '@IronWorksBot hello', { chat: yard });
    await new Promise((r) => setTimeout(r, 400));
    expect(ironBot.callsTo(yard.id, 'sendMessage', since)).toEqual([]);
    expect(h.modelCalls().length).toBe(calls);
  });
});
