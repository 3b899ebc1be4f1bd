/**
 * Many bots in one gateway, by long polling: the platform bot and white-label bots with
 * their scope, cached botInfo, Telegram's 429, a revoked token, and tenants that come and go
 * while the gateway runs (reconciled from the database, no restart).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTenantStatus } from '../../../core/tenancy/tenants.js';
import { longPollSeconds } from '../../../gateway/runtime/drivers.js';
import { tenantBotRemove, tenantBotSet } from '../../../scripts/cli/bots.js';
import type { CliCommand } from '../../../scripts/cli/runtime.js';
import { ANSWER, type Harness, type Person, startHarness, until } from './harness.js';

const ANN: Person = { id: 7001, first_name: 'Ann' }; // ABC Steel
const BOB: Person = { id: 7002, first_name: 'Bob' }; // Delta Build
const DAVE: Person = { id: 7004, first_name: 'Dave' }; // Echo Works, created later
const FAY: Person = { id: 7006, first_name: 'Fay' }; // Fox Tools, gets a bot with the CLI

let h: Harness;
let abc: { tenantId: string; token?: string; botId?: string };
let delta: { tenantId: string; token?: string; botId?: string };

/** The manager's phase of a bot (undefined: not managed, i.e. stopped). */
const phase = (key: string) => h.gateway.bots.status().find((b) => b.key === key)?.phase;
const running = (...keys: string[]) => keys.every((k) => phase(k) === 'running');
/** Runs an `anvil` command in-process against the harness's database. */
const cli = (cmd: CliCommand, values: Record<string, string>) =>
  cmd.run(
    {
      db: () => h.t.db,
      config: () => h.config,
      sealer: () => h.t.sealer,
      json: true,
      out: () => undefined,
      readStdin: async () => '',
    },
    values,
    [],
  ) as Promise<{ bot: { id: string } }>;
const botRow = (botId: string) =>
  h.t.db.sqlite.prepare('SELECT status, status_reason FROM tenant_bots WHERE id = ?').get(botId) as {
    status: string;
    status_reason: string | null;
  };

beforeAll(async () => {
  h = await startHarness('polling');
  abc = await h.addTenant('abc-steel');
  delta = await h.addTenant('delta-build');
  await h.link(abc.tenantId, ANN);
  await h.link(delta.tenantId, BOB);
  await h.startGateway();
  await until(() => running('platform', abc.botId!, delta.botId!), 8_000, 'three bots');
});

afterAll(async () => {
  await h?.close();
});

