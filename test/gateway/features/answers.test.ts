/**
 * Answers in private chats: typing at once, the answer streamed as drafts, the final text
 * as Telegram HTML (plain text when Telegram refuses the markup), long answers split, /stop
 * mid-stream through the control lane, the proxy's 429 and 503 told plainly, and /usage
 * agreeing with the ledger.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../../core/db/schema.js';
import { MAX_LANE_BACKLOG } from '../../../gateway/bot/backlog.js';
import { replies } from '../../../gateway/bot/replies.js';
import { inAbout } from '../../../gateway/features/chat.js';
import { ModelClient } from '../../../gateway/model-client.js';
import { markdownToTelegramHtml } from '../../../gateway/render/markdown.js';
import { parseTelegramHtml } from '../../fakes/telegram-html.js';
import { TEST_INTERNAL_TOKEN } from '../../helpers/config.js';
import { startTestProxy } from '../../helpers/proxy.js';
import { type Harness, startHarness, type TestBot, type TgUser } from './harness.js';

/** The length Telegram counts of a message sent as HTML: its text after parsing. */
const visibleLength = (html: unknown): number => parseTelegramHtml(String(html), true).text.length;

const ANN: TgUser = { id: 5001, first_name: 'Ann', username: 'ann_welds' };
const BEN: TgUser = { id: 5002, first_name: 'Ben' };

let h: Harness;
let bot: TestBot;
let tenant: Tenant;
let reply = 'S355 has a yield strength of **355 MPa**.';

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();
/** How many messages the platform bot's chat with `who` shows now. */
const mark = (who: TgUser) => ({ who, count: h.telegram.sentTo(bot.token, who.id).length });
/** The messages the chat shows beyond `from` (edits applied), read when called. */
const shownFrom = (from: { who: TgUser; count: number }) => () =>
  h.telegram.sentTo(bot.token, from.who.id).slice(from.count);
const shownText = (messages: { plain_text: string }[], separator = '') =>
  messages.map((m) => m.plain_text).join(separator);
/** The tenant's chat requests in the proxy's ledger today: what messages per day count. */
const messagesToday = (tenantId: string) =>
  (
    h.t.db.sqlite
      .prepare(
        `SELECT count(*) AS n FROM usage_ledger WHERE tenant_id = ? AND started_at >= ?
         AND endpoint IN ('/api/chat', '/api/generate', '/v1/chat/completions')`,
      )
      .get(tenantId, new Date().setUTCHours(0, 0, 0, 0)) as { n: number }
  ).n;

/** Waits for the answer to a private question: its final sendMessage calls, after `since`. */
async function finalMessages(chatId: number, since: number, count = 1) {
  await h.until(() => bot.callsTo(chatId, 'sendMessage', since).filter((c) => c.response?.ok).length >= count, 15_000);
  return bot.callsTo(chatId, 'sendMessage', since).filter((c) => c.response?.ok);
}

beforeAll(async () => {
  h = await startHarness({ reply: () => reply });
  bot = await h.startBot('AnvilPlatformBot');
  tenant = await h.tenant('abc-steel', { name: 'ABC Steel' });
  await h.join(tenant.id, ANN);
  await h.join(tenant.id, BEN);
});

afterAll(async () => {
  await h?.close();
});

afterEach(() => {
  h.ollama.configure({ tokens: 5, chunkDelayMs: 0, firstChunkDelayMs: 0 });
  reply = 'S355 has a yield strength of **355 MPa**.';
});

