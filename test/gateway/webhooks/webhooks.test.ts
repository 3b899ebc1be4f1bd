/**
 * TELEGRAM_MODE=webhook end to end: the fake Bot API really POSTs each update to the
 * gateway's `/telegram/:botId`, with the secret token the gateway set. Covers the secret
 * check, duplicates, and an update whose answer a restart cut short.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformWebhookSecret, tenantWebhookSecret } from '../../../gateway/webhooks/secret.js';
import { ANSWER, type Harness, type Person, startHarness, until } from '../runtime/harness.js';

const ANN: Person = { id: 8001, first_name: 'Ann' };
const BOB: Person = { id: 8002, first_name: 'Bob' };

let h: Harness;
let abc: { tenantId: string; token?: string; botId?: string };

const url = (botId: string) => `http://127.0.0.1:${h.config.GATEWAY_PORT}/telegram/${botId}`;
const stored = () =>
  h.t.db.sqlite
    .prepare('SELECT bot_id, tenant_id, update_id, processed_at, attempts FROM telegram_updates ORDER BY id')
    .all() as {
    bot_id: string;
    tenant_id: string | null;
    update_id: number;
    processed_at: number | null;
    attempts: number;
  }[];
const webhookSecret = (botId: string) => tenantWebhookSecret(h.config.masterKey, botId);

/** Posts an update to the gateway as Telegram would. */
function post(botId: string, secret: string | undefined, update: unknown): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (secret !== undefined) headers['x-telegram-bot-api-secret-token'] = secret;
  return fetch(url(botId), { method: 'POST', headers, body: JSON.stringify(update) });
}

/** A private text message update from a user. */
const textUpdate = (updateId: number, from: Person, text: string) => ({
  update_id: updateId,
  message: {
    message_id: updateId,
    date: Math.floor(Date.now() / 1000),
    chat: { id: from.id, type: 'private', first_name: from.first_name },
    from: { id: from.id, is_bot: false, first_name: from.first_name },
    text,
  },
});

const running = (...keys: string[]) =>
  keys.every((k) => h.gateway.bots.status().find((b) => b.key === k)?.phase === 'running');

beforeAll(async () => {
  h = await startHarness('webhook');
  abc = await h.addTenant('abc-steel');
  await h.link(abc.tenantId, ANN);
  await h.startGateway();
  await until(() => running('platform', abc.botId!), 8_000, 'both bots');
});

afterAll(async () => {
  await h?.close();
});

