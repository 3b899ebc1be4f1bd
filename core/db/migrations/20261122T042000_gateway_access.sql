-- Telegram access beyond invites: pairing requests that tenant admins approve, and the
-- group chats a tenant admin has enabled for the assistant.

-- An unknown Telegram account asks to join a tenant ("/request <slug>"); the tenant's
-- admins approve or deny it by its short code ("/approve <code>").
CREATE TABLE pairing_requests (
  id                TEXT PRIMARY KEY,
  tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  code              TEXT NOT NULL,       -- short code admins type; unique within the tenant
  telegram_user_id  INTEGER NOT NULL,
  telegram_username TEXT,
  display_name      TEXT NOT NULL,
  status            TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied')),
  created_at        INTEGER NOT NULL,
  expires_at        INTEGER NOT NULL,    -- a pending request past this is treated as expired
  decided_at        INTEGER,
  decided_by        TEXT REFERENCES tenant_users(id) ON DELETE SET NULL,
  user_id           TEXT REFERENCES tenant_users(id) ON DELETE SET NULL,  -- the user an approval created
  UNIQUE (tenant_id, code)
);
CREATE INDEX pairing_requests_tenant ON pairing_requests(tenant_id, status, created_at);
CREATE INDEX pairing_requests_telegram ON pairing_requests(telegram_user_id, status);

-- Groups are off unless a tenant admin enables them. "via" says which bot serves the
-- group: the platform bot (one tenant per group) or the tenant's own white-label bot.
CREATE TABLE group_chats (
  id         TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  chat_id    INTEGER NOT NULL,
  via        TEXT NOT NULL CHECK (via IN ('platform', 'tenant_bot')),
  title      TEXT,
  enabled_by TEXT REFERENCES tenant_users(id) ON DELETE SET NULL,
  enabled_at INTEGER NOT NULL,
  UNIQUE (chat_id, via, tenant_id)
);
CREATE UNIQUE INDEX group_chats_platform ON group_chats(chat_id) WHERE via = 'platform';
CREATE INDEX group_chats_tenant ON group_chats(tenant_id);
