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

/**
 * The SQL of a place's open conversations (one user's, or the whole chat's when shared),
 * newest first; parameters in order: tenant, chat, [user], [thread].
 */
function openInSql(place: ChatPlace): string {
  const user = place.shared ? '' : ' AND user_id = ?';
  const thread = (place.threadId ?? null) === null ? ' AND thread_id IS NULL' : ' AND thread_id = ?';
  return `SELECT id FROM conversations WHERE tenant_id = ? AND chat_id = ? AND ended_at IS NULL${user}${thread} ORDER BY started_at DESC`;
}

function openInParams(tenantId: string, userId: string, place: ChatPlace): unknown[] {
  const params: unknown[] = [tenantId, place.chatId];
  if (!place.shared) params.push(userId);
  if ((place.threadId ?? null) !== null) params.push(place.threadId);
  return params;
}

/** The open conversation of a place, if it has one. */
export function findOpenConversation(db: Db, tenantId: string, userId: string, place: ChatPlace): string | undefined {
  return db.prepare<{ id: string }>(openInSql(place)).get(...openInParams(tenantId, userId, place))?.id;
}

/** A conversation about to be started (see `insertConversation`). */
export interface NewConversation {
  id: string;
  tenantId: string;
  userId: string;
  place: ChatPlace;
  startedAt: number;
}

/** Stores a new conversation row. */
export function insertConversation(db: Db, c: NewConversation): void {
  db.prepare(
    "INSERT INTO conversations (id, tenant_id, user_id, channel, chat_id, thread_id, started_at, ended_at) VALUES (?, ?, ?, 'telegram', ?, ?, ?, NULL)",
  ).run(c.id, c.tenantId, c.userId, c.place.chatId, c.place.threadId ?? null, c.startedAt);
}

/**
 * The open conversation of a place, started on first use (by `userId`). `/new` closes it
 * (see `endConversation`) so the next message starts fresh.
 */
export async function openConversation(db: Db, tenantId: string, userId: string, place: ChatPlace): Promise<string> {
  const open = findOpenConversation(db, tenantId, userId, place);
  if (open) return open;
  const id = newId();
  insertConversation(db, { id, tenantId, userId, place, startedAt: Date.now() });
  return id;
}

/**
 * Ends the open conversation of a place (a user's in a chat, or the chat topic's when
 * shared); returns whether there was one. Other topics of the chat keep theirs.
 */
export async function endConversation(db: Db, tenantId: string, userId: string, place: ChatPlace): Promise<boolean> {
  const ids = db
    .prepare<{ id: string }>(openInSql(place))
    .all(...openInParams(tenantId, userId, place))
    .map((r) => r.id);
  if (ids.length === 0) return false;
  const res = await db.kysely
    .updateTable('conversations')
    .set({ ended_at: Date.now() })
    .where('tenant_id', '=', tenantId)
    .where('id', 'in', ids)
    .executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

/** One message of a conversation, as `insertMessage` stores it. */
export interface NewMessage {
  conversationId: string;
  userId: string | null;
  role: ChatTurn['role'];
  content: string;
  requestId?: string | null;
  /** When it was written (default now). */
  createdAt?: number;
  /**
   * Where it came from, for a message that must be stored once (e.g. the Telegram message
   * a question was asked in): a second insert with the same source is ignored.
   */
  source?: string | null;
}

/** Stores one message of a conversation, synchronously; returns its id (none if its source was already stored). */
export function insertMessage(db: Db, tenantId: string, msg: NewMessage): string | undefined {
  const id = newId();
  const { changes } = db
    .prepare(
      `INSERT INTO messages (id, tenant_id, conversation_id, user_id, role, content, request_id, created_at, source)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, source) WHERE source IS NOT NULL DO NOTHING`,
    )
    .run(
      id,
      tenantId,
      msg.conversationId,
      msg.userId,
      msg.role,
      msg.content,
      msg.requestId ?? null,
      msg.createdAt ?? Date.now(),
      msg.source ?? null,
    );
  return changes > 0 ? id : undefined;
}

/** A message stored with a source (see `NewMessage.source`), where it sits in its conversation. */
export interface SourcedMessage {
  conversationId: string;
  content: string;
  createdAt: number;
  /** SQLite's rowid: orders messages of the same millisecond (see `recentHistorySync`'s `before`). */
  seq: number;
}

/** The tenant's message stored with `source`, if any. */
export function findMessageBySource(db: Db, tenantId: string, source: string): SourcedMessage | undefined {
  return db
    .prepare<SourcedMessage>(
      'SELECT conversation_id AS conversationId, content, created_at AS createdAt, rowid AS seq FROM messages WHERE tenant_id = ? AND source = ?',
    )
    .get(tenantId, source);
}

/** Stores one message of a conversation; returns its id (none if its source was already stored). */
export async function appendMessage(db: Db, tenantId: string, msg: NewMessage): Promise<string | undefined> {
  return insertMessage(db, tenantId, msg);
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
  return recentHistorySync(db, tenantId, conversationId, tokenBudget, opts);
}

/**
 * `recentHistory` without the promise (the gateway reads it on every message). With
 * `before`, only the turns stored before that message (a question asked again: its own
 * row and what came after it are not its history).
 */
export function recentHistorySync(
  db: Db,
  tenantId: string,
  conversationId: string,
  tokenBudget: number,
  opts: { names?: boolean; before?: Pick<SourcedMessage, 'createdAt' | 'seq'> } = {},
): ChatTurn[] {
  type Row = { role: ChatTurn['role']; content: string; display_name: string | null };
  const { before } = opts;
  const rows = before
    ? db.prepare<Row>(HISTORY_BEFORE_SQL).all(tenantId, conversationId, before.createdAt, before.seq)
    : db.prepare<Row>(HISTORY_SQL).all(tenantId, conversationId);
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

// `+m.tenant_id` keeps SQLite on the conversation's index (without it the planner may scan
// every message of the tenant); the index's order (created_at, then rowid) is the one
// wanted, so no sort. Insertion order breaks ties between messages of the same millisecond.
const historySql = (where: string) => `SELECT m.role, m.content, u.display_name FROM messages AS m
  LEFT JOIN tenant_users AS u ON u.id = m.user_id AND u.tenant_id = m.tenant_id
  WHERE +m.tenant_id = ? AND m.conversation_id = ?${where}
  ORDER BY m.created_at DESC, m.rowid DESC LIMIT 200`;
const HISTORY_SQL = historySql('');
const HISTORY_BEFORE_SQL = historySql(' AND (m.created_at, m.rowid) < (?, ?)');
