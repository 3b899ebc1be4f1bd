import { sql } from 'kysely';
import { newId } from './crypto/tokens.js';
import type { Db } from './db/index.js';

/** A chat turn as the model sees it. */
export interface ChatTurn {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
}

/**
 * Where a conversation happens: a Telegram chat, and a forum topic within it. A private
 * chat's conversation is its user's; a group's (`shared`) belongs to the chat and topic, so
 * every member talking to the assistant there continues the same conversation.
 */
export interface ChatPlace {
  chatId: number;
  threadId?: number | null;
  shared?: boolean;
}

/** The open conversations of a place (one user's, or the whole chat's when shared). */
function openIn(db: Db, tenantId: string, userId: string, place: ChatPlace) {
  const threadId = place.threadId ?? null;
  let q = db.kysely
    .selectFrom('conversations')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('chat_id', '=', place.chatId)
    .where('ended_at', 'is', null);
  if (!place.shared) q = q.where('user_id', '=', userId);
  return threadId === null ? q.where('thread_id', 'is', null) : q.where('thread_id', '=', threadId);
}

/**
 * The open conversation of a place, started on first use (by `userId`). `/new` closes it
 * (see `endConversation`) so the next message starts fresh.
 */
export async function openConversation(db: Db, tenantId: string, userId: string, place: ChatPlace): Promise<string> {
  const threadId = place.threadId ?? null;
  const open = await openIn(db, tenantId, userId, place).orderBy('started_at', 'desc').executeTakeFirst();
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

/**
 * Ends the open conversation of a place (a user's in a chat, or the chat topic's when
 * shared); returns whether there was one. Other topics of the chat keep theirs.
 */
export async function endConversation(db: Db, tenantId: string, userId: string, place: ChatPlace): Promise<boolean> {
  const ids = (await openIn(db, tenantId, userId, place).execute()).map((r) => r.id);
  if (ids.length === 0) return false;
  const res = await db.kysely
    .updateTable('conversations')
    .set({ ended_at: Date.now() })
    .where('tenant_id', '=', tenantId)
    .where('id', 'in', ids)
    .executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

/** Stores one message of a conversation; returns its id. */
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
): Promise<string> {
  const id = newId();
  await db.kysely
    .insertInto('messages')
    .values({
      id,
      tenant_id: tenantId,
      conversation_id: msg.conversationId,
      user_id: msg.userId,
      role: msg.role,
      content: msg.content,
      request_id: msg.requestId ?? null,
      created_at: Date.now(),
    })
    .execute();
  return id;
}

/** Estimated tokens of one turn: four characters a token plus the turn's framing. */
export function estimateTurnTokens(content: string): number {
  return Math.ceil(content.length / 4) + 4;
}

/**
 * The most recent turns of a conversation that fit a token budget (estimated at four
 * characters a token), oldest first. The newest turn is always included; a turn that does
 * not fit ends the window, so the history never has gaps. With `names`, user turns are
 * prefixed with the sender's name, for conversations several people share (groups).
 */
export async function recentHistory(
  db: Db,
  tenantId: string,
  conversationId: string,
  tokenBudget: number,
  opts: { names?: boolean } = {},
): Promise<ChatTurn[]> {
  const rows = await db.kysely
    .selectFrom('messages as m')
    .leftJoin('tenant_users as u', (j) => j.onRef('u.id', '=', 'm.user_id').onRef('u.tenant_id', '=', 'm.tenant_id'))
    .select(['m.role', 'm.content', 'u.display_name'])
    .where('m.tenant_id', '=', tenantId)
    .where('m.conversation_id', '=', conversationId)
    .orderBy('m.created_at', 'desc')
    // Insertion order breaks ties between messages stored in the same millisecond.
    .orderBy(sql`m.rowid`, 'desc')
    .limit(200)
    .execute();
  const turns: ChatTurn[] = [];
  let used = 0;
  for (const row of rows) {
    const content =
      opts.names && row.role === 'user' && row.display_name ? `${row.display_name}: ${row.content}` : row.content;
    used += estimateTurnTokens(content);
    if (used > tokenBudget && turns.length > 0) break;
    turns.push({ role: row.role, content });
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
