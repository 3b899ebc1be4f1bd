/**
 * The walking skeleton end to end: fake Telegram and fake Ollama around the real model
 * proxy, the real gateway and a real SQLite file. The tenant and its invite are made with
 * the CLI, as an operator would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config/index.js';
import { type Db, databasePath, openDb } from '../../core/db/index.js';
import type { UsageLedgerTable } from '../../core/db/schema.js';
import type { Listening } from '../../core/http/serve.js';
import { createLogger } from '../../core/logger.js';
import { startGateway } from '../../gateway/main.js';
import { startModelProxy } from '../../model-proxy/main.js';
import { runCli } from '../../scripts/anvil.js';
import { type FakeOllama, startFakeOllama } from '../fakes/ollama.js';
import { type FakeTelegram, startFakeTelegram } from '../fakes/telegram.js';
import { TEST_INTERNAL_TOKEN, testConfig } from '../helpers/config.js';
import { TEST_MASTER_KEY, type TempDb, tempDb } from '../helpers/temp-db.js';

const ANSWER = 'S355 steel has a minimum yield strength of 355 MPa.';
const ANN = { id: 5001, first_name: 'Ann', username: 'ann_welds' };
const STRANGER = { id: 666, first_name: 'Mallory' };

let t: TempDb;
let ollama: FakeOllama;
let telegram: FakeTelegram;
let token: string;
let proxy: Listening;
let gateway: Listening;
let proxyDb: Db;
let gatewayDb: Db;
let env: NodeJS.ProcessEnv;

/** Runs `anvil` in-process against the test's data dir and returns its JSON output. */
async function anvil(args: string[]): Promise<Record<string, unknown>> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli([...args, '--json'], {
    env,
    stdout: (s) => out.push(s),
    stderr: (s) => err.push(s),
    stdin: async () => '',
  });
  if (code !== 0) throw new Error(`anvil ${args.join(' ')} exited ${code}: ${err.join('\n')}`);
  return JSON.parse(out.join('\n'));
}

/** The text of every message the bot sent to a chat. */
const said = (chatId: number) => telegram.sentTo(token, chatId).map((m) => m.text);
const ledger = () => t.db.sqlite.prepare('SELECT * FROM usage_ledger ORDER BY started_at').all() as UsageLedgerTable[];

/** Sends a private text as a user and waits for the bot's next sendMessage to them. */
async function ask(from: { id: number; first_name: string }, text: string): Promise<string> {
  const before = telegram.calls.length;
  telegram.sendText(token, from, text);
  const call = await telegram.waitForCall(
    (c) => c.method === 'sendMessage' && c.params.chat_id === from.id && telegram.calls.indexOf(c) >= before,
    10_000,
  );
  return call.params.text as string;
}

beforeAll(async () => {
  t = tempDb();
  ollama = await startFakeOllama({ reply: () => ANSWER });
  telegram = await startFakeTelegram();
  token = telegram.addBot({ username: 'AnvilPlatformBot' }).token;
  env = {
    ANVIL_DATA_DIR: t.dir,
    ANVIL_MASTER_KEY: TEST_MASTER_KEY.toString('hex'),
    ANVIL_INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
    TELEGRAM_BOT_TOKEN: token,
    TELEGRAM_API_ROOT: telegram.apiRoot,
  };
  const base: Config = testConfig(t.dir, {
    OLLAMA_URLS: ollama.url,
    TELEGRAM_BOT_TOKEN: token,
    TELEGRAM_API_ROOT: telegram.apiRoot,
  });
  // Each service opens the SQLite file on its own, as the three containers do.
  proxyDb = openDb(databasePath(t.dir));
  gatewayDb = openDb(databasePath(t.dir));
  const quiet = createLogger('test', 'silent');
  proxy = await startModelProxy(base, quiet, proxyDb);
  gateway = await startGateway({ ...base, MODEL_PROXY_URL: `http://127.0.0.1:${proxy.port}` }, quiet, gatewayDb);
  await telegram.waitForCall((c) => c.method === 'getUpdates' && c.token === token, 10_000);
});

afterAll(async () => {
  await gateway?.close();
  await proxy?.close();
  await telegram?.close();
  await ollama?.close();
  await proxyDb?.close();
  await gatewayDb?.close();
  await t?.cleanup();
});

