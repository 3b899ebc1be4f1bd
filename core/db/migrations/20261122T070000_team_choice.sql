-- A Telegram account in several teams talks to the platform bot for one of them: the one it
-- chose (with /team) or joined last. chosen_at records the choice.
ALTER TABLE telegram_links ADD COLUMN chosen_at INTEGER;