describe('a private answer', () => {
  it('shows typing at once, streams drafts at most every 400 ms, and ends with the answer as HTML', async () => {
    reply = Array.from({ length: 20 }, (_, i) => `word${i}`).join(' ');
    reply = `**Answer:** ${reply}`;
    h.ollama.configure({ tokens: 20, chunkDelayMs: 80 });
    const since = h.telegram.calls.length;
    bot.send(ANN, 'Give me twenty words');
    const [final] = await finalMessages(ANN.id, since);
    const calls = bot.callsTo(ANN.id, undefined, since);
    expect(calls[0]?.method).toBe('sendChatAction');
    expect(calls[0]?.params.action).toBe('typing');
    const drafts = calls.filter((c) => c.method === 'sendMessageDraft');
    expect(drafts.length).toBeGreaterThanOrEqual(2);
    expect(drafts.every((d) => d.response?.ok && d.params.parse_mode === 'HTML')).toBe(true);
    for (let i = 1; i < drafts.length; i++) {
      expect((drafts[i] as { at: number }).at - (drafts[i - 1] as { at: number }).at).toBeGreaterThanOrEqual(350);
    }
    // Drafts grow towards the answer; all frames of one answer share its draft id.
    expect(new Set(drafts.map((d) => d.params.draft_id)).size).toBe(1);
    expect(String(drafts.at(-1)?.params.text).length).toBeGreaterThan(String(drafts[0]?.params.text).length);
    expect(final?.params.parse_mode).toBe('HTML');
    expect(final?.params.text).toBe(markdownToTelegramHtml(reply));
    expect(calls.indexOf(final!)).toBeGreaterThan(calls.indexOf(drafts.at(-1)!));
  });

  it.each([
    'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 15',
    'Bad Request: ENTITIES_TOO_LONG', // formatting too large in total
  ])(
    'is sent again as plain text when Telegram refuses its HTML (%s), and the person sees no error',
    async (description) => {
      reply = '**Bold** & <x> `code`';
      h.telegram.failNext('sendMessage', 1, { error_code: 400, description });
      const since = h.telegram.calls.length;
      bot.send(ANN, 'Format something');
      await h.until(() => bot.callsTo(ANN.id, 'sendMessage', since).length >= 2, 10_000);
      const [refused, plain] = bot.callsTo(ANN.id, 'sendMessage', since);
      expect(refused?.response?.ok).toBe(false);
      expect(refused?.params.parse_mode).toBe('HTML');
      expect(plain?.response?.ok).toBe(true);
      expect(plain?.params.parse_mode).toBeUndefined();
      expect(plain?.params.text).toBe('Bold & <x> code');
      await new Promise((r) => setTimeout(r, 200));
      expect(bot.callsTo(ANN.id, 'sendMessage', since)).toHaveLength(2);
      expect(h.telegram.sentTo(bot.token, ANN.id).at(-1)?.plain_text).toBe('Bold & <x> code');
    },
  );

  it('splits a 10,000-character answer into valid messages of at most 4096 characters, losing nothing', async () => {
    const paragraphs: string[] = [];
    for (let i = 0; paragraphs.join('\n\n').length < 10_000; i++) {
      paragraphs.push(`Paragraph ${i}: ${'steel plate thickness and grade '.repeat(8).trim()}.`);
    }
    reply = paragraphs.join('\n\n').slice(0, 10_000);
    expect(reply).toHaveLength(10_000);
    h.ollama.configure({ tokens: 40 });
    const since = h.telegram.calls.length;
    const shown = shownFrom(mark(ANN));
    bot.send(ANN, 'Write a lot');
    // The pieces go one after another: wait until the chat shows the whole answer.
    await h.until(() => squash(shownText(shown(), ' ')) === squash(reply), 15_000);
    const sent = bot.callsTo(ANN.id, 'sendMessage', since);
    expect(sent.length).toBeGreaterThanOrEqual(3);
    expect(sent).toHaveLength(shown().length);
    expect(sent.every((c) => c.response?.ok)).toBe(true);
    for (const c of sent) expect(visibleLength(c.params.text)).toBeLessThanOrEqual(4096);
  });
});

