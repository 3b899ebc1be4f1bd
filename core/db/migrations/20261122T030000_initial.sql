-- Anvil's first schema. Times are integer milliseconds since the Unix epoch (UTC).
-- Every table of tenant data carries tenant_id; rows are removed with their tenant.

CREATE TABLE operators (
  id            TEXT PRIMARY KEY,
  email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
  password_hash TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
  created_at    INTEGER NOT NULL,
  disabled_at   INTEGER
);

-- Console sessions follow the design the Lucia project recommends: the cookie holds
-- "<id>.<secret>", the table keeps only SHA-256(secret).
CREATE TABLE console_sessions (
  id           TEXT PRIMARY KEY,
  secret_hash  BLOB NOT NULL,
  operator_id  TEXT NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL
);
CREATE INDEX console_sessions_operator ON console_sessions(operator_id);

CREATE TABLE plans (
  id                   TEXT PRIMARY KEY,          -- slug: starter, professional, enterprise
  name                 TEXT NOT NULL,
  max_users            INTEGER,                   -- NULL: unlimited
  messages_per_day     INTEGER,                   -- NULL: unlimited
  monthly_token_budget INTEGER,                   -- NULL: unlimited
  features             TEXT NOT NULL DEFAULT '[]',  -- JSON array of feature ids
  allowed_models       TEXT NOT NULL DEFAULT '[]',  -- JSON array of model names; "*" allows all
  default_model        TEXT NOT NULL,
  embed_model          TEXT NOT NULL,
  weight               INTEGER NOT NULL DEFAULT 1 CHECK (weight > 0),  -- share of the GPU
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL
);

CREATE TABLE tenants (
  id                   TEXT PRIMARY KEY,
  slug                 TEXT NOT NULL UNIQUE,
  name                 TEXT NOT NULL,
  plan_id              TEXT NOT NULL REFERENCES plans(id),
  status               TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  status_reason        TEXT,
  default_model        TEXT,      -- overrides the plan's
  max_users            INTEGER,   -- overrides the plan's
  messages_per_day     INTEGER,   -- overrides the plan's
  monthly_token_budget INTEGER,   -- overrides the plan's
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL
);

CREATE TABLE tenant_users (
  id           TEXT PRIMARY KEY,
  tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  display_name TEXT NOT NULL,
  role         TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
  status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  features     TEXT,              -- JSON array narrowing the plan's features; NULL: all of them
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE INDEX tenant_users_tenant ON tenant_users(tenant_id);

-- Tenants' own (white-label) bots. The token is sealed in sealed_secrets.
CREATE TABLE tenant_bots (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  telegram_bot_id INTEGER NOT NULL UNIQUE,   -- the numeric part of the token
  username        TEXT,
  token_secret_id TEXT NOT NULL REFERENCES sealed_secrets(id),
  webhook_secret  TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'unhealthy')),
  status_reason   TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX tenant_bots_tenant ON tenant_bots(tenant_id);

-- Which Telegram account speaks as which tenant user.
CREATE TABLE telegram_links (
  id                TEXT PRIMARY KEY,
  tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id           TEXT NOT NULL UNIQUE REFERENCES tenant_users(id) ON DELETE CASCADE,
  telegram_user_id  INTEGER NOT NULL,
  telegram_username TEXT,
  linked_at         INTEGER NOT NULL,
  UNIQUE (tenant_id, telegram_user_id)
);
CREATE INDEX telegram_links_telegram_user ON telegram_links(telegram_user_id);

-- Single-use, expiring invites; only SHA-256 of the code is kept.
CREATE TABLE invites (
  id           TEXT PRIMARY KEY,
  tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  code_hash    TEXT NOT NULL UNIQUE,
  role         TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
  created_by   TEXT,              -- "operator:<id>", "user:<id>" or "cli"
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  redeemed_at  INTEGER,
  redeemed_by  TEXT REFERENCES tenant_users(id) ON DELETE SET NULL
);
CREATE INDEX invites_tenant ON invites(tenant_id);

CREATE TABLE conversations (
  id                TEXT PRIMARY KEY,
  tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id           TEXT NOT NULL REFERENCES tenant_users(id) ON DELETE CASCADE,
  channel           TEXT NOT NULL DEFAULT 'telegram',
  chat_id           INTEGER,
  thread_id         INTEGER,
  started_at        INTEGER NOT NULL,
  ended_at          INTEGER
);
CREATE INDEX conversations_open ON conversations(tenant_id, user_id, chat_id, ended_at);

