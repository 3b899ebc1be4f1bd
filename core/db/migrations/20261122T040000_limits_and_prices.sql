-- Rate limits, per-user caps and the price table (issue 3: budgets and limits, cost per model).
-- Rate limits are per sliding minute. NULL means: on a plan, unlimited; on a tenant, the
-- plan's value; on an API key, only the tenant's limits apply; on a user, no cap of its own.

ALTER TABLE plans ADD COLUMN requests_per_minute INTEGER
  CHECK (requests_per_minute IS NULL OR requests_per_minute >= 0);
ALTER TABLE plans ADD COLUMN tokens_per_minute INTEGER
  CHECK (tokens_per_minute IS NULL OR tokens_per_minute >= 0);

ALTER TABLE tenants ADD COLUMN requests_per_minute INTEGER   -- overrides the plan's
  CHECK (requests_per_minute IS NULL OR requests_per_minute >= 0);
ALTER TABLE tenants ADD COLUMN tokens_per_minute INTEGER     -- overrides the plan's
  CHECK (tokens_per_minute IS NULL OR tokens_per_minute >= 0);

ALTER TABLE api_keys ADD COLUMN requests_per_minute INTEGER  -- on top of the tenant's
  CHECK (requests_per_minute IS NULL OR requests_per_minute >= 0);
ALTER TABLE api_keys ADD COLUMN tokens_per_minute INTEGER    -- on top of the tenant's
  CHECK (tokens_per_minute IS NULL OR tokens_per_minute >= 0);

ALTER TABLE tenant_users ADD COLUMN monthly_token_cap INTEGER  -- on top of the tenant's budget
  CHECK (monthly_token_cap IS NULL OR monthly_token_cap >= 0);
ALTER TABLE tenant_users ADD COLUMN messages_per_day INTEGER   -- on top of the tenant's
  CHECK (messages_per_day IS NULL OR messages_per_day >= 0);

-- Default plans seeded before this migration get their rate limits here; fresh databases
-- get them from seedDefaultPlans, which runs after the migrations.
UPDATE plans SET requests_per_minute = 30, tokens_per_minute = 20000 WHERE id = 'starter';
UPDATE plans SET requests_per_minute = 120, tokens_per_minute = 100000 WHERE id = 'professional';

-- What a model costs on a plan, in micro-units of the operator's currency per million
-- tokens. Model "*" is the plan's default price; a model with no row and no "*" is free.
CREATE TABLE model_prices (
  plan_id                TEXT NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
  model                  TEXT NOT NULL,
  input_micros_per_mtok  INTEGER NOT NULL CHECK (input_micros_per_mtok >= 0),
  output_micros_per_mtok INTEGER NOT NULL CHECK (output_micros_per_mtok >= 0),
  updated_at             INTEGER NOT NULL,
  PRIMARY KEY (plan_id, model)
);