describe('a private answer, when things go wrong', () => {
  it('shows Markdown the converter cannot handle as plain text, split, and keeps answering', async () => {
    // marked recurses once per nesting level: 6,000 `>` overflow its stack.
    reply = `${'>'.repeat(6_000)} deep`;
    h.ollama.configure({ tokens: 8, chunkDelayMs: 60 });
    const since = h.telegram.calls.length;
    const shown = shownFrom(mark(ANN));
    bot.send(ANN, 'Quote yourself');
    await h.until(() => shownText(shown()) === reply, 15_000);
    const sent = bot.callsTo(ANN.id, 'sendMessage', since);
    expect(sent.every((c) => c.response?.ok && visibleLength(c.params.text) <= 4096)).toBe(true);
    expect(sent).toHaveLength(shown().length);

    reply = 'Still here.';
    const next = h.telegram.calls.length;
    bot.send(ANN, 'Are you there?');
    const [after] = await finalMessages(ANN.id, next);
    expect(after?.params.text).toBe('Still here.');
  });

  it('streams by edits when the Bot API server has no drafts, and asks for none in the next answers', async () => {
    const old = await h.startBot('OldServerBot');
    reply = Array.from({ length: 30 }, (_, i) => `e${i}`).join(' ');
    h.ollama.configure({ tokens: 30, chunkDelayMs: 80 });
    h.telegram.failNext(
      'sendMessageDraft',
      1,
      { error_code: 404, description: 'Not Found: method not found' },
      old.token,
    );
    for (const question of ['Thirty words', 'Thirty more']) {
      const since = h.telegram.calls.length;
      const before = h.telegram.sentTo(old.token, ANN.id).length;
      old.send(ANN, question);
      await h.until(() => h.telegram.sentTo(old.token, ANN.id).length === before + 1, 15_000);
      await h.until(() => h.telegram.sentTo(old.token, ANN.id).at(-1)?.plain_text === reply, 15_000);
      const calls = old.callsTo(ANN.id, undefined, since).filter((c) => c.method !== 'sendChatAction');
      // The first answer tried one draft; the second knew better.
      expect(calls.filter((c) => c.method === 'sendMessageDraft')).toHaveLength(question === 'Thirty words' ? 1 : 0);
      expect(calls.filter((c) => c.method === 'sendMessage')).toHaveLength(1);
      expect(calls.filter((c) => c.method === 'editMessageText').length).toBeGreaterThanOrEqual(1);
    }
  });

  it('keeps what was written when the model fails midway, and says the answer was cut off', async () => {
    reply = 'alpha beta gamma delta epsilon';
    h.ollama.configure({ tokens: 5 });
    h.ollama.midStreamErrorNext(2, 'CUDA error: out of memory');
    const text = await bot.ask(ANN, 'Greek letters?');
    // The fake streams the reply in five equal slices; two arrived before the error.
    expect(text).toBe('alpha beta g\n\n<i>The answer was cut off. Please try again in a minute.</i>');
    expect(text).not.toMatch(/CUDA/);
  });

  it("refuses before any model call when the team's messages per day or monthly budget are used up, or the user may not chat", async () => {
    const calls = h.modelCalls().length;
    const sent = messagesToday(tenant.id);
    expect(sent).toBeGreaterThan(0);
    h.t.db.sqlite.prepare('UPDATE tenants SET messages_per_day = ? WHERE id = ?').run(sent, tenant.id);
    expect(await bot.ask(ANN, 'One more?')).toBe(
      `Your team has reached its plan's limit of ${sent} messages today. It resets at midnight (UTC).`,
    );
    h.t.db.sqlite
      .prepare('UPDATE tenants SET messages_per_day = NULL, monthly_token_budget = 10 WHERE id = ?')
      .run(tenant.id);
    expect(await bot.ask(ANN, 'One more?')).toBe(
      "Your team has used its plan's monthly budget of 10 tokens. It resets on the 1st of next month (UTC).",
    );
    h.t.db.sqlite.prepare('UPDATE tenants SET monthly_token_budget = NULL WHERE id = ?').run(tenant.id);
    h.t.db.sqlite
      .prepare(
        `UPDATE tenant_users SET features = '["memory"]' WHERE id = (SELECT user_id FROM telegram_links WHERE telegram_user_id = ?)`,
      )
      .run(ANN.id);
    try {
      expect(await bot.ask(ANN, 'One more?')).toBe(
        'Chatting with the assistant is not included for your account. Please contact your admin.',
      );
    } finally {
      h.t.db.sqlite.prepare('UPDATE tenant_users SET features = NULL').run();
    }
    expect(h.modelCalls().length).toBe(calls);
  });
});