CREATE TABLE messages (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  user_id         TEXT REFERENCES tenant_users(id) ON DELETE SET NULL,
  role            TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
  content         TEXT NOT NULL,
  request_id      TEXT,           -- the model proxy's request id for assistant messages
  created_at      INTEGER NOT NULL
);
CREATE INDEX messages_conversation ON messages(conversation_id, created_at);
CREATE INDEX messages_tenant_day ON messages(tenant_id, created_at);

-- Tenant API keys: "ak_<id>_<secret>"; only SHA-256(secret) is kept.
CREATE TABLE api_keys (
  id             TEXT PRIMARY KEY,
  tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name           TEXT NOT NULL,
  secret_hash    BLOB NOT NULL,
  allowed_models TEXT,            -- JSON array; NULL: whatever the plan allows
  created_at     INTEGER NOT NULL,
  expires_at     INTEGER,
  revoked_at     INTEGER,
  last_used_at   INTEGER
);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id);

-- One row per model request, written by the model proxy alone.
CREATE TABLE usage_ledger (
  request_id        TEXT PRIMARY KEY,
  tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id           TEXT,
  api_key_id        TEXT,
  model             TEXT NOT NULL,
  endpoint          TEXT NOT NULL,
  prompt_tokens     INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  status            TEXT NOT NULL CHECK (status IN ('ok', 'aborted', 'error')),
  error             TEXT,
  backend           TEXT,
  started_at        INTEGER NOT NULL,
  duration_ms       INTEGER NOT NULL,
  cost_micros       INTEGER NOT NULL DEFAULT 0,
  exact             INTEGER NOT NULL CHECK (exact IN (0, 1))
);
CREATE INDEX usage_ledger_tenant_time ON usage_ledger(tenant_id, started_at);

-- Daily rollups (UTC days), updated in the same transaction as each ledger row.
-- user_id is '' for requests made with an API key and no user.
CREATE TABLE usage_daily (
  tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  day               TEXT NOT NULL,  -- YYYY-MM-DD
  user_id           TEXT NOT NULL DEFAULT '',
  model             TEXT NOT NULL,
  requests          INTEGER NOT NULL DEFAULT 0,
  prompt_tokens     INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  cost_micros       INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, day, user_id, model)
);

-- Secrets sealed with AES-256-GCM under ANVIL_MASTER_KEY (the key id is inside the sealed text).
CREATE TABLE sealed_secrets (
  id         TEXT PRIMARY KEY,
  tenant_id  TEXT REFERENCES tenants(id) ON DELETE CASCADE,   -- NULL: platform-wide
  purpose    TEXT NOT NULL,
  sealed     TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- The operator's protected core prompt library, versioned.
CREATE TABLE prompt_modules (
  id              TEXT PRIMARY KEY,
  slug            TEXT NOT NULL UNIQUE,
  title           TEXT NOT NULL,
  current_version INTEGER NOT NULL DEFAULT 1,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE TABLE prompt_module_versions (
  module_id  TEXT NOT NULL REFERENCES prompt_modules(id) ON DELETE CASCADE,
  version    INTEGER NOT NULL,
  body       TEXT NOT NULL,
  created_by TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (module_id, version)
);

CREATE TABLE documents (
  id          TEXT PRIMARY KEY,
  tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  title       TEXT NOT NULL,
  object_key  TEXT NOT NULL,      -- tenants/<tenant_id>/...
  mime_type   TEXT NOT NULL,
  size_bytes  INTEGER NOT NULL,
  sha256      TEXT NOT NULL,
  status      TEXT NOT NULL DEFAULT 'stored' CHECK (status IN ('stored', 'indexing', 'indexed', 'failed')),
  uploaded_by TEXT REFERENCES tenant_users(id) ON DELETE SET NULL,
  created_at  INTEGER NOT NULL
);
CREATE INDEX documents_tenant ON documents(tenant_id, created_at);

CREATE TABLE audit_log (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  at         INTEGER NOT NULL,
  actor      TEXT NOT NULL,       -- "operator:<id>", "user:<id>", "cli", "system"
  tenant_id  TEXT,                -- kept after the tenant is gone, on purpose
  action     TEXT NOT NULL,       -- e.g. tenant.create, invite.redeem
  target     TEXT,
  detail     TEXT                 -- JSON
);
CREATE INDEX audit_log_tenant ON audit_log(tenant_id, at);
