/**
 * A tenant's white-label bot in the database (core/tenancy/bots.ts) and the CLI commands that
 * set, replace and remove it (scripts/cli/bots.ts), with tokens checked by the fake Bot API.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../core/config/index.js';
import { ConflictError, NotFoundError } from '../../../core/errors.js';
import {
  listRunnableBotsAcrossTenants,
  openTenantBotToken,
  removeTenantBot,
  setTenantBot,
  setTenantBotHealth,
} from '../../../core/tenancy/bots.js';
import { createTenant, setTenantStatus } from '../../../core/tenancy/tenants.js';
import { loadDesiredBots } from '../../../gateway/runtime/desired.js';
import { tenantBotRemove, tenantBotSet, tenantBotShow } from '../../../scripts/cli/bots.js';
import type { CliCommand, CliContext } from '../../../scripts/cli/runtime.js';
import { tenantCreate } from '../../../scripts/cli/tenant.js';
import { type FakeTelegram, startFakeTelegram } from '../../fakes/telegram.js';
import { testConfig } from '../../helpers/config.js';
import { type TempDb, tempDb } from '../../helpers/temp-db.js';

let telegram: FakeTelegram;
let t: TempDb;
let config: Config;
let tenantId: string;
let otherTenantId: string;

const count = (table: string) => (t.db.sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
const verified = (b: { id: number; username: string; token: string }) => ({
  token: b.token,
  telegramBotId: b.id,
  username: b.username,
});

/** Runs a CLI command in-process with `--json` and returns what it printed as JSON. */
async function cli(cmd: CliCommand, values: Record<string, string>): Promise<Record<string, unknown>> {
  const ctx: CliContext = {
    db: () => t.db,
    config: () => config,
    sealer: () => t.sealer,
    json: true,
    out: () => undefined,
    readStdin: async () => '',
  };
  return (await cmd.run(ctx, values, [])) as Record<string, unknown>;
}

beforeAll(async () => {
  telegram = await startFakeTelegram();
});

afterAll(async () => {
  await telegram?.close();
});

beforeEach(async () => {
  t = tempDb();
  config = testConfig(t.dir, { TELEGRAM_API_ROOT: telegram.apiRoot });
  tenantId = (await createTenant(t.db, t.sealer, { name: 'ABC Steel', slug: 'abc-steel' }, { actor: 'test' })).id;
  otherTenantId = (await createTenant(t.db, t.sealer, { name: 'Delta', slug: 'delta' }, { actor: 'test' })).id;
});

afterEach(async () => {
  await t.cleanup();
});