describe('/stop', () => {
  it('ends a running answer at once, keeps the partial text marked as stopped, and the proxy meters it as aborted', async () => {
    reply = Array.from({ length: 100 }, (_, i) => `part${i}`).join(' ');
    h.ollama.configure({ tokens: 100, chunkDelayMs: 100 });
    const since = h.telegram.calls.length;
    const rowsBefore = h.ledger().length;
    bot.send(BEN, 'Tell me a long story');
    await h.telegram.waitForCall(
      (c) =>
        c.method === 'sendMessageDraft' &&
        Number(c.params.chat_id) === BEN.id &&
        String(c.params.text).includes('part3') &&
        h.telegram.calls.indexOf(c) >= since,
      10_000,
    );
    // The control lane: /help is answered while the answer is still being written.
    const help = await bot.ask(BEN, '/help');
    expect(help).toMatch(/^Write a question and the assistant answers/);
    expect(bot.callsTo(BEN.id, 'sendMessage', since).filter((c) => c.params.parse_mode === 'HTML')).toHaveLength(0);

    const stoppedAt = Date.now();
    bot.send(BEN, '/stop');
    const final = await h.telegram.waitForCall(
      (c) =>
        c.method === 'sendMessage' &&
        Number(c.params.chat_id) === BEN.id &&
        c.params.parse_mode === 'HTML' &&
        h.telegram.calls.indexOf(c) >= since,
      10_000,
    );
    expect(Date.now() - stoppedAt).toBeLessThan(6_000); // the stream would run 10 s
    const text = String(final.params.text);
    expect(text).toMatch(/^part0 part1 part2 part3 [^\n]*\n\n<i>Stopped\.<\/i>$/);
    expect(text).not.toContain('part99');

    await h.until(() => h.ledger().length > rowsBefore, 5_000);
    const row = h.ledger().at(-1)!;
    expect({ status: row.status, error: row.error }).toEqual({ status: 'aborted', error: null });
    expect(row.completion_tokens).toBeGreaterThan(0);
    expect(row.completion_tokens).toBeLessThan(100);
    expect(h.modelCalls().at(-1)?.aborted).toBe(true);
    // The stopped answer's rows commit right after it is sent.
    const last = () =>
      h.t.db.sqlite
        .prepare("SELECT content, request_id FROM messages WHERE role = 'assistant' ORDER BY created_at DESC LIMIT 1")
        .get() as { content: string; request_id: string } | undefined;
    await h.until(() => last()?.request_id === row.request_id, 5_000);
    const stored = last() as { content: string; request_id: string };
    expect(stored.request_id).toBe(row.request_id);
    expect(text.startsWith(stored.content)).toBe(true);

    expect(await bot.ask(BEN, '/stop')).toBe('Nothing to stop: no answer is being written right now.');
  });
});

describe('/usage', () => {
  it("reports the user's and the tenant's tokens this month exactly as the ledger has them", async () => {
    await bot.ask(ANN, 'One more question');
    const text = await bot.ask(ANN, '/usage');
    const ann = h.t.db.sqlite
      .prepare(
        `SELECT count(*) AS n, sum(prompt_tokens) AS p, sum(completion_tokens) AS c FROM usage_ledger
         WHERE user_id = (SELECT user_id FROM telegram_links WHERE telegram_user_id = ?)`,
      )
      .get(ANN.id) as { n: number; p: number; c: number };
    const team = h.t.db.sqlite
      .prepare('SELECT sum(prompt_tokens + completion_tokens) AS t FROM usage_ledger WHERE tenant_id = ?')
      .get(tenant.id) as { t: number };
    const fmt = (n: number) => n.toLocaleString('en-US');
    expect(ann.n).toBeGreaterThan(2);
    expect(text).toContain(
      `${fmt(ann.p + ann.c)} tokens in ${fmt(ann.n)} requests (${fmt(ann.p)} in, ${fmt(ann.c)} out)`,
    );
    expect(text).toContain(
      `ABC Steel this month: ${fmt(team.t)} of 100,000,000 tokens used, ${fmt(100_000_000 - team.t)} left.`,
    );
    expect(text).toContain(`Today (UTC): ${fmt(messagesToday(tenant.id))} messages (no daily limit) for the team`);
  });
});

