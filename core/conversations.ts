import { newId } from './crypto/tokens.js';
import type { Db } from './db/index.js';

/** A chat turn as the model sees it. */
export interface ChatTurn {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
}

/** Where a conversation happens: a Telegram chat, and a forum topic within it. */
export interface ChatPlace {
  chatId: number;
  threadId?: number | null;
}

/**
 * The open conversation of a user in a chat, started on first use. `/new` closes it
 * (see `endConversation`) so the next message starts fresh.
 */
export async function openConversation(db: Db, tenantId: string, userId: string, place: ChatPlace): Promise<string> {
  const threadId = place.threadId ?? null;
  let q = db.kysely
    .selectFrom('conversations')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('user_id', '=', userId)
    .where('chat_id', '=', place.chatId)
    .where('ended_at', 'is', null);
  q = threadId === null ? q.where('thread_id', 'is', null) : q.where('thread_id', '=', threadId);
  const open = await q.orderBy('started_at', 'desc').executeTakeFirst();
  if (open) return open.id;
  const id = newId();
  await db.kysely
    .insertInto('conversations')
    .values({
      id,
      tenant_id: tenantId,
      user_id: userId,
      channel: 'telegram',
      chat_id: place.chatId,
      thread_id: threadId,
      started_at: Date.now(),
      ended_at: null,
    })
    .execute();
  return id;
}

/** Ends a user's open conversation in a chat; returns whether there was one. */
export async function endConversation(db: Db, tenantId: string, userId: string, place: ChatPlace): Promise<boolean> {
  const res = await db.kysely
    .updateTable('conversations')
    .set({ ended_at: Date.now() })
    .where('tenant_id', '=', tenantId)
    .where('user_id', '=', userId)
    .where('chat_id', '=', place.chatId)
    .where('ended_at', 'is', null)
    .executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

/** Stores one message of a conversation. */
export async function appendMessage(
  db: Db,
  tenantId: string,
  msg: {
    conversationId: string;
    userId: string | null;
    role: ChatTurn['role'];
    content: string;
    requestId?: string | null;
  },
): Promise<void> {
  await db.kysely
    .insertInto('messages')
    .values({
      id: newId(),
      tenant_id: tenantId,
      conversation_id: msg.conversationId,
      user_id: msg.userId,
      role: msg.role,
      content: msg.content,
      request_id: msg.requestId ?? null,
      created_at: Date.now(),
    })
    .execute();
}

/**
 * The most recent turns of a conversation that fit a token budget (estimated at four
 * characters a token), oldest first.
 */
export async function recentHistory(
  db: Db,
  tenantId: string,
  conversationId: string,
  tokenBudget: number,
): Promise<ChatTurn[]> {
  const rows = await db.kysely
    .selectFrom('messages')
    .select(['role', 'content'])
    .where('tenant_id', '=', tenantId)
    .where('conversation_id', '=', conversationId)
    .orderBy('created_at', 'desc')
    .limit(200)
    .execute();
  const turns: ChatTurn[] = [];
  let used = 0;
  for (const row of rows) {
    used += Math.ceil(row.content.length / 4) + 4;
    if (used > tokenBudget && turns.length > 0) break;
    turns.push(row);
  }
  return turns.reverse();
}

/** How many messages a tenant's users sent since a time (for messages/day). */
export async function countUserMessagesSince(db: Db, tenantId: string, since: number): Promise<number> {
  const { n } = await db.kysely
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('role', '=', 'user')
    .where('created_at', '>=', since)
    .executeTakeFirstOrThrow();
  return n;
}
