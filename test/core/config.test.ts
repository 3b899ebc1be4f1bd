import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, envSchema, loadConfig } from '../../core/config/index.js';

const HEX_KEY = 'a1'.repeat(32);
const TOKEN = 't'.repeat(40);

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'anvil-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** An environment with the given variables and a temporary data directory. */
const env = (vars: Record<string, string> = {}): NodeJS.ProcessEnv => ({ ANVIL_DATA_DIR: dir, ...vars });

/** Runs loadConfig and returns the ConfigError it throws. */
function configError(vars: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(vars);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('loadConfig accepted an invalid environment');
}

/** The problem lines of a ConfigError message. */
const problemLines = (err: ConfigError): string[] => err.message.split('\n').filter((l) => l.startsWith('  - '));

describe('loadConfig defaults', () => {
  it('matches the defaults of DESIGN.md', () => {
    const c = loadConfig(env({ ANVIL_MASTER_KEY: HEX_KEY, ANVIL_INTERNAL_TOKEN: TOKEN }));
    expect(c.NODE_ENV).toBe('development');
    expect(c.dataDir).toBe(path.resolve(dir));
    expect(c.PUBLIC_URL).toBe('http://localhost:8080');
    expect(c.APP_PORT).toBe(8080);
    expect(c.GATEWAY_PORT).toBe(8081);
    expect(c.MODEL_PROXY_PORT).toBe(11435);
    expect(c.MODEL_PROXY_URL).toBe('http://127.0.0.1:11435');
    expect(c.OLLAMA_URLS).toEqual(['http://127.0.0.1:11434']);
    expect(c.OLLAMA_SLOTS).toBe(4);
    expect(c.TELEGRAM_BOT_TOKEN).toBeUndefined();
    expect(c.TELEGRAM_API_ROOT).toBe('https://api.telegram.org');
    expect(c.TELEGRAM_MODE).toBe('polling');
    expect(c.SEARXNG_URL).toBeUndefined();
    expect(c.QDRANT_URL).toBeUndefined();
    expect(c.QDRANT_API_KEY).toBeUndefined();
    expect(c.S3_ENDPOINT).toBeUndefined();
    expect(c.S3_ACCESS_KEY).toBeUndefined();
    expect(c.S3_SECRET_KEY).toBeUndefined();
    expect(c.EMBED_MODEL).toBe('nomic-embed-text');
    expect(c.CHAT_MODEL).toBe('llama3.1:8b');
    expect(c.LOG_LEVEL).toBe('info');
    expect(c.masterKey).toEqual(Buffer.from(HEX_KEY, 'hex'));
    expect(c.internalToken).toBe(TOKEN);
    expect(c.warnings).toEqual([]);
    // The secrets never appear under their variable names in the resolved config.
    expect(c).not.toHaveProperty('ANVIL_MASTER_KEY');
    expect(c).not.toHaveProperty('ANVIL_INTERNAL_TOKEN');
  });

  it('defaults the data directory to ./data', () => {
    expect(envSchema.parse({}).ANVIL_DATA_DIR).toBe('./data');
  });

  it('treats empty-string variables as unset', () => {
    const blank = Object.fromEntries(Object.keys(envSchema.shape).map((k) => [k, '']));
    const c = loadConfig({ ...blank, ANVIL_DATA_DIR: dir });
    expect(c.NODE_ENV).toBe('development');
    expect(c.APP_PORT).toBe(8080);
    expect(c.PUBLIC_URL).toBe('http://localhost:8080');
    expect(c.OLLAMA_URLS).toEqual(['http://127.0.0.1:11434']);
    expect(c.TELEGRAM_MODE).toBe('polling');
    expect(c.TELEGRAM_BOT_TOKEN).toBeUndefined();
    expect(c.S3_ENDPOINT).toBeUndefined();
    expect(c.masterKey).toHaveLength(32);
  });

  it('parses lists and strips trailing slashes from URLs', () => {
    const c = loadConfig(
      env({
        ANVIL_MASTER_KEY: HEX_KEY,
        ANVIL_INTERNAL_TOKEN: TOKEN,
        OLLAMA_URLS: 'http://gpu1:11434/, https://gpu2:11434',
        PUBLIC_URL: 'https://anvil.example.com/',
        APP_PORT: '9000',
        TELEGRAM_MODE: 'webhook',
      }),
    );
    expect(c.OLLAMA_URLS).toEqual(['http://gpu1:11434', 'https://gpu2:11434']);
    expect(c.PUBLIC_URL).toBe('https://anvil.example.com');
    expect(c.APP_PORT).toBe(9000);
    expect(c.TELEGRAM_MODE).toBe('webhook');
  });
});