describe('conversations', () => {
  it('answers a message Telegram delivers twice from what was stored: one question and one answer row, one model call', async () => {
    const DAN: TgUser = { id: 5004, first_name: 'Dan' };
    await h.join(tenant.id, DAN);
    const message = {
      message_id: 777_001,
      from: { id: DAN.id, is_bot: false, first_name: 'Dan' },
      chat: { id: DAN.id, type: 'private' as const, first_name: 'Dan' },
      date: Math.floor(Date.now() / 1000),
      text: 'Is S235 weldable?',
    };
    const rows = () =>
      h.t.db.sqlite
        .prepare(
          'SELECT m.role, m.content FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id WHERE c.chat_id = ? ORDER BY m.rowid',
        )
        .all(DAN.id) as { role: string; content: string }[];
    const modelCalls = h.modelCalls().length;
    const since = h.telegram.calls.length;
    // A long-polling gateway that stops before confirming an update gets it again, same id.
    const updateId = h.telegram.pushUpdate(bot.token, { message });
    const [first] = await finalMessages(DAN.id, since);
    await h.until(() => rows().length === 2);
    h.telegram.pushUpdate(bot.token, { message, update_id: updateId });
    const [, again] = await finalMessages(DAN.id, since, 2);
    expect(again?.params.text).toBe(first?.params.text);
    expect(h.modelCalls()).toHaveLength(modelCalls + 1);
    expect(rows()).toEqual([
      { role: 'user', content: 'Is S235 weldable?' },
      { role: 'assistant', content: reply },
    ]);
  });

  it('carry history until /new starts fresh', async () => {
    await bot.ask(ANN, 'First question');
    const roles = () => h.lastPrompt().map((m) => m.role);
    await bot.ask(ANN, 'Second question');
    expect(roles().length).toBeGreaterThan(3);
    expect(await bot.ask(ANN, '/new')).toBe('Started a new conversation. Earlier messages will not be used.');
    await bot.ask(ANN, 'Fresh question');
    expect(roles()).toEqual(['system', 'user']);
  });
});

