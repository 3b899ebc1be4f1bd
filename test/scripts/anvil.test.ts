import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../core/crypto/password.js';
import { databasePath, openDb } from '../../core/db/index.js';
import { runCli } from '../../scripts/anvil.js';
import { TEST_INTERNAL_TOKEN } from '../helpers/config.js';
import { TEST_MASTER_KEY } from '../helpers/temp-db.js';

let dir: string;
let env: NodeJS.ProcessEnv;

/** Runs the CLI in-process and captures what it printed. */
async function cli(args: string, stdin = '') {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args.split(' ').filter(Boolean), {
    env,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    stdin: async () => stdin,
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** Counts rows of a table straight from the SQLite file. */
function count(table: string): number {
  const db = openDb(databasePath(dir));
  try {
    return (db.sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    void db.close();
  }
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'anvil-cli-'));
  env = {
    ANVIL_DATA_DIR: dir,
    ANVIL_MASTER_KEY: TEST_MASTER_KEY.toString('hex'),
    ANVIL_INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
  };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('anvil tenant', () => {
  it('creates a tenant, lists and shows it, as text and as JSON', async () => {
    const created = await cli('tenant create --name ABC --slug abc-steel --plan professional --json');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout).tenant).toMatchObject({
      slug: 'abc-steel',
      plan_id: 'professional',
      status: 'active',
    });
    const list = await cli('tenant list');
    expect(list.stdout).toMatch(/abc-steel\s+ABC\s+professional\s+active\s+0\s+0/);
    const show = JSON.parse((await cli('tenant show abc-steel --json')).stdout);
    expect(show.limits).toMatchObject({ maxUsers: 20, messagesPerDay: 500 });
  });

  it('refuses a duplicate slug with a clear error and writes nothing', async () => {
    await cli('tenant create --name ABC --slug abc-steel');
    const again = await cli('tenant create --name Other --slug abc-steel');
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('error: a tenant with slug "abc-steel" already exists');
    expect(count('tenants')).toBe(1);
  });

  it('refuses unknown flags, missing flags and unknown plans before writing anything', async () => {
    const unknown = await cli('tenant create --name X --slug x1 --colour red');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--colour'/);
    expect(unknown.stderr).toMatch(/usage: npm run -s anvil -- tenant create/);
    const missing = await cli('tenant create --name X');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--slug is required/);
    const plan = await cli('tenant create --name X --slug x1 --plan gold --json');
    expect(plan.code).toBe(1);
    expect(JSON.parse(plan.stderr)).toEqual({
      error: { code: 'unknown_plan', message: 'unknown plan "gold"; plans are: enterprise, professional, starter' },
    });
    expect(count('tenants')).toBe(0);
  });

  it('suspends and resumes; an unknown slug is an error', async () => {
    await cli('tenant create --name ABC --slug abc-steel');
    expect((await cli('tenant suspend abc-steel --reason unpaid')).stdout).toBe('ABC is now suspended.');
    expect(JSON.parse((await cli('tenant show abc-steel --json')).stdout).tenant).toMatchObject({
      status: 'suspended',
      status_reason: 'unpaid',
    });
    expect((await cli('tenant resume abc-steel')).code).toBe(0);
    const missing = await cli('tenant show nobody');
    expect(missing).toMatchObject({ code: 1, stderr: 'error: no tenant with slug "nobody"' });
  });
});