describe('Telegram webhooks', () => {
  it("sets each bot's webhook to its own URL with its own secret token", async () => {
    const sets = h.telegram.calls.filter((c) => c.method === 'setWebhook' && c.response?.ok);
    const platform = sets.find((c) => c.token === h.platformToken)!;
    const tenant = sets.find((c) => c.token === abc.token)!;
    expect(platform.params).toMatchObject({
      url: url('platform'),
      secret_token: platformWebhookSecret(h.config.masterKey),
      allowed_updates: ['message', 'callback_query', 'my_chat_member'],
    });
    expect(tenant.params).toMatchObject({ url: url(abc.botId!), secret_token: webhookSecret(abc.botId!) });
    expect(platform.params.secret_token).not.toBe(tenant.params.secret_token);
  });

  it("derives each white-label bot's secret from the master key and the bot, storing none", () => {
    const other = randomBytes(32);
    const secret = webhookSecret(abc.botId!);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/); // Telegram's secret_token alphabet
    expect(tenantWebhookSecret(h.config.masterKey, 'another-bot')).not.toBe(secret);
    expect(tenantWebhookSecret(other, abc.botId!)).not.toBe(secret);
    const columns = h.t.db.sqlite.prepare('SELECT name FROM pragma_table_info(?)').all('tenant_bots') as {
      name: string;
    }[];
    expect(columns.map((c) => c.name)).not.toContain('webhook_secret');
  });

  it('answers a message Telegram delivers by webhook, after storing it', async () => {
    expect(await h.ask(abc.token!, ANN, 'Which steel?')).toBe(ANSWER);
    expect(await h.ask(h.platformToken, BOB, 'Who are you?')).toMatch(/invite/i);
    await until(() => stored().every((r) => r.processed_at !== null), 10_000, 'both processed');
    expect(stored()).toEqual([
      expect.objectContaining({
        bot_id: abc.botId,
        tenant_id: abc.tenantId,
        attempts: 1,
        processed_at: expect.any(Number),
      }),
      expect.objectContaining({ bot_id: 'platform', tenant_id: null, attempts: 1, processed_at: expect.any(Number) }),
    ]);
  });

  it('refuses a delivery without the right secret token with 401 and stores nothing', async () => {
    const before = stored().length;
    const answers = h.sends(abc.token!, ANN.id).length;
    const modelCalls = h.ollama.calls().length;
    const update = textUpdate(900_001, ANN, 'forged');
    expect((await post(abc.botId!, 'not-the-secret', update)).status).toBe(401);
    expect((await post(abc.botId!, undefined, update)).status).toBe(401);
    // The platform bot's secret does not open a tenant bot's URL, nor the other way round.
    expect((await post(abc.botId!, platformWebhookSecret(h.config.masterKey), update)).status).toBe(401);
    expect((await post('platform', webhookSecret(abc.botId!), update)).status).toBe(401);
    expect((await post('no-such-bot', webhookSecret(abc.botId!), update)).status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(stored()).toHaveLength(before);
    expect(h.sends(abc.token!, ANN.id)).toHaveLength(answers);
    expect(h.ollama.calls().length).toBe(modelCalls);
  });

  it('refuses a body that is not an update with 400', async () => {
    const res = await post('platform', platformWebhookSecret(h.config.masterKey), { hello: 'world' });
    expect(res.status).toBe(400);
  });

  it('an update delivered twice is answered 200 both times and processed once', async () => {
    const secret = webhookSecret(abc.botId!);
    const answersBefore = h.sends(abc.token!, ANN.id).length;
    const modelCalls = h.ollama.calls().length;
    const update = textUpdate(500_000, ANN, 'Twice?');
    const [first, second] = await Promise.all([post(abc.botId!, secret, update), post(abc.botId!, secret, update)]);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(await first.text()).toBe('');
    await until(() => h.sends(abc.token!, ANN.id).length > answersBefore, 5_000, 'the answer');
    expect((await post(abc.botId!, secret, update)).status).toBe(200); // a late third delivery
    await new Promise((r) => setTimeout(r, 300));
    expect(h.sends(abc.token!, ANN.id)).toHaveLength(answersBefore + 1);
    expect(h.ollama.calls().length).toBe(modelCalls + 1);
    expect(stored().filter((r) => r.update_id === 500_000)).toEqual([
      expect.objectContaining({ attempts: 1, processed_at: expect.any(Number) }),
    ]);
  });

  it('an update whose answer a restart cut short is processed when the gateway is back', async () => {
    const answersBefore = h.sends(abc.token!, ANN.id).length;
    const modelCalls = h.ollama.calls().length;
    // The model is slow: its answer comes 4 s later, after the gateway was stopped.
    h.ollama.configure({ firstChunkDelayMs: 4_000 });
    h.telegram.sendText(abc.token!, ANN, 'Will you answer after a restart?');
    await until(() => h.ollama.calls().length > modelCalls, 5_000, 'the model call');
    const row = stored().at(-1)!;
    expect(row).toMatchObject({ bot_id: abc.botId, processed_at: null, attempts: 1 });

    await h.stopGateway(); // SIGTERM mid-answer
    h.ollama.configure({ firstChunkDelayMs: 0 });
    expect(stored().at(-1)).toMatchObject({ update_id: row.update_id, processed_at: null });
    expect(h.sends(abc.token!, ANN.id)).toHaveLength(answersBefore);

    await h.startGateway();
    await until(() => h.sends(abc.token!, ANN.id).length > answersBefore, 8_000, 'the answer after the restart');
    expect(h.sends(abc.token!, ANN.id).at(-1)?.params.text).toBe(ANSWER);
    // The update is marked processed once its handler has finished, which includes storing
    // the turn's rows after the answer went out.
    await until(() => stored().at(-1)?.processed_at != null, 3_000, 'the update marked processed');
    expect(stored().at(-1)).toMatchObject({
      update_id: row.update_id,
      attempts: 2,
      processed_at: expect.any(Number),
    });
    // The stopped gateway's late answer never reaches Telegram: one answer, not two.
    await until(() => h.ollama.calls().length >= modelCalls + 2, 3_000, 'both model calls');
    const cutShort = h.ollama.calls()[modelCalls]!;
    await until(() => cutShort.finished || cutShort.aborted, 10_000, 'the first model call to end');
    await new Promise((r) => setTimeout(r, 300));
    expect(h.sends(abc.token!, ANN.id)).toHaveLength(answersBefore + 1);
    // The first attempt had stored the question: the replay neither stores it again nor
    // shows it to the model twice (once as history, once as the question).
    const question = 'Will you answer after a restart?';
    const rows = h.t.db.sqlite
      .prepare("SELECT role FROM messages WHERE tenant_id = ? AND content = ? AND role = 'user'")
      .all(abc.tenantId, question);
    expect(rows).toHaveLength(1);
    const replayed = h.ollama.calls()[modelCalls + 1]?.body as { messages: { content: string }[] };
    expect(replayed.messages.filter((m) => m.content === question)).toHaveLength(1);
  });
});