describe('when the proxy refuses', () => {
  let stub: Server;
  let answer: { status: number; body: unknown; headers: Record<string, string> };
  let lines: string[];
  let logger: Logger;
  let stubbed: TestBot;
  const CARL: TgUser = { id: 5003, first_name: 'Carl' };

  beforeAll(async () => {
    stub = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
    lines = [];
    logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
    stubbed = await h.startBot(
      'StubbedProxyBot',
      { kind: 'platform' },
      {
        models: new ModelClient(url, TEST_INTERNAL_TOKEN),
        logger,
      },
    );
    await h.join(tenant.id, CARL);
  });

  afterAll(async () => {
    await new Promise((r) => stub.close(r));
  });

  it("a 429 is told as the plan's limit with the proxy's own words", async () => {
    answer = {
      status: 429,
      body: { error: 'monthly token budget of 2,000,000 tokens reached; resets 2026-12-01 00:00 UTC' },
      headers: { 'retry-after': '86400', 'x-request-id': 'req-429' },
    };
    expect(await stubbed.ask(CARL, 'Hi')).toBe(
      "You have reached your plan's limit: monthly token budget of 2,000,000 tokens reached; resets 2026-12-01 00:00 UTC.",
    );
    answer = { status: 429, body: { error: 'rate limit of 30 requests per minute' }, headers: { 'retry-after': '40' } };
    expect(await stubbed.ask(CARL, 'Hi')).toBe(
      "You have reached your plan's limit: rate limit of 30 requests per minute. Try again in about 40 seconds.",
    );
  });

  it('counts toward messages per day only what reached the proxy, as the proxy does', async () => {
    h.t.db.sqlite
      .prepare('UPDATE tenants SET messages_per_day = ? WHERE id = ?')
      .run(messagesToday(tenant.id) + 1, tenant.id);
    try {
      answer = { status: 503, body: { error: 'Ollama is unavailable: no healthy backend' }, headers: {} };
      // Three questions the proxy never answered: stored in the conversation, not counted.
      for (let i = 0; i < 3; i++) {
        expect(await stubbed.ask(CARL, `Hello ${i}?`)).toBe(
          'The assistant is busy right now. Please try again in a minute.',
        );
      }
      reply = 'Answered.';
      expect(await bot.ask(ANN, 'The one message left today?')).toBe('Answered.');
      expect(await bot.ask(ANN, 'And one more?')).toMatch(
        /^Your team has reached its plan's limit of \d+ messages today/,
      );
    } finally {
      h.t.db.sqlite.prepare('UPDATE tenants SET messages_per_day = NULL WHERE id = ?').run(tenant.id);
    }
  });

  it('says when to try again in words that read right', () => {
    expect([1, 40, 89, 120, 3_600, 7_200, 86_400].map((s) => inAbout(s))).toEqual([
      'in about 1 second',
      'in about 40 seconds',
      'in about 89 seconds',
      'in about 2 minutes',
      'in about 60 minutes',
      'in about 2 hours',
      'in about 24 hours',
    ]);
  });

  it('a 503 is "busy", logged with the request id', async () => {
    answer = {
      status: 503,
      body: { error: 'Ollama is unavailable: no healthy backend' },
      headers: { 'retry-after': '30', 'x-request-id': 'req-503-abc' },
    };
    expect(await stubbed.ask(CARL, 'Hi')).toBe('The assistant is busy right now. Please try again in a minute.');
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; requestId?: string });
    expect(logged.findLast((l) => l.msg === 'model proxy busy or unreachable')?.requestId).toBe('req-503-abc');
  });

  it('a GPU too busy to start the answer is "busy", not the plan\'s limit, through the real proxy', async () => {
    // One slot, held by Ann's slow answer; Carl's request waits 100 ms and is refused with
    // the proxy's gpu_busy 429 (the same status as a plan's limit).
    const full = await startTestProxy(h.t.db, { ...h.deps.config, OLLAMA_SLOTS: 1 }, { maxWaitMs: 100 });
    try {
      const busyBot = await h.startBot(
        'FullQueueBot',
        { kind: 'platform' },
        { models: new ModelClient(full.url, TEST_INTERNAL_TOKEN), logger },
      );
      h.ollama.configure({ tokens: 20, chunkDelayMs: 50 });
      const calls = h.modelCalls().length;
      busyBot.send(ANN, 'Something long, please');
      await h.until(() => h.modelCalls().length > calls);
      expect(await busyBot.ask(CARL, 'Hi')).toBe('The assistant is busy right now. Please try again in a minute.');
      const logged = lines.map((l) => JSON.parse(l) as { msg: string; err?: string; requestId?: string });
      const busy = logged.filter((l) => l.msg === 'model proxy busy or unreachable').at(-1);
      expect(busy?.err).toMatch(/^The GPU is busy/);
      expect(busy?.requestId).toBeTruthy();
    } finally {
      await full.close();
    }
  });

  it('an unreachable proxy is "busy" too', async () => {
    const down = await h.startBot(
      'DownProxyBot',
      { kind: 'platform' },
      {
        models: new ModelClient('http://127.0.0.1:9', TEST_INTERNAL_TOKEN),
      },
    );
    expect(await down.ask(CARL, 'Hi')).toBe('The assistant is busy right now. Please try again in a minute.');
  });
});

