import { InputFile } from 'grammy';
import { describe, expect, it } from 'vitest';
import { apiError, botFor, closeFakesAfterEach, setup } from './telegram-setup.js';

closeFakesAfterEach();

describe('fake Telegram through a real grammY Bot', () => {
  it('answers getMe for bot.init()', async () => {
    const { f, token, bot } = await setup();
    await bot.init();
    expect(bot.botInfo).toMatchObject({ is_bot: true, username: 'anvil_test_bot', first_name: 'Anvil' });
    expect(bot.botInfo.id).toBe(Number(token.split(':')[0]));
    expect(f.calls.map((c) => c.method)).toEqual(['getMe']);
  });

  it('sendMessage returns a full Message with per-chat increasing ids', async () => {
    const { f, token, bot } = await setup();
    const a = await bot.api.sendMessage(42, 'first');
    const b = await bot.api.sendMessage(42, 'second', { message_thread_id: 7 });
    const other = await bot.api.sendMessage(-100123, 'group hello');
    expect(a).toMatchObject({ message_id: 1, text: 'first', chat: { id: 42, type: 'private' } });
    expect(a.from).toMatchObject({ is_bot: true, username: 'anvil_test_bot' });
    expect(Math.abs(a.date - Date.now() / 1000)).toBeLessThan(5);
    expect(b).toMatchObject({ message_id: 2, message_thread_id: 7 });
    expect(other).toMatchObject({ message_id: 1, chat: { id: -100123, type: 'group' } });
    expect(f.sentTo(token, 42).map((m) => m.text)).toEqual(['first', 'second']);
  });

  it('parses HTML into entities and reports raw and plain text', async () => {
    const { f, token, bot } = await setup();
    const msg = await bot.api.sendMessage(42, '<b>bold</b> &amp; <i>it</i> <a href="https://x.org">l</a>', {
      parse_mode: 'HTML',
    });
    expect(msg.text).toBe('bold & it l');
    expect(msg.entities).toEqual([
      { type: 'bold', offset: 0, length: 4 },
      { type: 'italic', offset: 7, length: 2 },
      { type: 'text_link', offset: 10, length: 1, url: 'https://x.org' },
    ]);
    expect(f.sentTo(token, 42)[0]).toMatchObject({
      text: '<b>bold</b> &amp; <i>it</i> <a href="https://x.org">l</a>',
      parse_mode: 'HTML',
      plain_text: 'bold & it l',
    });
  });

  it('rejects invalid HTML as a GrammyError 400 with Telegram’s description', async () => {
    const { bot } = await setup();
    const cases: [string, string][] = [
      ['<b>unclosed', `Can't find end tag corresponding to start tag "b"`],
      ['a < b', 'Unsupported start tag "" at byte offset 2'],
      ['<b><i>x</b></i>', 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'],
      ['<span>x</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'],
      ['<div>x</div>', 'Unsupported start tag "div" at byte offset 0'],
      ['x</b>', 'Unexpected end tag at byte offset 1'],
      ['Tom & Jerry', `Character '&' must be escaped as "&amp;" at byte offset 4`],
    ];
    for (const [text, reason] of cases) {
      const err = await apiError(bot.api.sendMessage(42, text, { parse_mode: 'HTML' }));
      expect(err.error_code).toBe(400);
      expect(err.description).toBe(`Bad Request: can't parse entities: ${reason}`);
    }
    const ok = await bot.api.sendMessage(
      42,
      '<tg-spoiler>s</tg-spoiler> <span class="tg-spoiler">t</span> <blockquote expandable>q</blockquote> ' +
        '<pre><code class="language-ts">x</code></pre> 1 &lt; 2 &#33;',
      { parse_mode: 'HTML' },
    );
    expect(ok.text).toBe('s t q x 1 < 2 !');
    expect(ok.entities?.map((e) => e.type)).toEqual(['spoiler', 'spoiler', 'expandable_blockquote', 'pre']);
    expect(ok.entities?.[3]).toMatchObject({ type: 'pre', language: 'ts' });
  });

  it('checks empty and too-long text after entity parsing', async () => {
    const { bot } = await setup();
    expect((await apiError(bot.api.sendMessage(42, ''))).description).toBe('Bad Request: message text is empty');
    const blank = await apiError(bot.api.sendMessage(42, '<b> </b>', { parse_mode: 'HTML' }));
    expect(blank.description).toBe('Bad Request: message text is empty');
    const long = await apiError(bot.api.sendMessage(42, 'a'.repeat(4097)));
    expect(long.description).toBe('Bad Request: message is too long');
    const fits = await bot.api.sendMessage(42, `<b>${'a'.repeat(4096)}</b>`, { parse_mode: 'HTML' });
    expect(fits.text).toHaveLength(4096);
  });

  it('keeps the first 100 entities of a message and drops the rest without an error', async () => {
    const { bot } = await setup();
    const html = Array.from({ length: 120 }, (_, i) => `<b>w${i}</b>`).join(' ');
    const sent = await bot.api.sendMessage(42, html, { parse_mode: 'HTML' });
    expect(sent.entities).toHaveLength(100);
    expect(sent.entities?.at(-1)).toMatchObject({ type: 'bold', offset: sent.text.indexOf('w99') });
  });

  it('surfaces an injected 429 with retry_after in err.parameters', async () => {
    const { f, bot } = await setup();
    f.failNext('sendMessage', 1, { error_code: 429, description: 'Too Many Requests: retry after 1', retry_after: 1 });
    const err = await apiError(bot.api.sendMessage(42, 'hi'));
    expect(err.error_code).toBe(429);
    expect(err.description).toBe('Too Many Requests: retry after 1');
    expect(err.parameters.retry_after).toBe(1);
    expect((await bot.api.sendMessage(42, 'hi again')).message_id).toBe(1);
    expect(f.calls.map((c) => c.response?.ok)).toEqual([false, true]);
  });

  it('scopes an injected fault to one bot when given its token', async () => {
    const { f, bot } = await setup();
    const other = botFor(f, f.addBot({ username: 'other_bot' }).token);
    f.failNext(
      'sendMessage',
      1,
      { error_code: 429, description: 'Too Many Requests: retry after 1', retry_after: 1 },
      bot.token,
    );
    expect((await other.api.sendMessage(42, 'not me')).message_id).toBe(1);
    expect((await apiError(bot.api.sendMessage(42, 'me'))).error_code).toBe(429);
  });

  it('plays flood control: a bot past its writes per second gets 429 until the second has passed', async () => {
    const { f, bot } = await setup();
    const other = botFor(f, f.addBot({ username: 'other_bot' }).token);
    f.floodLimit(3);
    // The three together, so they and the edit fall in one second however slow the machine.
    await Promise.all([0, 1, 2].map((i) => bot.api.sendMessage(42, `m${i}`)));
    await bot.api.getMe(); // reads are not counted
    const err = await apiError(bot.api.editMessageText(42, 1, 'changed'));
    expect(err.error_code).toBe(429);
    expect(err.description).toBe('Too Many Requests: retry after 1');
    expect(err.parameters.retry_after).toBe(1);
    expect((await other.api.sendMessage(42, 'another bot has its own second')).message_id).toBe(1);
    await new Promise((r) => setTimeout(r, 1_050));
    expect((await bot.api.sendMessage(42, 'later')).message_id).toBe(4);
  });

  it('edits, refuses identical edits, and deletes', async () => {
    const { f, token, bot } = await setup();
    const m = await bot.api.sendMessage(42, 'draft');
    const same = await apiError(bot.api.editMessageText(42, m.message_id, 'draft'));
    expect(same.description).toBe(
      'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
    );
    const edited = await bot.api.editMessageText(42, m.message_id, '<i>final</i>', { parse_mode: 'HTML' });
    expect(edited).toMatchObject({ message_id: m.message_id, text: 'final' });
    expect(typeof (edited as { edit_date?: number }).edit_date).toBe('number');
    expect(f.sentTo(token, 42)).toEqual([
      { message_id: 1, text: '<i>final</i>', parse_mode: 'HTML', plain_text: 'final', kind: 'text' },
    ]);
    expect(await bot.api.deleteMessage(42, m.message_id)).toBe(true);
    expect(f.sentTo(token, 42)).toEqual([]);
    const again = await apiError(bot.api.deleteMessage(42, m.message_id));
    expect(again.description).toBe('Bad Request: message to delete not found');
  });

  it('answers 401 for unknown or removed tokens and 404 for unknown methods', async () => {
    const { f, token, bot } = await setup();
    const stranger = botFor(f, '999:nope');
    expect((await apiError(stranger.api.getMe())).error_code).toBe(401);
    f.removeBot(token);
    const removed = await apiError(bot.api.getMe());
    expect([removed.error_code, removed.description]).toEqual([401, 'Unauthorized']);
    const { token: t2 } = f.addBot({ username: 'second_bot' });
    const res = await fetch(`${f.apiRoot}/bot${t2}/frobnicate`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ ok: false, error_code: 404, description: 'Not Found: method not found' });
  });

  it('reads query-string and urlencoded parameters too', async () => {
    const { f, token } = await setup();
    const get = await fetch(`${f.apiRoot}/bot${token}/sendMessage?chat_id=5&text=viaQuery`);
    expect(((await get.json()) as { result: { text: string } }).result.text).toBe('viaQuery');
    const post = await fetch(`${f.apiRoot}/bot${token}/sendMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'chat_id=5&text=viaForm&reply_parameters=%7B%22message_id%22%3A1%7D',
    });
    const body = (await post.json()) as { result: { reply_to_message?: { message_id: number } } };
    expect(body.result.reply_to_message?.message_id).toBe(1);
    expect(f.sentTo(token, 5).map((m) => m.text)).toEqual(['viaQuery', 'viaForm']);
  });

  it('accepts multipart uploads and serves files through getFile and /file/bot…', async () => {
    const { f, token, bot } = await setup();
    const msg = await bot.api.sendDocument(42, new InputFile(Buffer.from('hello world'), 'hello.txt'), {
      caption: '<b>doc</b>',
      parse_mode: 'HTML',
    });
    expect(msg.document).toMatchObject({ file_name: 'hello.txt', file_size: 11 });
    expect(msg.caption).toBe('doc');
    const call = f.calls.find((c) => c.method === 'sendDocument');
    expect(call?.params.document).toMatchObject({ filename: 'hello.txt', size: 11 });
    expect(call?.params.chat_id).toBe('42');
    const file = await bot.api.getFile(msg.document?.file_id ?? '');
    const download = await fetch(`${f.apiRoot}/file/bot${token}/${file.file_path}`);
    expect(await download.text()).toBe('hello world');

    const added = f.addFile(token, Buffer.from('voice bytes'), 'voice/file_9.oga');
    expect(await bot.api.getFile(added.file_id)).toEqual(added);
    expect(await (await fetch(`${f.apiRoot}/file/bot${token}/voice/file_9.oga`)).text()).toBe('voice bytes');
    expect((await fetch(`${f.apiRoot}/file/bot${token}/nope.bin`)).status).toBe(404);
    expect((await apiError(bot.api.getFile('bogus'))).description).toBe('Bad Request: invalid file_id');
  });

  it('handles drafts, chat actions and commands', async () => {
    const { bot } = await setup();
    expect(await bot.api.sendMessageDraft(42, 1, 'thinking…')).toBe(true);
    expect(await bot.api.sendMessageDraft(42, 1, '')).toBe(true);
    expect((await apiError(bot.api.sendMessageDraft(-5, 1, 'x'))).error_code).toBe(400);
    expect((await apiError(bot.api.sendMessageDraft(42, 1, '<b>x', { parse_mode: 'HTML' }))).error_code).toBe(400);
    expect(await bot.api.sendChatAction(42, 'typing')).toBe(true);
    const badAction = await apiError(bot.api.raw.sendChatAction({ chat_id: 42, action: 'dancing' as 'typing' }));
    expect(badAction.description).toBe('Bad Request: wrong parameter action in request');
    await bot.api.setMyCommands([{ command: 'start', description: 'Start' }]);
    expect(await bot.api.getMyCommands()).toEqual([{ command: 'start', description: 'Start' }]);
    await bot.api.deleteMyCommands();
    expect(await bot.api.getMyCommands()).toEqual([]);
  });
});
