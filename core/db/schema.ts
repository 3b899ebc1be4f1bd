import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/** Kysely's view of Anvil's SQLite schema (see migrations/). Times are epoch milliseconds. */
export interface Database {
  operators: OperatorsTable;
  console_sessions: ConsoleSessionsTable;
  plans: PlansTable;
  tenants: TenantsTable;
  tenant_users: TenantUsersTable;
  tenant_bots: TenantBotsTable;
  telegram_links: TelegramLinksTable;
  invites: InvitesTable;
  conversations: ConversationsTable;
  messages: MessagesTable;
  api_keys: ApiKeysTable;
  usage_ledger: UsageLedgerTable;
  usage_daily: UsageDailyTable;
  sealed_secrets: SealedSecretsTable;
  prompt_modules: PromptModulesTable;
  prompt_module_versions: PromptModuleVersionsTable;
  documents: DocumentsTable;
  audit_log: AuditLogTable;
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
  created_at: number;
  updated_at: number;
}

export interface TenantsTable {
  id: string;
  slug: string;
  name: string;
  plan_id: string;
  status: ActiveStatus;
  status_reason: string | null;
  default_model: string | null;
  max_users: number | null;
  messages_per_day: number | null;
  monthly_token_budget: number | null;
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
  webhook_secret: string;
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

export type Tenant = Selectable<TenantsTable>;
export type Plan = Selectable<PlansTable>;
export type TenantUser = Selectable<TenantUsersTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type Operator = Selectable<OperatorsTable>;
export type NewLedgerRow = Insertable<UsageLedgerTable>;
export type TenantUpdate = Updateable<TenantsTable>;
