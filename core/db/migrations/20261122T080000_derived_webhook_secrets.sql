-- A white-label bot's webhook secret is now derived from the master key and the bot's id
-- (HMAC-SHA256, as the platform bot's always was), so the database no longer holds a
-- secret that would let whoever reads it post forged updates. A running gateway sees every
-- bot's webhook version change and calls setWebhook with the derived secret.
ALTER TABLE tenant_bots DROP COLUMN webhook_secret;
