-- Where a stored document came from, when it must be stored once: a Telegram message with a
-- file is processed again after a restart cut its handling short (a replayed webhook update,
-- or a long-polling update that was not yet confirmed). The key is the bot, chat and
-- message id ('telegram:<bot id>:<chat id>:<message id>'), as for messages.
ALTER TABLE documents ADD COLUMN source TEXT;
CREATE UNIQUE INDEX documents_source ON documents(tenant_id, source) WHERE source IS NOT NULL;
