/**
 * Who gets in: unknown senders, invites made in Telegram and redeemed by deep link, a
 * white-label bot refusing another tenant's code, pairing requests approved or denied by
 * admins, plan max users, and suspended users and tenants.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../../core/db/schema.js';
import { setTenantStatus } from '../../../core/tenancy/tenants.js';
import { type Harness, startHarness, type TestBot, type TgUser } from './harness.js';

const ADMIN: TgUser = { id: 1001, first_name: 'Ada', username: 'ada_admin' };
const ANN: TgUser = { id: 1002, first_name: 'Ann', username: 'ann_welds' };
const STRANGER: TgUser = { id: 1666, first_name: 'Mallory' };

let h: Harness;
let platform: TestBot;
let steel: Tenant;

const linkOf = (telegramId: number, tenantId: string) =>
  h.t.db.sqlite
    .prepare('SELECT user_id FROM telegram_links WHERE telegram_user_id = ? AND tenant_id = ?')
    .get(telegramId, tenantId) as { user_id: string } | undefined;
const codeFrom = (reply: string) => /\?start=([a-z2-7]{10})/.exec(reply)?.[1] as string;

beforeAll(async () => {
  h = await startHarness({ reply: () => 'Use S355.' });
  platform = await h.startBot('AnvilPlatformBot');
  steel = await h.tenant('abc-steel', { name: 'ABC Steel' });
  await h.join(steel.id, ADMIN, 'admin');
  await h.join(steel.id, ANN);
});

afterAll(async () => {
  await h?.close();
});

describe('unknown senders', () => {
  it('get one onboarding line for text and commands, and no model call', async () => {
    const calls = h.modelCalls().length;
    expect(await platform.ask(STRANGER, 'hello, who are you?')).toMatch(/invited teams only/);
    for (const command of ['/usage', '/new', '/whoami', '/stop', '/help']) {
      expect(await platform.ask(STRANGER, command)).toMatch(/invited teams only/);
    }
    expect(h.modelCalls().length).toBe(calls);
    expect(h.ledger()).toHaveLength(0);
  });
});

describe('invites', () => {
  it('an admin makes one with /invite; its deep link names the bot and links whoever opens it', async () => {
    const reply = await platform.ask(ADMIN, '/invite');
    expect(reply).toMatch(/^Here is a single-use invite link, valid until \d{4}-\d\d-\d\d \d\d:\d\d UTC:/);
    expect(reply).toMatch(/https:\/\/t\.me\/AnvilPlatformBot\?start=[a-z2-7]{10}/);
    const newcomer = { id: 2001, first_name: 'Nina' };
    expect(await platform.ask(newcomer, `/start ${codeFrom(reply)}`)).toBe(
      "Welcome, Nina! You are now connected to ABC Steel's assistant. Just write your question.",
    );
    const row = h.t.db.sqlite
      .prepare('SELECT role FROM tenant_users WHERE id = ?')
      .get(linkOf(2001, steel.id)?.user_id);
    expect(row).toEqual({ role: 'member' });
  });

  it('/invite admin makes an admin; members may not invite', async () => {
    const reply = await platform.ask(ADMIN, '/invite admin');
    expect(reply).toMatch(/single-use admin invite link/);
    await platform.ask({ id: 2002, first_name: 'Olga' }, `/start ${codeFrom(reply)}`);
    const row = h.t.db.sqlite
      .prepare('SELECT role FROM tenant_users WHERE id = ?')
      .get(linkOf(2002, steel.id)?.user_id);
    expect(row).toEqual({ role: 'admin' });
    // The new admin gets the admin command menu in their chat.
    await h.telegram.waitForCall(
      (c) => c.method === 'setMyCommands' && JSON.stringify(c.params.scope ?? '').includes('2002'),
    );
    expect(await platform.ask(ANN, '/invite')).toBe('Only your team admins can do that.');
  });

  it('a used invite is refused and links nobody', async () => {
    const code = codeFrom(await platform.ask(ADMIN, '/invite'));
    await platform.ask({ id: 2003, first_name: 'Pia' }, `/start ${code}`);
    expect(await platform.ask(STRANGER, `/start ${code}`)).toMatch(/already been used/);
    expect(linkOf(STRANGER.id, steel.id)).toBeUndefined();
  });

  it('an expired invite is refused', async () => {
    const code = codeFrom(await platform.ask(ADMIN, '/invite'));
    h.t.db.sqlite.prepare('UPDATE invites SET expires_at = ? WHERE redeemed_at IS NULL').run(Date.now() - 1);
    expect(await platform.ask(STRANGER, `/start ${code}`)).toMatch(/has expired/);
    expect(linkOf(STRANGER.id, steel.id)).toBeUndefined();
  });

  it("a white-label bot refuses another tenant's code as invalid and leaves it usable", async () => {
    const iron = await h.tenant('iron-works', { name: 'Iron Works' });
    const ironBot = await h.startBot('IronWorksBot', { kind: 'tenant', tenantId: iron.id });
    const code = codeFrom(await platform.ask(ADMIN, '/invite'));
    expect(await ironBot.ask(STRANGER, `/start ${code}`)).toBe(
      'That invite code is not valid. Ask your admin for a new link.',
    );
    expect(linkOf(STRANGER.id, steel.id)).toBeUndefined();
    // The white-label bot's unknown-sender line names its own tenant.
    expect(await ironBot.ask(STRANGER, 'hi')).toMatch(/^Hi! This is Iron Works's assistant/);
    expect(await platform.ask({ id: 2004, first_name: 'Quinn' }, `/start ${code}`)).toMatch(/^Welcome, Quinn!/);
  });
});

describe('pairing', () => {
  it('an admin approves a request with /approve and the person can then chat', async () => {
    const asker: TgUser = { id: 3001, first_name: 'Rita', username: 'rita_r' };
    const before = h.telegram.calls.length;
    expect(await platform.ask(asker, '/request abc-steel')).toMatch(/passed on to the admins of "abc-steel"/);
    const notice = await h.telegram.waitForCall(
      (c) =>
        c.method === 'sendMessage' && Number(c.params.chat_id) === ADMIN.id && h.telegram.calls.indexOf(c) >= before,
    );
    const text = notice.params.text as string;
    expect(text).toMatch(/^Rita \(@rita_r\) asks to join ABC Steel's assistant/);
    expect(JSON.stringify(notice.params.reply_markup)).toMatch(/pair:approve:/);
    const code = /\/approve ([a-z2-7]{6})/.exec(text)?.[1] as string;

    expect(await platform.ask(ADMIN, `/approve ${code}`)).toBe('Rita now has access to the assistant.');
    await h.telegram.waitForCall(
      (c) =>
        c.method === 'sendMessage' &&
        Number(c.params.chat_id) === asker.id &&
        /approved your request/.test(String(c.params.text)),
    );
    expect(linkOf(asker.id, steel.id)).toBeDefined();
    expect(await platform.ask(asker, 'What steel for a bridge?')).toBe('Use S355.');
    expect(await platform.ask(ADMIN, `/approve ${code}`)).toBe('That request was already approved.');
  });

  it('the Deny button refuses a request, and the person is told', async () => {
    const asker: TgUser = { id: 3002, first_name: 'Sam' };
    const before = h.telegram.calls.length;
    await platform.ask(asker, '/request abc-steel');
    const notice = await h.telegram.waitForCall(
      (c) =>
        c.method === 'sendMessage' && Number(c.params.chat_id) === ADMIN.id && h.telegram.calls.indexOf(c) >= before,
    );
    const data = JSON.stringify(notice.params.reply_markup).match(/pair:deny:[a-z2-7]+/)?.[0] as string;
    const sent = h.telegram.sentTo(platform.token, ADMIN.id).at(-1)!;
    h.telegram.pushUpdate(platform.token, {
      callback_query: {
        id: 'cb-deny-1',
        from: { id: ADMIN.id, is_bot: false, first_name: ADMIN.first_name },
        chat_instance: 'ci-1',
        data,
        message: {
          message_id: sent.message_id,
          date: Math.floor(Date.now() / 1000),
          chat: { id: ADMIN.id, type: 'private', first_name: ADMIN.first_name },
          text: sent.plain_text,
        },
      },
    });
    await h.telegram.waitForCall(
      (c) =>
        c.method === 'sendMessage' &&
        Number(c.params.chat_id) === asker.id &&
        /was not approved/.test(String(c.params.text)),
    );
    await h.telegram.waitForCall(
      (c) => c.method === 'answerCallbackQuery' && c.params.callback_query_id === 'cb-deny-1',
    );
    await h.telegram.waitForCall((c) => c.method === 'editMessageText' && Number(c.params.chat_id) === ADMIN.id);
    expect(h.telegram.sentTo(platform.token, ADMIN.id).at(-1)?.plain_text).toMatch(/Sam's request was denied\.$/);
    expect(
      h.t.db.sqlite.prepare('SELECT status FROM pairing_requests WHERE telegram_user_id = ?').get(asker.id),
    ).toEqual({ status: 'denied' });
    expect(linkOf(asker.id, steel.id)).toBeUndefined();
    // Asking again right away is dropped without bothering the admins.
    const again = h.telegram.calls.length;
    expect(await platform.ask(asker, '/request abc-steel')).toMatch(/passed on/);
    expect(platform.callsTo(ADMIN.id, 'sendMessage', again)).toHaveLength(0);
  });

  it('a request for a team that does not exist gets the same answer and notifies nobody', async () => {
    const before = h.telegram.calls.length;
    expect(await platform.ask({ id: 3003, first_name: 'Tom' }, '/request no-such-team')).toMatch(
      /passed on to the admins of "no-such-team", if that team uses this assistant/,
    );
    expect(platform.callsTo(ADMIN.id, 'sendMessage', before)).toHaveLength(0);
    expect(await platform.ask({ id: 3003, first_name: 'Tom' }, '/request')).toMatch(/^Use \/request <team>/);
  });
});

describe('plan max users', () => {
  it('refuses invites, approvals and reactivations beyond the limit, and counts suspended users out', async () => {
    const small = await h.tenant('small-co', { name: 'Small Co', plan: 'starter' });
    h.t.db.sqlite.prepare('UPDATE tenants SET max_users = 2 WHERE id = ?').run(small.id);
    const boss: TgUser = { id: 4001, first_name: 'Boss' };
    const worker: TgUser = { id: 4002, first_name: 'Wes', username: 'wes' };
    await h.join(small.id, boss, 'admin');
    await h.join(small.id, worker);

    // An invite made while full is refused at redemption.
    const code = codeFrom(await platform.ask(boss, '/invite'));
    expect(await platform.ask({ id: 4003, first_name: 'Xena' }, `/start ${code}`)).toBe(
      "Small Co has reached its plan's limit of 2 users. Ask your admin.",
    );

    // A pairing approval is refused the same way, and the request stays pending.
    await platform.ask({ id: 4004, first_name: 'Yuri' }, '/request small-co');
    const pending = h.t.db.sqlite
      .prepare("SELECT code FROM pairing_requests WHERE tenant_id = ? AND status = 'pending'")
      .get(small.id) as { code: string };
    expect(await platform.ask(boss, `/approve ${pending.code}`)).toMatch(/reached its plan's limit of 2 users/);
    expect(linkOf(4004, small.id)).toBeUndefined();

    // Suspending someone frees the seat; reactivating them while full is refused.
    expect(await platform.ask(boss, '/suspend @wes')).toBe('Wes is suspended. They can no longer use the assistant.');
    expect(await platform.ask(boss, `/approve ${pending.code}`)).toBe('Yuri now has access to the assistant.');
    expect(await platform.ask(boss, '/unsuspend @wes')).toMatch(/reached its plan's limit of 2 users/);
  });
});

describe('suspension', () => {
  it('a suspended user is told so, never reaches the model, and is back after /unsuspend', async () => {
    expect(await platform.ask(ADMIN, '/suspend @ann_welds')).toBe(
      'Ann is suspended. They can no longer use the assistant.',
    );
    await h.telegram.waitForCall(
      (c) => Number(c.params.chat_id) === ANN.id && /has been paused by an admin/.test(String(c.params.text)),
    );
    const calls = h.modelCalls().length;
    expect(await platform.ask(ANN, 'Still there?')).toBe('Your access has been paused. Please contact your admin.');
    expect(h.modelCalls().length).toBe(calls);
    expect(await platform.ask(ADMIN, '/suspend @ann_welds')).toBe('Ann was already suspended.');
    expect(await platform.ask(ADMIN, '/suspend @ada_admin')).toBe('You cannot suspend yourself.');
    expect(await platform.ask(ADMIN, '/suspend @nobody')).toMatch(/^Nobody in your team matches "@nobody"/);
    expect(await platform.ask(ADMIN, '/unsuspend @ann_welds')).toBe('Ann can use the assistant again.');
    await h.telegram.waitForCall((c) => Number(c.params.chat_id) === ANN.id && /is back/.test(String(c.params.text)));
    expect(await platform.ask(ANN, 'Back?')).toBe('Use S355.');
    expect(h.modelCalls().length).toBe(calls + 1);
  });

  it('/users lists the team with ids, roles and waiting requests', async () => {
    await platform.ask({ id: 3010, first_name: 'Uma' }, '/request abc-steel');
    const list = await platform.ask(ADMIN, '/users');
    expect(list).toMatch(/^ABC Steel: \d+ users/);
    expect(list).toMatch(/• Ada \(@ada_admin\) – admin – id [a-z2-7]{16}/);
    expect(list).toMatch(/Waiting to join:\n• Uma – \/approve [a-z2-7]{6} or \/deny [a-z2-7]{6}/);
  });

  it('members of a suspended tenant are told it is paused and never reach the model', async () => {
    await setTenantStatus(h.t.db, steel.id, 'suspended', { actor: 'test' });
    try {
      const calls = h.modelCalls().length;
      expect(await platform.ask(ANN, 'Hello?')).toBe(
        "ABC Steel's assistant is paused right now. Please contact your admin.",
      );
      expect(await platform.ask(ADMIN, '/invite')).toMatch(/paused right now/);
      expect(await platform.ask(ANN, '/whoami')).toMatch(/Your access: active \(ABC Steel is paused\)/);
      expect(h.modelCalls().length).toBe(calls);
    } finally {
      await setTenantStatus(h.t.db, steel.id, 'active', { actor: 'test' });
    }
  });

  it('/whoami says who the sender is', async () => {
    const reply = await platform.ask(ANN, '/whoami');
    expect(reply).toMatch(
      /^You are Ann \(@ann_welds\), a member of ABC Steel\.\nYour access: active\.\nPlan: Enterprise\./,
    );
    expect(reply).toContain(`User id: ${linkOf(ANN.id, steel.id)?.user_id}. Telegram id: ${ANN.id}.`);
  });
});

describe('someone in several teams', () => {
  const CONSULTANT: TgUser = { id: 1500, first_name: 'Cora' };
  let delta: Tenant;

  beforeAll(async () => {
    delta = await h.tenant('delta-build', { name: 'Delta Build' });
    await h.join(steel.id, CONSULTANT);
    await h.join(delta.id, CONSULTANT, 'admin');
  });

  it('talks for the team joined last, lists the teams and switches with /team', async () => {
    expect(await platform.ask(CONSULTANT, '/whoami')).toMatch(
      /an admin of Delta Build\.[\s\S]*Also in: ABC Steel \(\/team to switch\)\.$/,
    );
    expect(await platform.ask(CONSULTANT, '/team')).toBe(
      [
        'Your teams:',
        '• Delta Build (delta-build) - current',
        '• ABC Steel (abc-steel)',
        'Switch with /team <name>. Each team keeps its own conversations.',
      ].join('\n'),
    );
    expect(await platform.ask(CONSULTANT, '/team ABC-Steel')).toBe(
      'Now talking for ABC Steel. Its conversations and limits apply from your next message.',
    );
    expect(await platform.ask(CONSULTANT, '/whoami')).toMatch(/^You are Cora, a member of ABC Steel\./);
    // The model call is ABC Steel's now: its ledger, as Cora's ABC Steel user.
    const rows = h.ledger().length;
    expect(await platform.ask(CONSULTANT, 'Which grade for the beams?')).toBe('Use S355.');
    expect(h.ledger().slice(rows)).toMatchObject([
      { tenant_id: steel.id, user_id: linkOf(CONSULTANT.id, steel.id)?.user_id },
    ]);
    // And back, by name.
    expect(await platform.ask(CONSULTANT, '/team delta build')).toMatch(/^Now talking for Delta Build\./);
    expect(await platform.ask(CONSULTANT, '/whoami')).toMatch(/an admin of Delta Build\./);
  });

  it('cannot choose a team it is not in, and cannot tell it from one that does not exist', async () => {
    await h.tenant('iron-foundry', { name: 'Iron Foundry' });
    const notMine = await platform.ask(CONSULTANT, '/team iron-foundry');
    expect(notMine).toBe('You are not in a team called "iron-foundry". /team lists yours.');
    expect(await platform.ask(CONSULTANT, '/team no-such-team')).toBe(
      'You are not in a team called "no-such-team". /team lists yours.',
    );
    expect(await platform.ask(CONSULTANT, '/whoami')).toMatch(/an admin of Delta Build\./);
    expect(await platform.ask(ANN, '/team')).toBe('You are in one team: ABC Steel.');
  });

  it('asks for the short name when several of its teams share a name, and a slug always wins', async () => {
    const other = await h.tenant('delta-build-north', { name: 'Delta Build' });
    await h.join(other.id, CONSULTANT);
    const choices = () =>
      h.t.db.sqlite
        .prepare('SELECT tenant_id, chosen_at FROM telegram_links WHERE telegram_user_id = ? ORDER BY tenant_id')
        .all(CONSULTANT.id);
    try {
      const before = choices();
      expect(await platform.ask(CONSULTANT, '/team Delta Build')).toBe(
        'Several of your teams are called Delta Build. Choose one by its short name: /team delta-build-north, /team delta-build.',
      );
      // Nothing was switched: still the team joined last.
      expect(choices()).toEqual(before);
      expect(await platform.ask(CONSULTANT, '/whoami')).toMatch(/a member of Delta Build\./);
      expect(await platform.ask(CONSULTANT, '/team delta-build')).toMatch(/^Now talking for Delta Build\./);
      expect(await platform.ask(CONSULTANT, '/whoami')).toMatch(/an admin of Delta Build\./);
    } finally {
      h.t.db.sqlite.prepare('DELETE FROM telegram_links WHERE tenant_id = ?').run(other.id);
    }
  });

  it("on a team's own bot there is nothing to switch", async () => {
    const deltaBot = await h.startBot('DeltaBuildBot', { kind: 'tenant', tenantId: delta.id });
    expect(await deltaBot.ask(CONSULTANT, '/team abc-steel')).toBe('This bot talks for Delta Build only.');
    expect(await deltaBot.ask(CONSULTANT, '/whoami')).not.toMatch(/Also in/);
  });
});
