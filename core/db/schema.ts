import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** Kysely's view of Anvil's SQLite schema (see migrations/). Times are epoch milliseconds. */
export interface Database {
  operators: OperatorsTable;
  console_sessions: ConsoleSessionsTable;
  plans: PlansTable & RateLimitColumns;
  tenants: TenantsTable & RateLimitColumns;
  tenant_users: TenantUsersTable & UserCapColumns;
  tenant_bots: TenantBotsTable;
  telegram_links: TelegramLinksTable;
  invites: InvitesTable;
  conversations: ConversationsTable;
  messages: MessagesTable;
  api_keys: ApiKeysTable & RateLimitColumns;
  usage_ledger: UsageLedgerTable;
  usage_daily: UsageDailyTable;
  sealed_secrets: SealedSecretsTable;
  prompt_modules: PromptModulesTable;
  prompt_module_versions: PromptModuleVersionsTable;
  documents: DocumentsTable;
  audit_log: AuditLogTable;
  model_prices: ModelPricesTable;
  telegram_updates: TelegramUpdatesTable;
  telegram_bot_info: TelegramBotInfoTable;
  pairing_requests: PairingRequestsTable;
  group_chats: GroupChatsTable;
}

export type OperatorRole = 'owner' | 'admin' | 'viewer';
export type TenantRole = 'admin' | 'member';
export type ActiveStatus = 'active' | 'suspended';
export type UsageStatus = 'ok' | 'aborted' | 'error';

export interface OperatorsTable {
  id: string;
  email: string;
  password_hash: string;
  role: OperatorRole;
  created_at: number;
  disabled_at: number | null;
}

export interface ConsoleSessionsTable {
  id: string;
  secret_hash: Buffer;
  operator_id: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
}

export interface PlansTable {
  id: string;
  name: string;
  max_users: number | null;
  messages_per_day: number | null;
  monthly_token_budget: number | null;
  features: string;
  allowed_models: string;
  default_model: string;
  embed_model: string;
  weight: number;
  max_concurrent: number | null;
  created_at: number;
  updated_at: number;
}

/** A nullable column that may be left out of an insert (SQLite fills in NULL). */
type Optional<T> = ColumnType<T | null, T | null | undefined, T | null>;

export interface TenantsTable {
  id: string;
  slug: string;
  name: string;
  plan_id: string;
  status: ActiveStatus;
  status_reason: Optional<string>;
  default_model: Optional<string>;
  max_users: Optional<number>;
  messages_per_day: Optional<number>;
  monthly_token_budget: Optional<number>;
  max_concurrent: Optional<number>;
  created_at: number;
  updated_at: number;
}

export interface TenantUsersTable {
  id: string;
  tenant_id: string;
  display_name: string;
  role: TenantRole;
  status: ActiveStatus;
  features: string | null;
  created_at: number;
  updated_at: number;
}

export interface TenantBotsTable {
  id: string;
  tenant_id: string;
  telegram_bot_id: number;
  username: string | null;
  token_secret_id: string;
  status: 'active' | 'disabled' | 'unhealthy';
  status_reason: string | null;
  created_at: number;
  updated_at: number;
}