describe("a tenant's own bot", () => {
  it('is added with its token sealed under its own row', async () => {
    const bot = telegram.addBot({ username: 'AbcSteelBot' });
    const { bot: view, change } = await setTenantBot(t.db, t.sealer, tenantId, verified(bot), { actor: 'test' });
    expect(change).toBe('added');
    expect(view).toMatchObject({
      tenant_id: tenantId,
      telegram_bot_id: bot.id,
      username: 'AbcSteelBot',
      status: 'active',
    });
    expect(view).not.toHaveProperty('webhook_secret');
    expect(await openTenantBotToken(t.db, t.sealer, tenantId, view.id)).toBe(bot.token);
    // The tenant is part of the lookup: another tenant cannot open it.
    await expect(openTenantBotToken(t.db, t.sealer, otherTenantId, view.id)).rejects.toBeInstanceOf(NotFoundError);
    const sealed = t.db.sqlite.prepare('SELECT sealed FROM sealed_secrets').get() as { sealed: string };
    expect(sealed.sealed).not.toContain(bot.token.split(':')[1]);
  });

  it('a new token for the same bot keeps the row and makes an unhealthy bot active again', async () => {
    const bot = telegram.addBot({ username: 'AbcSteelBot' });
    const first = await setTenantBot(t.db, t.sealer, tenantId, verified(bot), { actor: 'test' });
    setTenantBotHealth(t.db, tenantId, first.bot.id, { status: 'unhealthy', reason: 'Telegram refused the token' });
    const [before] = listRunnableBotsAcrossTenants(t.db);
    const newToken = `${bot.id}:NEWTOKEN${'x'.repeat(27)}`;
    const again = await setTenantBot(
      t.db,
      t.sealer,
      tenantId,
      { ...verified(bot), token: newToken },
      { actor: 'test' },
    );
    expect(again.change).toBe('token_replaced');
    expect(again.bot).toMatchObject({ id: first.bot.id, status: 'active', status_reason: null });
    expect(await openTenantBotToken(t.db, t.sealer, tenantId, first.bot.id)).toBe(newToken);
    // The gateway sees a new token version and restarts the bot.
    const [after] = listRunnableBotsAcrossTenants(t.db);
    expect(after?.token_version).not.toBe(before?.token_version);
  });

  it('another bot replaces the old one, whose row and token are deleted', async () => {
    const oldBot = telegram.addBot({ username: 'AbcOldBot' });
    const newBot = telegram.addBot({ username: 'AbcNewBot' });
    const first = await setTenantBot(t.db, t.sealer, tenantId, verified(oldBot), { actor: 'test' });
    const second = await setTenantBot(t.db, t.sealer, tenantId, verified(newBot), { actor: 'test' });
    expect(second.change).toBe('bot_replaced');
    expect(second.previous?.username).toBe('AbcOldBot');
    expect(second.bot.id).not.toBe(first.bot.id);
    expect(count('tenant_bots')).toBe(1);
    expect(count('sealed_secrets')).toBe(1);
  });

  it("another tenant's bot is refused and nothing is written", async () => {
    const bot = telegram.addBot({ username: 'DeltaBot' });
    await setTenantBot(t.db, t.sealer, otherTenantId, verified(bot), { actor: 'test' });
    const audits = count('audit_log');
    await expect(setTenantBot(t.db, t.sealer, tenantId, verified(bot), { actor: 'test' })).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect([count('tenant_bots'), count('sealed_secrets'), count('audit_log')]).toEqual([1, 1, audits]);
  });

  it('the gateway runs only bots of active tenants that are not disabled', async () => {
    const a = await setTenantBot(t.db, t.sealer, tenantId, verified(telegram.addBot({ username: 'ABot' })), {
      actor: 'test',
    });
    await setTenantBot(t.db, t.sealer, otherTenantId, verified(telegram.addBot({ username: 'DBot' })), {
      actor: 'test',
    });
    await setTenantStatus(t.db, otherTenantId, 'suspended', { actor: 'test' });
    setTenantBotHealth(t.db, tenantId, a.bot.id, { status: 'unhealthy', reason: 'x' });
    expect(listRunnableBotsAcrossTenants(t.db).map((b) => b.username)).toEqual(['ABot']); // unhealthy is retried
    t.db.sqlite.prepare("UPDATE tenant_bots SET status = 'disabled' WHERE id = ?").run(a.bot.id);
    expect(listRunnableBotsAcrossTenants(t.db)).toEqual([]);
    // The gateway's health reports never undo an operator's "disabled".
    expect(setTenantBotHealth(t.db, tenantId, a.bot.id, { status: 'active' })).toBe(false);
  });

  it("is not run when it holds the platform bot's token: the platform bot keeps it", async () => {
    const platform = telegram.addBot({ username: 'AnvilPlatformBot' });
    const other = telegram.addBot({ username: 'DeltaOwnBot' });
    // Stored before TELEGRAM_BOT_TOKEN named the same bot (the CLI refuses it now).
    await setTenantBot(t.db, t.sealer, tenantId, verified(platform), { actor: 'test' });
    await setTenantBot(t.db, t.sealer, otherTenantId, verified(other), { actor: 'test' });
    const desired = loadDesiredBots(t.db, t.sealer, { ...config, TELEGRAM_BOT_TOKEN: platform.token });
    expect(desired.map((b) => [b.label, b.scope.kind])).toEqual([
      ['platform bot', 'platform'],
      ['@DeltaOwnBot', 'tenant'],
    ]);
  });

  it('is removed with its token; removing it twice says there is none', async () => {
    await setTenantBot(t.db, t.sealer, tenantId, verified(telegram.addBot({ username: 'AbcBot' })), { actor: 'test' });
    const removed = await removeTenantBot(t.db, tenantId, { actor: 'test' });
    expect(removed.username).toBe('AbcBot');
    expect([count('tenant_bots'), count('sealed_secrets')]).toEqual([0, 0]);
    await expect(removeTenantBot(t.db, tenantId, { actor: 'test' })).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('anvil tenant bot set / show / remove', () => {
  it('checks the token with getMe, stores the bot, shows it and removes it', async () => {
    const bot = telegram.addBot({ username: 'AbcCliBot' });
    const set = await cli(tenantBotSet, { tenant: 'abc-steel', 'telegram-token': bot.token });
    expect(set).toMatchObject({
      tenant: 'abc-steel',
      change: 'added',
      bot: { username: 'AbcCliBot', status: 'active' },
    });
    expect(JSON.stringify(set)).not.toContain(bot.token);
    expect(await cli(tenantBotShow, { tenant: 'abc-steel' })).toMatchObject({ bot: { username: 'AbcCliBot' } });
    expect(await cli(tenantBotRemove, { tenant: 'abc-steel' })).toMatchObject({ removed: { username: 'AbcCliBot' } });
    expect(await cli(tenantBotShow, { tenant: 'abc-steel' })).toEqual({ tenant: 'abc-steel', bot: null });
  });

  it("refuses the platform bot's own token, even regenerated, before asking Telegram, and writes nothing", async () => {
    const platform = telegram.addBot({ username: 'AnvilPlatformBot' });
    const regenerated = `${platform.token.split(':')[0]}:${'B'.repeat(35)}`;
    const saved = config;
    config = { ...config, TELEGRAM_BOT_TOKEN: platform.token };
    try {
      const calls = telegram.calls.length;
      for (const token of [platform.token, regenerated]) {
        await expect(cli(tenantBotSet, { tenant: 'abc-steel', 'telegram-token': token })).rejects.toMatchObject({
          code: 'platform_bot_token',
          message: expect.stringContaining("that is the platform bot's token"),
        });
      }
      expect(telegram.calls.length).toBe(calls);
      expect(count('tenant_bots')).toBe(0);
    } finally {
      config = saved;
    }
  });

  it('tenant create --telegram-token creates the tenant with its bot; a refused token creates neither', async () => {
    const bot = telegram.addBot({ username: 'GammaSteelBot' });
    const created = (await cli(tenantCreate, {
      name: 'Gamma Steel',
      slug: 'gamma-steel',
      'telegram-token': bot.token,
    })) as unknown as { tenant: { id: string }; bot: { username: string } };
    expect(created.bot.username).toBe('GammaSteelBot');
    expect(await cli(tenantBotShow, { tenant: 'gamma-steel' })).toMatchObject({ bot: { username: 'GammaSteelBot' } });
    const revoked = telegram.addBot({ username: 'RevokedToo' });
    telegram.removeBot(revoked.token);
    const tenants = count('tenants');
    await expect(
      cli(tenantCreate, { name: 'Delta', slug: 'delta-x', 'telegram-token': revoked.token }),
    ).rejects.toMatchObject({ code: 'invalid_bot_token' });
    expect(count('tenants')).toBe(tenants);
  });

  it('refuses a token Telegram rejects and writes nothing', async () => {
    const bot = telegram.addBot({ username: 'RevokedBot' });
    telegram.removeBot(bot.token);
    await expect(cli(tenantBotSet, { tenant: 'abc-steel', 'telegram-token': bot.token })).rejects.toMatchObject({
      code: 'invalid_bot_token',
    });
    expect(count('tenant_bots')).toBe(0);
  });
});