describe('loadConfig refuses bad values', () => {
  const bad: [string, string][] = [
    ['APP_PORT', 'abc'],
    ['APP_PORT', '70000'],
    ['OLLAMA_URLS', 'ftp://x'],
    ['TELEGRAM_MODE', 'push'],
    ['ANVIL_MASTER_KEY', 'not-a-key'],
    ['ANVIL_MASTER_KEY', 'ab'.repeat(31)],
    ['ANVIL_INTERNAL_TOKEN', 'short'],
    ['PUBLIC_URL', 'localhost:8080'],
    ['OLLAMA_SLOTS', '0'],
    ['LOG_LEVEL', 'loud'],
    ['TELEGRAM_BOT_TOKEN', 'not-a-token'],
    ['NODE_ENV', 'staging'],
  ];
  it.each(bad)('%s=%s is one problem line naming the variable', (variable, value) => {
    const err = configError(env({ [variable]: value }));
    const lines = problemLines(err);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(variable);
    expect(err.problems).toHaveLength(1);
  });

  it('reports several problems at once, one line each', () => {
    const err = configError(
      env({ APP_PORT: 'abc', OLLAMA_URLS: 'ftp://x', TELEGRAM_MODE: 'push', ANVIL_MASTER_KEY: 'nope' }),
    );
    const lines = problemLines(err);
    expect(lines).toHaveLength(4);
    for (const v of ['APP_PORT', 'OLLAMA_URLS', 'TELEGRAM_MODE', 'ANVIL_MASTER_KEY']) {
      expect(lines.filter((l) => l.includes(v))).toHaveLength(1);
    }
  });

  it('requires the master key and the internal token in production', () => {
    const err = configError(env({ NODE_ENV: 'production' }));
    const lines = problemLines(err);
    expect(lines).toHaveLength(2);
    expect(lines.some((l) => l.includes('ANVIL_MASTER_KEY'))).toBe(true);
    expect(lines.some((l) => l.includes('ANVIL_INTERNAL_TOKEN'))).toBe(true);
    // Nothing was generated for a production start.
    expect(() => statSync(path.join(dir, 'master.key'))).toThrow();
  });

  it('reports missing production secrets together with bad values', () => {
    const err = configError(env({ NODE_ENV: 'production', APP_PORT: 'abc' }));
    const lines = problemLines(err);
    expect(lines).toHaveLength(3);
    expect(lines.some((l) => l.includes('APP_PORT'))).toBe(true);
    expect(lines.some((l) => l.includes('ANVIL_MASTER_KEY'))).toBe(true);
    expect(lines.some((l) => l.includes('ANVIL_INTERNAL_TOKEN'))).toBe(true);
  });

  it('accepts production with both secrets set', () => {
    const c = loadConfig(env({ NODE_ENV: 'production', ANVIL_MASTER_KEY: HEX_KEY, ANVIL_INTERNAL_TOKEN: TOKEN }));
    expect(c.NODE_ENV).toBe('production');
    expect(c.warnings).toEqual([]);
  });

  it('refuses a partial S3 configuration', () => {
    const err = configError(env({ S3_ENDPOINT: 'http://minio:9000' }));
    const lines = problemLines(err);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('S3_ACCESS_KEY');
    expect(lines[0]).toContain('S3_SECRET_KEY');

    const noEndpoint = configError(env({ S3_ACCESS_KEY: 'minio', S3_SECRET_KEY: 'minio-secret' }));
    expect(problemLines(noEndpoint)).toHaveLength(1);
    expect(problemLines(noEndpoint)[0]).toContain('S3_ENDPOINT');
  });

  it('accepts a complete S3 configuration', () => {
    const c = loadConfig(
      env({
        ANVIL_MASTER_KEY: HEX_KEY,
        ANVIL_INTERNAL_TOKEN: TOKEN,
        S3_ENDPOINT: 'http://minio:9000/',
        S3_ACCESS_KEY: 'minio',
        S3_SECRET_KEY: 'minio-secret',
        S3_BUCKET: 'anvil',
      }),
    );
    expect(c.S3_ENDPOINT).toBe('http://minio:9000');
    expect(c.S3_BUCKET).toBe('anvil');
  });
});

