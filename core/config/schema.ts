import { z } from 'zod';

/** Parses a TCP port number from an environment string (0: any free port, for tests). */
const port = z.coerce.number().int().min(0).max(65_535);

/** An absolute http(s) URL without a trailing slash. */
const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
  .transform((u) => u.replace(/\/+$/, ''));

/** Treats an empty string as "not set", as `.env` files and compose often pass them. */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/** A 32-byte key written as 64 hex characters or as base64 (44 characters). */
export const masterKeySchema = z
  .string()
  .refine(
    (v) => decodeKey(v) !== undefined,
    'must be 32 bytes written as 64 hex characters or base64 (generate one with `openssl rand -hex 32`)',
  );

/** Decodes a 32-byte key from hex or base64, or returns undefined when it is not one. */
export function decodeKey(value: string): Buffer | undefined {
  const v = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, 'hex');
  if (/^[A-Za-z0-9+/_-]{42,43}={0,2}$/.test(v)) {
    const buf = Buffer.from(v, 'base64');
    if (buf.length === 32) return buf;
  }
  return undefined;
}

/**
 * Every environment variable Anvil reads, with its default. This is the single list:
 * DESIGN.md's table, `.env.example`, compose.yaml and the README follow it.
 */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  ANVIL_DATA_DIR: z.string().min(1).default('./data'),
  ANVIL_MASTER_KEY: optional(masterKeySchema),
  ANVIL_INTERNAL_TOKEN: optional(
    z.string().min(32, 'must be at least 32 characters (generate one with `openssl rand -hex 32`)'),
  ),
  PUBLIC_URL: httpUrl.default('http://localhost:8080'),
  /** Reverse proxies in front of the console that append to X-Forwarded-For (see app/client-address.ts). */
  TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  APP_PORT: port.default(8080),
  GATEWAY_PORT: port.default(8081),
  MODEL_PROXY_PORT: port.default(11435),
  MODEL_PROXY_URL: httpUrl.default('http://127.0.0.1:11435'),
  OLLAMA_URLS: z
    .string()
    .default('http://127.0.0.1:11434')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(httpUrl).min(1, 'must name at least one Ollama URL')),
  OLLAMA_SLOTS: z.coerce.number().int().min(1).max(256).default(4),
  TELEGRAM_BOT_TOKEN: optional(
    z.string().regex(/^\d+:[\w-]{20,}$/, 'must look like 123456789:AA… (the token @BotFather gave you)'),
  ),
  TELEGRAM_API_ROOT: httpUrl.default('https://api.telegram.org'),
  TELEGRAM_MODE: z.enum(['polling', 'webhook']).default('polling'),
  TELEGRAM_SENDS_PER_SECOND: z.coerce.number().int().min(1).max(10_000).default(30),
  SEARXNG_URL: optional(httpUrl),
  QDRANT_URL: optional(httpUrl),
  QDRANT_API_KEY: optional(z.string()),
  S3_ENDPOINT: optional(httpUrl),
  S3_ACCESS_KEY: optional(z.string()),
  S3_SECRET_KEY: optional(z.string()),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name')
    .default('anvil'),
  S3_REGION: z.string().min(1).default('us-east-1'),
  EMBED_MODEL: z.string().min(1).default('nomic-embed-text'),
  CHAT_MODEL: z.string().min(1).default('llama3.1:8b'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** The names of every variable Anvil reads (used by the compose and .env.example tests). */
export const ENV_VARIABLES = Object.keys(envSchema.shape) as (keyof typeof envSchema.shape)[];

/** The environment after validation, before secrets are resolved. */
export type ParsedEnv = z.infer<typeof envSchema>;
