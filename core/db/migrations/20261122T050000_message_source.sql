-- Where a stored message came from, when it must be stored once: a Telegram message is
-- processed again after a restart cut its answer short (webhook mode stores the update and
-- replays it), and the replay must neither store the question twice nor, when the answer
-- was already written, ask the model again. The key is the bot, chat and message id
-- ('telegram:<bot id>:<chat id>:<message id>', with ':answer' for the answer to it).
ALTER TABLE messages ADD COLUMN source TEXT;
CREATE UNIQUE INDEX messages_source ON messages(tenant_id, source) WHERE source IS NOT NULL;
