import { Bot, GrammyError } from 'grammy';
import { afterEach } from 'vitest';
import { type FakeTelegram, startFakeTelegram } from '../fakes/telegram.js';

const started: FakeTelegram[] = [];

/** Starts a fake Bot API that is closed after the current test. */
export async function fake(): Promise<FakeTelegram> {
  const f = await startFakeTelegram();
  started.push(f);
  return f;
}

/** Closes every fake the test started; call once per test file. */
export function closeFakesAfterEach(): void {
  afterEach(async () => {
    await Promise.all(started.splice(0).map((f) => f.close()));
  });
}

/** A grammY bot pointed at the fake. */
export function botFor(f: FakeTelegram, token: string): Bot {
  return new Bot(token, { client: { apiRoot: f.apiRoot } });
}

/** A fake with one bot registered, and a grammY Bot for it. */
export async function setup(): Promise<{ f: FakeTelegram; token: string; bot: Bot }> {
  const f = await fake();
  const { token } = f.addBot({ username: 'anvil_test_bot', first_name: 'Anvil' });
  return { f, token, bot: botFor(f, token) };
}

/** The GrammyError a call rejected with (fails the test when it did not reject with one). */
export async function apiError(p: Promise<unknown>): Promise<GrammyError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof GrammyError)) throw new Error(`expected a GrammyError, got ${String(err)}`);
  return err;
}