describe('master key formats', () => {
  const raw = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 3));
  it.each([
    ['hex', raw.toString('hex')],
    ['upper-case hex', raw.toString('hex').toUpperCase()],
    ['base64', raw.toString('base64')],
    ['base64 without padding', raw.toString('base64').replace(/=+$/, '')],
    ['base64url', raw.toString('base64url')],
  ])('accepts a %s key', (_name, key) => {
    const c = loadConfig(env({ ANVIL_MASTER_KEY: key, ANVIL_INTERNAL_TOKEN: TOKEN }));
    expect(c.masterKey.equals(raw)).toBe(true);
  });

  it('refuses a base64 key that is not 32 bytes', () => {
    const err = configError(env({ ANVIL_MASTER_KEY: Buffer.alloc(31, 1).toString('base64') }));
    expect(problemLines(err)[0]).toContain('ANVIL_MASTER_KEY');
  });
});

describe('development secrets', () => {
  it('generates master.key and internal.token (mode 0600) with a warning, then reuses them', () => {
    const first = loadConfig(env());
    expect(first.warnings).toHaveLength(2);
    expect(first.warnings.some((w) => w.includes('ANVIL_MASTER_KEY'))).toBe(true);
    expect(first.warnings.some((w) => w.includes('ANVIL_INTERNAL_TOKEN'))).toBe(true);
    expect(first.masterKey).toHaveLength(32);
    expect(first.internalToken.length).toBeGreaterThanOrEqual(32);

    for (const file of ['master.key', 'internal.token']) {
      const st = statSync(path.join(dir, file));
      expect(st.mode & 0o777).toBe(0o600);
    }
    expect(readFileSync(path.join(dir, 'master.key'), 'utf8').trim()).toBe(first.masterKey.toString('hex'));
    expect(readFileSync(path.join(dir, 'internal.token'), 'utf8').trim()).toBe(first.internalToken);

    const second = loadConfig(env());
    expect(second.warnings).toEqual([]);
    expect(second.masterKey.equals(first.masterKey)).toBe(true);
    expect(second.internalToken).toBe(first.internalToken);
  });

  it('generates only what is missing', () => {
    const c = loadConfig(env({ ANVIL_MASTER_KEY: HEX_KEY }));
    expect(c.warnings).toHaveLength(1);
    expect(c.warnings[0]).toContain('ANVIL_INTERNAL_TOKEN');
    expect(() => statSync(path.join(dir, 'master.key'))).toThrow();
    expect(statSync(path.join(dir, 'internal.token')).isFile()).toBe(true);
  });

  it('refuses a generated key file that is not a key', () => {
    writeFileSync(path.join(dir, 'master.key'), 'garbage\n', { mode: 0o600 });
    const err = configError(env({ ANVIL_INTERNAL_TOKEN: TOKEN }));
    expect(problemLines(err)[0]).toContain('ANVIL_MASTER_KEY');
  });
});

describe('loadConfigOrExit', () => {
  it('exits with 78 and names the variable on stderr', () => {
    const script =
      "import('./core/config/index.ts').then((m) => { m.loadConfigOrExit(); process.stdout.write('loaded'); })";
    const res = spawnSync(path.resolve('node_modules/.bin/tsx'), ['-e', script], {
      cwd: path.resolve('.'),
      env: { PATH: process.env.PATH, ANVIL_DATA_DIR: dir, APP_PORT: 'abc', TELEGRAM_MODE: 'push' },
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(res.status).toBe(78);
    expect(res.stdout).not.toContain('loaded');
    expect(res.stderr).toContain('APP_PORT');
    expect(res.stderr).toContain('TELEGRAM_MODE');
  });
});