describe('bots of many tenants in one gateway', () => {
  it("a white-label bot answers its own tenant's users and refuses another tenant's", async () => {
    expect(await h.ask(abc.token!, ANN, 'Which steel?')).toBe(ANSWER);
    const calls = h.ollama.calls().length;
    // Bob is a linked user, but of Delta Build: ABC Steel's bot treats him as a stranger.
    const refusal = await h.ask(abc.token!, BOB, 'Which steel?');
    expect(refusal).not.toBe(ANSWER);
    expect(refusal).toMatch(/invite/i);
    expect(h.ollama.calls().length).toBe(calls);
    // The platform bot serves every tenant, routing by the sender's link.
    expect(await h.ask(h.platformToken, BOB, 'Which steel?')).toBe(ANSWER);
    const ledger = h.t.db.sqlite.prepare('SELECT tenant_id FROM usage_ledger ORDER BY started_at').all();
    expect(ledger).toEqual([{ tenant_id: abc.tenantId }, { tenant_id: delta.tenantId }]);
  });

  it("caches each bot's getMe: a restart starts every bot without calling getMe", async () => {
    const cached = h.t.db.sqlite.prepare('SELECT telegram_bot_id, tenant_id FROM telegram_bot_info').all();
    expect(cached).toHaveLength(3);
    await h.stopGateway();
    const before = h.telegram.calls.length;
    await h.startGateway();
    await until(() => running('platform', abc.botId!, delta.botId!), 8_000, 'restart');
    expect(h.telegram.calls.slice(before).filter((c) => c.method === 'getMe')).toEqual([]);
    expect(h.gateway.bots.running('platform')?.botInfo.username).toBe('AnvilPlatformBot');
    expect(await h.ask(abc.token!, ANN, 'Still there?')).toBe(ANSWER);
  });

  it('long-polls each bot with its own timeout between 25 and 35 s, so bots started together do not expire together', async () => {
    const timeouts = h.telegram.calls.filter((c) => c.method === 'getUpdates').map((c) => Number(c.params.timeout));
    expect(timeouts.length).toBeGreaterThanOrEqual(3);
    for (const t of timeouts) expect(t).toBeGreaterThanOrEqual(25);
    for (const t of timeouts) expect(t).toBeLessThanOrEqual(35);
    const drawn = new Set(Array.from({ length: 1_000 }, longPollSeconds));
    expect([...drawn].sort((a, b) => a - b)).toEqual([25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35]);
  });

  it("honours Telegram's 429: the answer still arrives, after retry_after", async () => {
    h.telegram.failNext('sendMessage', 1, {
      error_code: 429,
      description: 'Too Many Requests: retry after 1',
      retry_after: 1,
    });
    const before = h.telegram.calls.length;
    expect(await h.ask(abc.token!, ANN, 'Busy day?')).toBe(ANSWER);
    const tries = h.telegram.calls
      .slice(before)
      .filter((c) => c.method === 'sendMessage' && c.params.chat_id === ANN.id);
    expect(tries.map((c) => c.response?.ok)).toEqual([false, true]);
    expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(1_000);
  });

  it('a revoked token marks that bot unhealthy; the platform bot and other bots keep answering', async () => {
    h.telegram.removeBot(abc.token!);
    await until(() => botRow(abc.botId!).status === 'unhealthy', 5_000, 'unhealthy');
    expect(botRow(abc.botId!).status_reason).toMatch(/Telegram refused the token: Unauthorized/);
    await until(() => phase(abc.botId!) === 'retrying', 5_000, 'waiting to retry'); // between tries
    expect(await h.ask(delta.token!, BOB, 'Anyone?')).toBe(ANSWER);
    expect(await h.ask(h.platformToken, ANN, 'Anyone?')).toBe(ANSWER);
    // Retried with backoff: still refused, still unhealthy, and it never stopped the others.
    const failures = () => h.gateway.bots.status().find((b) => b.key === abc.botId)?.failures ?? 0;
    await until(() => failures() >= 2, 5_000, 'a second try');
    expect(botRow(abc.botId!).status).toBe('unhealthy');
    expect(running('platform', delta.botId!)).toBe(true);
  });

  it('a bot whose token works again recovers at its next try', async () => {
    // @BotFather restores the token (the fake accepts it again).
    h.telegram.addBot({ id: Number(abc.token!.split(':')[0]), username: 'abc_steel_bot', token: abc.token! });
    await until(() => botRow(abc.botId!).status === 'active', 8_000, 'recovery');
    expect(botRow(abc.botId!).status_reason).toBeNull();
    expect(await h.ask(abc.token!, ANN, 'Back?')).toBe(ANSWER);
  });

  it('a tenant created, suspended and resumed while the gateway runs gets its bot started and stopped', async () => {
    const echo = await h.addTenant('echo-works');
    await h.link(echo.tenantId, DAVE);
    await until(() => running(echo.botId!), 3_000, 'the new bot to start');
    expect(await h.ask(echo.token!, DAVE, 'Hello?')).toBe(ANSWER);

    await setTenantStatus(h.t.db, echo.tenantId, 'suspended', { actor: 'test' });
    await until(() => phase(echo.botId!) === undefined, 3_000, 'the bot to stop');
    // While suspended nobody takes the bot's updates; Telegram keeps them.
    h.telegram.sendText(echo.token!, DAVE, 'Are you paused?');
    await new Promise((r) => setTimeout(r, 600));
    expect(h.sends(echo.token!, DAVE.id)).toHaveLength(1);

    await setTenantStatus(h.t.db, echo.tenantId, 'active', { actor: 'test' });
    // Resumed: the bot starts again and answers what was sent meanwhile.
    await h.telegram.waitForCall(
      (c) =>
        c.token === echo.token &&
        c.method === 'sendMessage' &&
        c.params.chat_id === DAVE.id &&
        c.params.text === ANSWER &&
        h.sends(echo.token!, DAVE.id).length === 2,
      5_000,
    );
    expect(h.sends(echo.token!, DAVE.id)).toHaveLength(2);
    // The other bots were never restarted by any of this.
    expect(h.gateway.bots.status().every((b) => b.phase === 'running')).toBe(true);
  });

  it('a bot set with `anvil tenant bot set` starts, and stops again after `anvil tenant bot remove`', async () => {
    const fox = await h.addTenant('fox-tools', { bot: false });
    await h.link(fox.tenantId, FAY);
    const bot = h.telegram.addBot({ username: 'FoxToolsBot' });
    const { bot: row } = await cli(tenantBotSet, { tenant: 'fox-tools', 'telegram-token': bot.token });
    await until(() => running(row.id), 3_000, 'the bot to start');
    expect(await h.ask(bot.token, FAY, 'Hi?')).toBe(ANSWER);
    await cli(tenantBotRemove, { tenant: 'fox-tools' });
    await until(() => phase(row.id) === undefined, 3_000, 'the bot to stop');
    // Fay still reaches her tenant through the platform bot.
    expect(await h.ask(h.platformToken, FAY, 'And now?')).toBe(ANSWER);
  });
});
