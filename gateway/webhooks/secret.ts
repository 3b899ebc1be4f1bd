import { createHmac } from 'node:crypto';
import { equalSecrets } from '../../core/crypto/tokens.js';

/**
 * The platform bot's webhook secret: derived from the master key (HMAC-SHA256), so it needs
 * no storage, is the same in every gateway process, and changes when the key is rotated
 * (the next start calls setWebhook with the new one). Base64url fits Telegram's
 * `secret_token` alphabet (A–Z, a–z, 0–9, _ and -; 1–256 characters).
 */
export function platformWebhookSecret(masterKey: Buffer): string {
  return createHmac('sha256', masterKey).update('anvil:telegram-webhook:platform').digest('base64url');
}

/**
 * A white-label bot's webhook secret, derived like the platform bot's from the master key
 * and the bot's row id: nothing secret is stored, and each bot's differs.
 */
export function tenantWebhookSecret(masterKey: Buffer, botId: string): string {
  return createHmac('sha256', masterKey).update(`anvil:telegram-webhook:tenant:${botId}`).digest('base64url');
}

/** Compares the `X-Telegram-Bot-Api-Secret-Token` header with the expected secret in constant time. */
export function secretMatches(given: string | undefined, expected: string): boolean {
  return given !== undefined && given.length > 0 && equalSecrets(given, expected);
}
