/**
 * Update delivery of the fake Telegram Bot API: the per-bot queue, getUpdates
 * with real long-polling semantics (offset confirmation, limit, timeout,
 * allowed_updates, 409 conflicts) and webhooks (set/delete/info and delivery
 * by POST to loopback URLs only).
 */
import type { Update } from 'grammy/types';
import { isArray, sleep } from './http-util.js';
import { boolParam, intParam, jsonParam, strParam } from './telegram-params.js';
import { BotApiError, type BotState, type PendingPoll, unixNow, updateKind } from './telegram-state.js';

/** Update types delivered only when asked for explicitly in allowed_updates. */
export const OPT_IN_UPDATES = ['chat_member', 'message_reaction', 'message_reaction_count'];

function allowed(bot: BotState, update: Update): boolean {
  const kind = updateKind(update) ?? '';
  if (bot.allowedUpdates && bot.allowedUpdates.length > 0) return bot.allowedUpdates.includes(kind);
  return !OPT_IN_UPDATES.includes(kind);
}

function rememberAllowed(bot: BotState, params: Record<string, unknown>): void {
  const list = jsonParam(params, 'allowed_updates');
  if (isArray(list)) bot.allowedUpdates = list.filter((x): x is string => typeof x === 'string');
}

/** Queues an update (dropping it if allowed_updates excludes its type) and wakes the consumer. */
export function enqueueUpdate(bot: BotState, update: Update): void {
  if (!allowed(bot, update)) return;
  // Kept in update_id order. Ids nearly always arrive increasing, so this is a push; a
  // sort per update made queueing 10,000 at once quadratic (bench:gateway's burst).
  let i = bot.queue.length;
  while (i > 0 && (bot.queue[i - 1] as Update).update_id > update.update_id) i--;
  bot.queue.splice(i, 0, update);
  if (bot.webhook) void deliverWebhook(bot);
  else bot.poll?.wake();
}

/** Drops updates confirmed by `offset` (negative: keep only the last -offset). */
function confirm(bot: BotState, offset: number): void {
  if (offset > 0) bot.queue = bot.queue.filter((u) => u.update_id >= offset);
  else if (offset < 0) bot.queue = bot.queue.slice(offset);
}

/** Implements getUpdates; resolves later when it has to wait (long polling). */
export function getUpdates(
  bot: BotState,
  params: Record<string, unknown>,
  onAbort: (cb: () => void) => void,
): Update[] | Promise<Update[]> {
  if (bot.webhook) {
    throw new BotApiError(
      409,
      "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    );
  }
  const older = bot.poll;
  bot.poll = undefined;
  older?.fail(
    new BotApiError(
      409,
      'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
    ),
  );
  const offset = intParam(params, 'offset') ?? 0;
  const limit = Math.min(100, Math.max(1, intParam(params, 'limit') ?? 100));
  const timeout = Math.max(0, intParam(params, 'timeout') ?? 0);
  rememberAllowed(bot, params);
  confirm(bot, offset);
  const ready = (): Update[] => bot.queue.slice(0, limit);
  const now = ready();
  if (now.length > 0 || timeout === 0 || bot.closed) return now;
  return new Promise<Update[]>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(timer);
      if (bot.poll === poll) bot.poll = undefined;
    };
    const poll: PendingPoll = {
      wake: () => {
        const updates = ready();
        if (updates.length > 0) poll.finish(updates);
      },
      finish: (updates) => {
        done();
        resolve(updates);
      },
      fail: (err) => {
        done();
        reject(err);
      },
    };
    timer = setTimeout(() => poll.finish(ready()), timeout * 1000);
    bot.poll = poll;
    onAbort(done);
  });
}

function isLoopback(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Posts queued updates to the webhook one by one (loopback URLs only), retrying failures. */
async function deliverWebhook(bot: BotState): Promise<void> {
  const hook = bot.webhook;
  if (!hook || hook.delivering) return;
  if (!isLoopback(new URL(hook.url))) {
    hook.lastErrorMessage = 'The fake Telegram delivers webhooks to loopback addresses only';
    return;
  }
  hook.delivering = true;
  try {
    while (bot.webhook === hook && !bot.closed && !bot.removed) {
      const update = bot.queue[0];
      if (!update) break;
      let ok = false;
      try {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (hook.secretToken) headers['x-telegram-bot-api-secret-token'] = hook.secretToken;
        const res = await fetch(hook.url, {
          method: 'POST',
          headers,
          body: JSON.stringify(update),
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        ok = res.ok;
        if (!ok) hook.lastErrorMessage = `Wrong response from the webhook: ${res.status} ${res.statusText}`;
      } catch (err) {
        hook.lastErrorMessage = err instanceof Error ? err.message : String(err);
      }
      if (ok) {
        if (bot.queue[0] === update) bot.queue.shift();
      } else {
        hook.lastErrorDate = unixNow();
        await sleep(250);
      }
    }
  } finally {
    hook.delivering = false;
  }
}

/** setWebhook: an empty url removes the webhook. */
export function setWebhook(bot: BotState, params: Record<string, unknown>): { result: true; description: string } {
  const url = strParam(params, 'url') ?? '';
  if (url === '') return deleteWebhook(bot, params);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new BotApiError(400, 'Bad Request: bad webhook: Failed to resolve host: Name or service not known');
  }
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && isLoopback(parsed))) {
    throw new BotApiError(400, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
  }
  const secret = strParam(params, 'secret_token');
  if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) {
    throw new BotApiError(400, 'Bad Request: secret token contains unallowed characters');
  }
  if (boolParam(params, 'drop_pending_updates')) bot.queue = [];
  rememberAllowed(bot, params);
  const same = bot.webhook?.url === url && bot.webhook.secretToken === secret;
  bot.poll?.fail(new BotApiError(409, 'Conflict: terminated by setWebhook request'));
  bot.webhook = { url, maxConnections: intParam(params, 'max_connections') ?? 40, delivering: false };
  if (secret !== undefined) bot.webhook.secretToken = secret;
  void deliverWebhook(bot);
  return { result: true, description: same ? 'Webhook is already set' : 'Webhook was set' };
}

/** deleteWebhook (drop_pending_updates clears the queue). */
export function deleteWebhook(bot: BotState, params: Record<string, unknown>): { result: true; description: string } {
  const had = bot.webhook !== undefined;
  bot.webhook = undefined;
  if (boolParam(params, 'drop_pending_updates')) bot.queue = [];
  return { result: true, description: had ? 'Webhook was deleted' : 'Webhook is already deleted' };
}

/** getWebhookInfo. */
export function getWebhookInfo(bot: BotState): Record<string, unknown> {
  const hook = bot.webhook;
  const info: Record<string, unknown> = {
    url: hook?.url ?? '',
    has_custom_certificate: false,
    pending_update_count: bot.queue.length,
  };
  if (hook) {
    info.max_connections = hook.maxConnections;
    if (hook.lastErrorDate !== undefined) info.last_error_date = hook.lastErrorDate;
    if (hook.lastErrorMessage !== undefined) info.last_error_message = hook.lastErrorMessage;
    if (bot.allowedUpdates?.length) info.allowed_updates = bot.allowedUpdates;
  }
  return info;
}
