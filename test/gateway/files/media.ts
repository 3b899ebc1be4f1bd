/** Incoming media updates for the files tests: documents, photos and voice notes. */
import type { FakeTelegram } from '../../fakes/telegram.js';
import type { TestBot, TgUser } from '../features/harness.js';

let nextMessageId = 500_000;

/** Pushes a private-chat message carrying `media` from `from`; returns the update id. */
export function pushMedia(telegram: FakeTelegram, bot: TestBot, from: TgUser, media: Record<string, unknown>): number {
  return telegram.pushUpdate(bot.token, {
    message: {
      message_id: nextMessageId++,
      from: { id: from.id, is_bot: false, first_name: from.first_name },
      chat: { id: from.id, type: 'private', first_name: from.first_name },
      date: Math.floor(Date.now() / 1000),
      ...media,
    },
  } as never);
}

/**
 * Sends a document whose bytes the fake Bot API serves. `fileSize: null` leaves file_size
 * out of the update (Telegram may); by default it is the content's length.
 */
export function sendDocument(
  telegram: FakeTelegram,
  bot: TestBot,
  from: TgUser,
  doc: { content: Buffer; fileName?: string; mime?: string; fileSize?: number | null },
): { updateId: number; fileId: string } {
  const file = telegram.addFile(bot.token, doc.content, `documents/file_${nextMessageId}.dat`);
  const document: Record<string, unknown> = { file_id: file.file_id, file_unique_id: file.file_unique_id };
  if (doc.fileName !== undefined) document.file_name = doc.fileName;
  if (doc.mime !== undefined) document.mime_type = doc.mime;
  if (doc.fileSize !== null) document.file_size = doc.fileSize ?? file.file_size;
  return { updateId: pushMedia(telegram, bot, from, { document }), fileId: file.file_id };
}

/** Sends a photo in the sizes given (each served by the fake), smallest first as Telegram does. */
export function sendPhoto(
  telegram: FakeTelegram,
  bot: TestBot,
  from: TgUser,
  sizes: { content: Buffer; width: number; height: number }[],
): number {
  const photo = sizes.map((s, i) => {
    const f = telegram.addFile(bot.token, s.content, `photos/file_${nextMessageId}_${i}.jpg`);
    return {
      file_id: f.file_id,
      file_unique_id: f.file_unique_id,
      file_size: f.file_size,
      width: s.width,
      height: s.height,
    };
  });
  return pushMedia(telegram, bot, from, { photo });
}

/** The bot's next sendMessage to `chatId` after call index `since`. */
export async function replyTo(telegram: FakeTelegram, bot: TestBot, chatId: number, since: number): Promise<string> {
  const call = await telegram.waitForCall(
    (c) =>
      c.token === bot.token &&
      c.method === 'sendMessage' &&
      Number(c.params.chat_id) === chatId &&
      telegram.calls.indexOf(c) >= since,
    10_000,
  );
  return call.params.text as string;
}