describe('a Telegram message, end to end', () => {
  let code: string;
  let tenantId: string;

  it('the operator onboards a tenant and invites a user with the CLI; the link names the platform bot', async () => {
    const created = (await anvil(['tenant', 'create', '--name', 'ABC Steel', '--slug', 'abc-steel'])) as {
      tenant: { id: string };
    };
    tenantId = created.tenant.id;
    const invite = (await anvil(['invite', 'create', '--tenant', 'abc-steel'])) as { code: string; link: string };
    code = invite.code;
    expect(invite.link).toBe(`https://t.me/AnvilPlatformBot?start=${code}`);
  });

  it('an unknown sender gets the onboarding reply and no model call is made', async () => {
    const calls = ollama.calls().length;
    const reply = await ask(STRANGER, 'hello, who are you?');
    expect(reply).toMatch(/invited teams only/);
    expect(ollama.calls().length).toBe(calls);
    expect(ledger()).toHaveLength(0);
  });

  it('/start <code> redeems the invite and links the user', async () => {
    const reply = await ask(ANN, `/start ${code}`);
    expect(reply).toBe("Welcome, Ann! You are now connected to ABC Steel's assistant. Just write your question.");
    const link = t.db.sqlite.prepare('SELECT tenant_id FROM telegram_links WHERE telegram_user_id = ?').get(ANN.id);
    expect(link).toEqual({ tenant_id: tenantId });
  });

  it('a reused invite is refused and links nobody', async () => {
    const reply = await ask(STRANGER, `/start ${code}`);
    expect(reply).toMatch(/already been used/);
    expect(
      t.db.sqlite.prepare('SELECT count(*) AS n FROM telegram_links WHERE telegram_user_id = ?').get(STRANGER.id),
    ).toEqual({ n: 0 });
  });

  it("a linked user's question is answered with the model's text and metered exactly to the tenant", async () => {
    const reply = await ask(ANN, 'What is the yield strength of S355?');
    expect(reply).toBe(ANSWER);
    const seen = ollama.calls().at(-1)!;
    const rows = ledger();
    expect(rows).toHaveLength(1);
    const userId = (
      t.db.sqlite.prepare('SELECT user_id FROM telegram_links WHERE telegram_user_id = ?').get(ANN.id) as {
        user_id: string;
      }
    ).user_id;
    expect(rows[0]).toMatchObject({
      tenant_id: tenantId,
      user_id: userId,
      model: 'llama3.1:8b',
      status: 'ok',
      exact: 1,
      prompt_tokens: seen.promptEvalCount,
      completion_tokens: seen.evalCount,
    });
    // The question and the answer are stored in the user's conversation (committed right
    // after the answer is sent).
    const stored = () =>
      t.db.sqlite.prepare('SELECT role, content FROM messages WHERE tenant_id = ? ORDER BY created_at').all(tenantId);
    for (let i = 0; i < 100 && stored().length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    const messages = stored();
    expect(messages).toEqual([
      { role: 'user', content: 'What is the yield strength of S355?' },
      { role: 'assistant', content: ANSWER },
    ]);
    // The CLI's usage report reads the same numbers from the rollup.
    const usage = (await anvil(['usage', '--tenant', 'abc-steel'])) as {
      totals: { prompt_tokens: number; completion_tokens: number };
    };
    expect(usage.totals).toMatchObject({ prompt_tokens: seen.promptEvalCount, completion_tokens: seen.evalCount });
  });

  it('the second question carries the first exchange as history', async () => {
    await ask(ANN, 'And S235?');
    const body = ollama.calls().at(-1)!.body as {
      messages: { role: string; content: string }[];
    };
    expect(body.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(body.messages[0]?.content).toMatch(/assistant of ABC Steel/);
  });

  it('when Ollama is unreachable the user is told to try later and nothing is billed', async () => {
    ollama.setDown(true);
    const before = ledger().length;
    try {
      const reply = await ask(ANN, 'Are you there?');
      expect(reply).toBe('The assistant is busy right now. Please try again in a minute.');
      // The proxy either refused before any backend (no row) or recorded the failure with no tokens.
      for (const row of ledger().slice(before))
        expect(row).toMatchObject({ status: 'error', prompt_tokens: 0, completion_tokens: 0 });
    } finally {
      ollama.setDown(false);
    }
  });

  it('a suspended tenant gets a clear sentence and no model call', async () => {
    await anvil(['tenant', 'suspend', 'abc-steel']);
    const calls = ollama.calls().length;
    expect(await ask(ANN, 'Still there?')).toBe(
      "ABC Steel's assistant is paused right now. Please contact your admin.",
    );
    expect(ollama.calls().length).toBe(calls);
    await anvil(['tenant', 'resume', 'abc-steel']);
    expect(said(ANN.id).at(-1)).toMatch(/paused/);
  });
});
