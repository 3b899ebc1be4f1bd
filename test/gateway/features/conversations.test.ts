/** Conversation storage behind the chat feature: places, /new, and the token-budgeted history. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendMessage,
  endConversation,
  estimateTurnTokens,
  findMessageBySource,
  openConversation,
  recentHistory,
  recentHistorySync,
} from '../../../core/conversations.js';
import { createInvite, redeemInvite } from '../../../core/tenancy/invites.js';
import { createTenant } from '../../../core/tenancy/tenants.js';
import { type TempDb, tempDb } from '../../helpers/temp-db.js';

let t: TempDb;
let tenantId: string;
let ann: string;
let ben: string;

beforeAll(async () => {
  t = tempDb();
  tenantId = (await createTenant(t.db, t.sealer, { name: 'ABC', slug: 'abc' }, { actor: 'test' })).id;
  const join = async (id: number, name: string) => {
    const invite = await createInvite(t.db, tenantId, {}, { actor: 'test' });
    return (await redeemInvite(t.db, invite.code, { telegramUserId: id, displayName: name })).user.id;
  };
  ann = await join(1, 'Ann');
  ben = await join(2, 'Ben');
});

afterAll(async () => {
  await t.cleanup();
});

describe('conversations', () => {
  it('a private chat has one conversation per user; a group topic one shared by its members', async () => {
    const annPrivate = await openConversation(t.db, tenantId, ann, { chatId: 1 });
    expect(await openConversation(t.db, tenantId, ann, { chatId: 1 })).toBe(annPrivate);
    expect(await openConversation(t.db, tenantId, ben, { chatId: 2 })).not.toBe(annPrivate);
    const topic = { chatId: -100, threadId: 5, shared: true };
    const shared = await openConversation(t.db, tenantId, ann, topic);
    expect(await openConversation(t.db, tenantId, ben, topic)).toBe(shared);
    expect(await openConversation(t.db, tenantId, ben, { ...topic, threadId: 6 })).not.toBe(shared);
  });

  it('/new ends only the conversation of its own place', async () => {
    const topic5 = { chatId: -200, threadId: 5, shared: true };
    const topic6 = { chatId: -200, threadId: 6, shared: true };
    const a = await openConversation(t.db, tenantId, ann, topic5);
    const b = await openConversation(t.db, tenantId, ann, topic6);
    expect(await endConversation(t.db, tenantId, ben, topic5)).toBe(true);
    expect(await openConversation(t.db, tenantId, ann, topic5)).not.toBe(a);
    expect(await openConversation(t.db, tenantId, ann, topic6)).toBe(b);
    expect(await endConversation(t.db, tenantId, ann, { chatId: -999 })).toBe(false);
  });

  it('history keeps the newest turns that fit the token budget, oldest first, without gaps', async () => {
    const id = await openConversation(t.db, tenantId, ann, { chatId: 300 });
    const turns = Array.from({ length: 10 }, (_, i) => `${i}:${'x'.repeat(96)}`);
    for (const [i, content] of turns.entries()) {
      await appendMessage(t.db, tenantId, {
        conversationId: id,
        userId: i % 2 === 0 ? ann : null,
        role: i % 2 === 0 ? 'user' : 'assistant',
        content,
      });
    }
    const per = estimateTurnTokens(turns[0] as string);
    const history = await recentHistory(t.db, tenantId, id, per * 3 + 1);
    expect(history.map((h) => h.content)).toEqual(turns.slice(7));
    // The newest turn is kept even when it alone is over the budget.
    expect(await recentHistory(t.db, tenantId, id, 1)).toEqual([{ role: 'assistant', content: turns[9] }]);
  });

  it('shared history names the speakers of user turns', async () => {
    const place = { chatId: -400, shared: true };
    const id = await openConversation(t.db, tenantId, ann, place);
    await appendMessage(t.db, tenantId, { conversationId: id, userId: ann, role: 'user', content: 'hi' });
    await appendMessage(t.db, tenantId, { conversationId: id, userId: null, role: 'assistant', content: 'hello' });
    await appendMessage(t.db, tenantId, { conversationId: id, userId: ben, role: 'user', content: 'me too' });
    expect(await recentHistory(t.db, tenantId, id, 1_000, { names: true })).toEqual([
      { role: 'user', content: 'Ann: hi' },
      { role: 'assistant', content: 'hello' },
      { role: 'user', content: 'Ben: me too' },
    ]);
  });

  it('a message with a source is stored once, and the history before it ends where it was asked', async () => {
    const id = await openConversation(t.db, tenantId, ann, { chatId: 500 });
    const at = Date.now();
    const msg = (content: string, source?: string) =>
      appendMessage(t.db, tenantId, { conversationId: id, userId: ann, role: 'user', content, createdAt: at, source });
    await msg('earlier');
    expect(await msg('the question', 'telegram:1:500:7')).toEqual(expect.any(String));
    expect(await msg('the question again', 'telegram:1:500:7')).toBeUndefined();
    await msg('later');
    const asked = findMessageBySource(t.db, tenantId, 'telegram:1:500:7');
    expect(asked?.content).toBe('the question');
    // Same millisecond for all four: insertion order decides what came before.
    expect(recentHistorySync(t.db, tenantId, id, 1_000, { before: asked }).map((h) => h.content)).toEqual(['earlier']);
    // Sources are per tenant: another tenant's lookup finds nothing.
    const other = (await createTenant(t.db, t.sealer, { name: 'Other', slug: 'other' }, { actor: 'test' })).id;
    expect(findMessageBySource(t.db, other, 'telegram:1:500:7')).toBeUndefined();
  });
});
