-- The Telegram gateway's own tables (issue 4: webhooks that never lose an update, and
-- hundreds of bots that start without calling getMe each time).

-- Updates received by webhook. Each is stored before Telegram gets its 200 and processed
-- after it, so a slow answer never makes Telegram deliver it again, and an update whose
-- processing was cut short by a restart is processed when the gateway is back.
CREATE TABLE telegram_updates (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order: updates are processed in it
  bot_id       TEXT NOT NULL,     -- the webhook's :botId: 'platform' or tenant_bots.id
  tenant_id    TEXT REFERENCES tenants(id) ON DELETE CASCADE,  -- a white-label bot's tenant; NULL: the platform bot
  update_id    INTEGER NOT NULL,
  payload      TEXT NOT NULL,     -- the update as Telegram sent it (JSON)
  received_at  INTEGER NOT NULL,
  processed_at INTEGER,           -- NULL: not processed yet (or given up: attempts at the limit)
  attempts     INTEGER NOT NULL DEFAULT 0,
  last_error   TEXT,
  UNIQUE (bot_id, update_id)      -- Telegram may deliver an update twice; it is processed once
);
CREATE INDEX telegram_updates_pending ON telegram_updates(bot_id, id) WHERE processed_at IS NULL;
CREATE INDEX telegram_updates_received ON telegram_updates(received_at);

-- getMe answers, cached per Telegram bot, so starting hundreds of bots calls getMe for none
-- of them (grammY takes the cached answer as botInfo).
CREATE TABLE telegram_bot_info (
  telegram_bot_id INTEGER PRIMARY KEY,  -- the numeric part of the token
  tenant_id       TEXT REFERENCES tenants(id) ON DELETE CASCADE,  -- NULL: the platform bot
  info            TEXT NOT NULL,        -- getMe's result (JSON)
  fetched_at      INTEGER NOT NULL
);