describe('many answers at once', () => {
  it("keeps the bot within Telegram's flood limit: every answer arrives and Telegram refuses nothing", async () => {
    h.telegram.floodLimit(4);
    try {
      const paced = await h.startBot(
        'PacedBot',
        { kind: 'platform' },
        {
          config: { ...h.deps.config, TELEGRAM_SENDS_PER_SECOND: 4 },
        },
      );
      const people: TgUser[] = Array.from({ length: 10 }, (_, i) => ({ id: 5100 + i, first_name: `Crew${i}` }));
      for (const p of people) await h.join(tenant.id, p);
      reply = 'Yes.';
      const since = h.telegram.calls.length;
      for (const p of people) paced.send(p, 'Is the crane free?');
      await h.until(
        () => people.every((p) => paced.callsTo(p.id, 'sendMessage', since).some((c) => c.response?.ok)),
        20_000,
      );
      const mine = h.telegram.calls.slice(since).filter((c) => c.token === paced.token);
      expect(mine.filter((c) => c.response?.ok === false)).toEqual([]);
      for (const p of people) expect(h.telegram.sentTo(paced.token, p.id).at(-1)?.plain_text).toBe('Yes.');
    } finally {
      h.telegram.floodLimit(undefined);
    }
  }, 30_000);
});

describe('a flood from one chat', () => {
  it('is held to MAX_LANE_BACKLOG updates with one notice, while other chats are answered', async () => {
    const FLOOD = MAX_LANE_BACKLOG + 4;
    const calls = h.modelCalls().length;
    const since = h.telegram.calls.length;
    // Ben's first answer does not come until he stops it: his chat stays full meanwhile.
    h.ollama.configure({ firstChunkDelayMs: 60_000 });
    for (let i = 0; i < FLOOD; i++) bot.send(BEN, `forwarded ${i}`);
    await h.telegram.waitForCall(
      (c) =>
        c.method === 'sendMessage' &&
        Number(c.params.chat_id) === BEN.id &&
        c.params.text === replies.backlogFull &&
        h.telegram.calls.indexOf(c) >= since,
      10_000,
    );
    await h.until(() => h.modelCalls().length === calls + 1, 10_000);
    h.ollama.configure({ firstChunkDelayMs: 0 });
    // Ann's chat is not held up by Ben's: answered while his first answer is still waiting.
    expect(await bot.ask(ANN, 'Meanwhile?')).toBe('S355 has a yield strength of <b>355 MPa</b>.');
    expect(h.modelCalls()[calls]?.finished).toBe(false);
    bot.send(BEN, '/stop');
    // Ben's backlog is answered in turn; the four past it never reach the model.
    const bens = () =>
      h
        .modelCalls()
        .slice(calls)
        .map((c) => (c.body as { messages: { content: string }[] }).messages.at(-1)?.content)
        .filter((q) => q?.startsWith('forwarded'));
    await h.until(() => bens().length === MAX_LANE_BACKLOG && h.modelCalls().at(-1)?.finished === true, 20_000);
    await h.until(
      () =>
        h.telegram.sentTo(bot.token, BEN.id).filter((m) => m.plain_text.startsWith('S355')).length >=
        MAX_LANE_BACKLOG - 1,
      10_000,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(bens()).toEqual(Array.from({ length: MAX_LANE_BACKLOG }, (_, i) => `forwarded ${i}`));
    expect(bot.callsTo(BEN.id, 'sendMessage', since).filter((c) => c.params.text === replies.backlogFull)).toHaveLength(
      1,
    );
  }, 40_000);
});

describe('command menus', () => {
  it('the member menu is set once per bot', async () => {
    const set = h.telegram.calls.filter(
      (c) => c.token === bot.token && c.method === 'setMyCommands' && !c.params.scope,
    );
    expect(set).toHaveLength(1);
    const commands = (set[0]!.params.commands as { command: string }[]).map((c) => c.command);
    expect(commands).toEqual(['start', 'help', 'new', 'stop', 'usage', 'whoami']);
  });
});