export interface TelegramLinksTable {
  id: string;
  tenant_id: string;
  user_id: string;
  telegram_user_id: number;
  telegram_username: string | null;
  linked_at: number;
  /** When the account chose this team with /team (the platform bot talks for the latest). */
  chosen_at: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface InvitesTable {
  id: string;
  tenant_id: string;
  code_hash: string;
  role: TenantRole;
  created_by: string | null;
  created_at: number;
  expires_at: number;
  redeemed_at: number | null;
  redeemed_by: string | null;
}

export interface ConversationsTable {
  id: string;
  tenant_id: string;
  user_id: string;
  channel: string;
  chat_id: number | null;
  thread_id: number | null;
  started_at: number;
  ended_at: number | null;
}

export interface MessagesTable {
  id: string;
  tenant_id: string;
  conversation_id: string;
  user_id: string | null;
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  request_id: string | null;
  created_at: number;
  /** Set for a message that must be stored once (see the message_source migration). */
  source: string | null;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  name: string;
  secret_hash: Buffer;
  allowed_models: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface UsageLedgerTable {
  request_id: string;
  tenant_id: string;
  user_id: string | null;
  api_key_id: string | null;
  model: string;
  endpoint: string;
  prompt_tokens: number;
  completion_tokens: number;
  status: UsageStatus;
  error: string | null;
  backend: string | null;
  started_at: number;
  duration_ms: number;
  cost_micros: number;
  exact: 0 | 1;
}

export interface UsageDailyTable {
  tenant_id: string;
  day: string;
  user_id: string;
  model: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_micros: number;
}

export interface SealedSecretsTable {
  id: string;
  tenant_id: string | null;
  purpose: string;
  sealed: string;
  created_at: number;
  updated_at: number;
}

export interface PromptModulesTable {
  id: string;
  slug: string;
  title: string;
  current_version: number;
  created_at: number;
  updated_at: number;
}

export interface PromptModuleVersionsTable {
  module_id: string;
  version: number;
  body: string;
  created_by: string | null;
  created_at: number;
}

export interface DocumentsTable {
  id: string;
  tenant_id: string;
  title: string;
  object_key: string;
  mime_type: string;
  size_bytes: number;
  sha256: string;
  status: 'stored' | 'indexing' | 'indexed' | 'failed';
  uploaded_by: string | null;
  created_at: number;
  /** Where it came from when it must be stored once ("telegram:<bot>:<chat>:<message>"). */
  source: string | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  actor: string;
  tenant_id: string | null;
  action: string;
  target: string | null;
  detail: string | null;
}

/**
 * A nullable integer column added by a later migration: read as `number | null`, optional
 * on insert (the database fills NULL), so code that builds whole rows keeps compiling.
 */
type AddedLimit = ColumnType<number | null, number | null | undefined, number | null>;

/**
 * Per-minute rate limits of plans, tenants and API keys (migration 20261122T040000).
 * NULL: unlimited on a plan, the plan's value on a tenant, only the tenant's limits on a key.
 * Kept apart from the base tables so `Tenant`, `Plan` and `ApiKeyRow` built elsewhere stay
 * valid; `Selectable<Database['tenants']>` has every column.
 */
export interface RateLimitColumns {
  requests_per_minute: AddedLimit;
  tokens_per_minute: AddedLimit;
}

/** Optional caps of one tenant user, on top of the tenant's; NULL: no cap of its own. */
export interface UserCapColumns {
  monthly_token_cap: AddedLimit;
  messages_per_day: AddedLimit;
}

/** Price of a model on a plan, in micro-units per million tokens; model "*" is the plan's default. */
export interface ModelPricesTable {
  plan_id: string;
  model: string;
  input_micros_per_mtok: number;
  output_micros_per_mtok: number;
  updated_at: number;
}

export type Tenant = Selectable<TenantsTable>;
export type Plan = Selectable<PlansTable>;
export type TenantUser = Selectable<TenantUsersTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type Operator = Selectable<OperatorsTable>;
export type NewLedgerRow = Insertable<UsageLedgerTable>;
export type TenantUpdate = Updateable<TenantsTable>;

/** A Telegram update received by webhook, stored before the 200 (migration 20261122T041000). */
export interface TelegramUpdatesTable {
  id: Generated<number>;
  /** The webhook's `:botId`: 'platform' or a tenant_bots id. */
  bot_id: string;
  tenant_id: string | null;
  update_id: number;
  payload: string;
  received_at: number;
  processed_at: number | null;
  attempts: Generated<number>;
  last_error: string | null;
}

/** A bot's cached getMe answer, keyed by the numeric part of its token. */
export interface TelegramBotInfoTable {
  telegram_bot_id: number;
  tenant_id: string | null;
  info: string;
  fetched_at: number;
}

/** An unknown Telegram account's request to join a tenant (migration 20261122T042000). */
export interface PairingRequestsTable {
  id: string;
  tenant_id: string;
  /** Short code tenant admins type: `/approve <code>`; unique within the tenant. */
  code: string;
  telegram_user_id: number;
  telegram_username: string | null;
  display_name: string;
  status: 'pending' | 'approved' | 'denied';
  created_at: number;
  /** A pending request past this time is treated as expired. */
  expires_at: number;
  decided_at: number | null;
  decided_by: string | null;
  /** The tenant user an approval created. */
  user_id: string | null;
}

/** A group chat a tenant admin enabled for the assistant, and which bot serves it. */
export interface GroupChatsTable {
  id: string;
  tenant_id: string;
  chat_id: number;
  via: 'platform' | 'tenant_bot';
  title: string | null;
  enabled_by: string | null;
  enabled_at: number;
}

export type PairingRequest = Selectable<PairingRequestsTable>;
export type GroupChat = Selectable<GroupChatsTable>;
