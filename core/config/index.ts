import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decodeKey, envSchema, type ParsedEnv } from './schema.js';

export { decodeKey, ENV_VARIABLES, envSchema } from './schema.js';

/** Validated configuration shared by the app, the gateway and the model proxy. */
export interface Config extends Omit<ParsedEnv, 'ANVIL_MASTER_KEY' | 'ANVIL_INTERNAL_TOKEN'> {
  /** Absolute data directory. */
  dataDir: string;
  /** The 32-byte master key that seals secrets, with its key id (first 8 hex chars of its SHA-256). */
  masterKey: Buffer;
  internalToken: string;
  /** Messages about generated secrets; the caller logs them once. */
  warnings: string[];
}

/** Thrown when the environment is invalid; its message has one readable line per problem. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates the environment and resolves the secrets. In development a missing
 * ANVIL_MASTER_KEY or ANVIL_INTERNAL_TOKEN is generated once into the data dir (mode 0600);
 * in production their absence is an error.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set", as `.env` files and compose pass them, so defaults apply.
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = envSchema.safeParse(set);
  // Every problem is reported at once, the cross-variable ones included.
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`);
  const production = set.NODE_ENV === 'production';
  if (production && !set.ANVIL_MASTER_KEY) problems.push('ANVIL_MASTER_KEY: required when NODE_ENV=production');
  if (production && !set.ANVIL_INTERNAL_TOKEN) problems.push('ANVIL_INTERNAL_TOKEN: required when NODE_ENV=production');
  const s3 = [set.S3_ENDPOINT, set.S3_ACCESS_KEY, set.S3_SECRET_KEY];
  if (s3.some(Boolean) && !s3.every(Boolean)) {
    problems.push('S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY: set all three or none');
  }
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  const e = parsed.data;

  const dataDir = path.resolve(e.ANVIL_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const warnings: string[] = [];
  const masterKeyText = e.ANVIL_MASTER_KEY ?? devSecret(dataDir, 'master.key', 'ANVIL_MASTER_KEY', warnings);
  const internalToken =
    e.ANVIL_INTERNAL_TOKEN ?? devSecret(dataDir, 'internal.token', 'ANVIL_INTERNAL_TOKEN', warnings);
  const masterKey = decodeKey(masterKeyText);
  if (!masterKey) throw new ConfigError([`ANVIL_MASTER_KEY: the file in ${dataDir} is not a 32-byte key`]);

  const { ANVIL_MASTER_KEY: _k, ANVIL_INTERNAL_TOKEN: _t, ...rest } = e;
  return { ...rest, dataDir, masterKey, internalToken, warnings };
}

/** Reads a generated development secret, creating it (mode 0600) on first use. */
function devSecret(dataDir: string, file: string, variable: string, warnings: string[]): string {
  const p = path.join(dataDir, file);
  if (existsSync(p)) return readFileSync(p, 'utf8').trim();
  const value = randomBytes(32).toString('hex');
  try {
    writeFileSync(p, `${value}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another service of the same install created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(p, 'utf8').trim();
    throw err;
  }
  chmodSync(p, 0o600);
  warnings.push(`${variable} is not set: generated one into ${p} (development only; set it in production)`);
  return value;
}

/**
 * Loads the configuration or ends the process with one line per problem. Entry points
 * call this once at startup.
 */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}
