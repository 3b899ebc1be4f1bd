import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startFakeTelegram } from '../fakes/telegram.js';
import { apiError, botFor, closeFakesAfterEach, setup } from './telegram-setup.js';

closeFakesAfterEach();

describe('fake Telegram updates', () => {
  it('long-polls: a pending getUpdates returns an update pushed later', async () => {
    const { f, token, bot } = await setup();
    const t0 = Date.now();
    const pending = bot.api.getUpdates({ timeout: 10 });
    await f.waitForCall((c) => c.method === 'getUpdates');
    const id = f.sendText(token, { id: 42, first_name: 'Ada', username: 'ada' }, '/start hello');
    const updates = await pending;
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(updates).toHaveLength(1);
    expect(updates[0]?.update_id).toBe(id);
    expect(updates[0]?.message).toMatchObject({
      text: '/start hello',
      from: { id: 42, is_bot: false, first_name: 'Ada', username: 'ada' },
      chat: { id: 42, type: 'private' },
      entities: [{ type: 'bot_command', offset: 0, length: 6 }],
    });
  });

  it('confirms updates by offset and honours limit and timeout 0', async () => {
    const { f, token, bot } = await setup();
    const ids = [1, 2, 3].map((n) => f.sendText(token, { id: 42 }, `m${n}`));
    expect((await bot.api.getUpdates({ limit: 2 })).map((u) => u.update_id)).toEqual(ids.slice(0, 2));
    expect((await bot.api.getUpdates()).map((u) => u.update_id)).toEqual(ids);
    expect(await bot.api.getUpdates({ offset: (ids[2] ?? 0) + 1, timeout: 0 })).toEqual([]);
    const later = f.sendText(token, { id: 42 }, 'm4');
    expect((await bot.api.getUpdates()).map((u) => u.update_id)).toEqual([later]);
    f.sendText(token, { id: 42 }, 'm5');
    expect((await bot.api.getUpdates({ offset: -1 })).map((u) => u.message?.text)).toEqual(['m5']);
  });

  it('answers 409 to the older of two concurrent getUpdates and while a webhook is set', async () => {
    const { f, bot } = await setup();
    const first = apiError(bot.api.getUpdates({ timeout: 10 }));
    await f.waitForCall((c) => c.method === 'getUpdates'); // the first is waiting at the fake
    const second = bot.api.getUpdates({ timeout: 0 });
    const err = await first;
    expect(err.error_code).toBe(409);
    expect(err.description).toBe(
      'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
    );
    expect(await second).toEqual([]);
    await bot.api.setWebhook('https://example.org/hook');
    const hooked = await apiError(bot.api.getUpdates());
    expect(hooked.description).toBe(
      "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    );
  });

  it('filters by allowed_updates and tracks callback queries', async () => {
    const { f, token, bot } = await setup();
    await bot.api.getUpdates({ allowed_updates: ['callback_query'] });
    f.sendText(token, { id: 42 }, 'ignored');
    const from = { id: 42, is_bot: false, first_name: 'Ada' };
    f.pushUpdate(token, { callback_query: { id: 'cb1', from, chat_instance: 'ci', data: 'yes' } });
    const updates = await bot.api.getUpdates();
    expect(updates.map((u) => Object.keys(u).sort())).toEqual([['callback_query', 'update_id']]);
    expect(await bot.api.answerCallbackQuery('cb1')).toBe(true);
    expect((await apiError(bot.api.answerCallbackQuery('cb1'))).error_code).toBe(400);
  });

  it('delivers updates to a loopback webhook with the secret token header', async () => {
    const { f, token, bot } = await setup();
    const received: { body: string; secret: string | undefined }[] = [];
    const hook = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        received.push({ body, secret: req.headers['x-telegram-bot-api-secret-token'] as string | undefined });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/tg`;
      expect(await bot.api.setWebhook(url, { secret_token: 's3cret' })).toBe(true);
      expect((await bot.api.getWebhookInfo()).url).toBe(url);
      const id = f.sendText(token, { id: 42 }, 'via webhook');
      const until = Date.now() + 3000;
      while (received.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      expect(received).toHaveLength(1);
      expect(received[0]?.secret).toBe('s3cret');
      expect(JSON.parse(received[0]?.body ?? '{}') as unknown).toMatchObject({
        update_id: id,
        message: { text: 'via webhook' },
      });
      expect(await bot.api.deleteWebhook()).toBe(true);
      expect((await bot.api.getWebhookInfo()).url).toBe('');
    } finally {
      await new Promise((r) => hook.close(r));
    }
  });

  it('runs a grammY bot end to end with bot.start()', async () => {
    const { f, token, bot } = await setup();
    bot.command('start', (ctx) => ctx.reply(`Welcome, <b>${ctx.from?.first_name}</b>!`, { parse_mode: 'HTML' }));
    const running = bot.start({ drop_pending_updates: true });
    await f.waitForCall((c) => c.method === 'getUpdates');
    f.sendText(token, { id: 77, first_name: 'Grace' }, '/start');
    await f.waitForCall((c) => c.method === 'sendMessage');
    expect(f.sentTo(token, 77)).toEqual([
      {
        message_id: 2,
        text: 'Welcome, <b>Grace</b>!',
        parse_mode: 'HTML',
        plain_text: 'Welcome, Grace!',
        kind: 'text',
      },
    ]);
    await bot.stop();
    await running;
    expect(f.calls.map((c) => c.method).slice(0, 3)).toEqual(['getMe', 'deleteWebhook', 'getUpdates']);
  });

  it('waitForCall rejects with the calls seen, and close() ends pending polls with []', async () => {
    const f = await startFakeTelegram();
    const { token } = f.addBot({ username: 'x_bot' });
    const bot = botFor(f, token);
    await bot.api.getMe();
    await expect(f.waitForCall((c) => c.method === 'sendMessage', 100)).rejects.toThrow(/getMe\(\{\}\) → ok/);
    const pending = bot.api.getUpdates({ timeout: 30 });
    await f.waitForCall((c) => c.method === 'getUpdates');
    await f.close();
    expect(await pending).toEqual([]);
  });
});