describe('anvil invite, apikey, usage, plan, admin, migrate', () => {
  it('creates an invite with a code; a bad --ttl or --role is refused', async () => {
    await cli('tenant create --name ABC --slug abc-steel');
    const inv = JSON.parse((await cli('invite create --tenant abc-steel --role admin --ttl 2h --json')).stdout);
    expect(inv.code).toMatch(/^[a-z2-7]{10}$/);
    expect(inv.role).toBe('admin');
    expect(Date.parse(inv.expires_at) - Date.now()).toBeGreaterThan(7_100_000);
    expect((await cli('invite create --tenant abc-steel --ttl forever')).stderr).toMatch(/not a duration/);
    expect((await cli('invite create --tenant abc-steel --role boss')).code).toBe(2);
    expect(count('invites')).toBe(1);
  });

  it('creates, lists and revokes API keys without ever printing a secret again', async () => {
    await cli('tenant create --name ABC --slug abc-steel');
    const created = JSON.parse(
      (await cli('apikey create --tenant abc-steel --name ci --models llama3.1:8b --json')).stdout,
    );
    expect(created.key).toMatch(/^ak_[a-z2-7]{12}_[a-z2-7]{32}$/);
    const listed = (await cli('apikey list --tenant abc-steel --json')).stdout;
    expect(listed).not.toContain(created.key.split('_')[2]);
    expect(listed).not.toContain('secret_hash');
    expect(JSON.parse(listed)[0]).toMatchObject({ id: created.id, allowed_models: ['llama3.1:8b'], revoked_at: null });
    expect((await cli(`apikey revoke ${created.id}`)).code).toBe(0);
    expect(JSON.parse((await cli('apikey list --tenant abc-steel --json')).stdout)[0].revoked_at).not.toBeNull();
    expect((await cli('apikey revoke nosuchkey')).code).toBe(1);
    const limited = JSON.parse(
      (await cli('apikey create --tenant abc-steel --name batch --rpm 10 --tpm 5000 --json')).stdout,
    );
    const db = openDb(databasePath(dir));
    const row = db.sqlite
      .prepare('SELECT requests_per_minute, tokens_per_minute FROM api_keys WHERE id = ?')
      .get(limited.id);
    await db.close();
    expect(row).toEqual({ requests_per_minute: 10, tokens_per_minute: 5000 });
    expect((await cli('apikey create --tenant abc-steel --name bad --rpm 0')).code).toBe(2);
  });

  it('reports usage and refuses bad dates', async () => {
    await cli('tenant create --name ABC --slug abc-steel');
    const report = JSON.parse((await cli('usage --tenant abc-steel --from 2026-01-01 --to 2026-12-31 --json')).stdout);
    expect(report.totals).toEqual({ requests: 0, prompt_tokens: 0, completion_tokens: 0, cost_micros: 0 });
    expect((await cli('usage --tenant abc-steel --from 2026-13-01')).code).toBe(2);
    expect((await cli('usage --tenant abc-steel --from 2026-02-01 --to 2026-01-01')).stderr).toMatch(
      /--from is after --to/,
    );
  });

  it('lists the three default plans', async () => {
    const plans = JSON.parse((await cli('plan list --json')).stdout) as { id: string }[];
    expect(plans.map((p) => p.id)).toEqual(['starter', 'professional', 'enterprise']);
  });

  it('creates an operator with a generated password, or one from stdin; refuses weak ones', async () => {
    const made = JSON.parse((await cli('admin create --email Ops@Example.com --json')).stdout);
    expect(made.operator).toMatchObject({ email: 'ops@example.com', role: 'owner' });
    const db = openDb(databasePath(dir));
    const { password_hash } = db.sqlite.prepare('SELECT password_hash FROM operators').get() as {
      password_hash: string;
    };
    await db.close();
    expect(await verifyPassword(password_hash, made.password)).toBe(true);
    const weak = await cli('admin create --email b@example.com --password-stdin --role viewer', 'short\n');
    expect(weak.code).toBe(1);
    expect(count('operators')).toBe(1);
    const dup = await cli('admin create --email OPS@example.com --password-stdin', 'a-long-enough-password\n');
    expect(dup.code).toBe(1);
    expect(count('operators')).toBe(1);
  });

  it('migrate reports an up-to-date database', async () => {
    expect(JSON.parse((await cli('migrate --json')).stdout)).toEqual({ applied: [] });
  });

  it('an unknown command exits 2 with the command list', async () => {
    const res = await cli('tenant explode');
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/unknown command "tenant explode"/);
    expect(res.stderr).toMatch(/invite create --tenant SLUG/);
  });
});

describe('the npm entry point', () => {
  it('runs as `npm run -s anvil` and exits 2 on an unknown flag', async () => {
    const run = promisify(execFile);
    const ok = await run('npm', ['run', '-s', 'anvil', '--', 'plan', 'list'], { env: { ...process.env, ...env } });
    expect(ok.stdout).toMatch(/^PLAN\s+USERS/);
    const bad = await run('npm', ['run', '-s', 'anvil', '--', 'plan', 'list', '--bogus'], {
      env: { ...process.env, ...env },
    }).catch((e) => e);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option '--bogus'/);
  }, 60_000);
});

describe('anvil price', () => {
  it('sets, lists and removes a plan price; refuses bad numbers and unknown plans', async () => {
    const set = await cli('price set --plan starter --model llama3.1:8b --input 150000 --output 600000 --json');
    expect(set.code).toBe(0);
    expect(JSON.parse((await cli('price list --plan starter --json')).stdout)).toMatchObject([
      { model: 'llama3.1:8b', inputMicrosPerMtok: 150_000, outputMicrosPerMtok: 600_000 },
    ]);
    expect((await cli('price set --plan starter --model x --input 1.5 --output 2')).code).toBe(2);
    expect((await cli('price set --plan gold --model x --input 1 --output 2')).stderr).toBe('error: no plan "gold"');
    expect(JSON.parse((await cli('price remove --plan starter --model llama3.1:8b --json')).stdout)).toEqual({
      removed: true,
    });
    expect(JSON.parse((await cli('price list --plan starter --json')).stdout)).toEqual([]);
  });
});
