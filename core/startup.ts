import type { Config } from './config/index.js';
import { type Db, databasePath, openDb } from './db/index.js';
import { migrate } from './db/migrate.js';
import type { Logger } from './logger.js';
import { seedDefaultPlans } from './tenancy/plans.js';

/**
 * Brings the database up to date at service start: pending migrations, then the default
 * plans. Safe when the three services start at once (the migration takes the write lock).
 */
export function prepareDatabase(db: Db, config: Config, logger: Logger): void {
  for (const warning of config.warnings) logger.warn(warning);
  const applied = migrate(db);
  if (applied.length) logger.info({ applied }, 'applied database migrations');
  seedDefaultPlans(db, { chatModel: config.CHAT_MODEL, embedModel: config.EMBED_MODEL });
}

/** How often a service checkpoints the WAL from its background thread. */
export const SERVICE_CHECKPOINT_MS = 1_000;

/**
 * Opens the database of a long-running service: WAL checkpoints run on a background
 * thread (core/db/checkpointer.ts), never inside a commit on the event loop.
 */
export function openServiceDb(config: Config, logger: Logger): Db {
  return openDb(databasePath(config.dataDir), {
    backgroundCheckpointMs: SERVICE_CHECKPOINT_MS,
    onCheckpointFailure: (message) => logger.warn({ message }, 'background WAL checkpoint failed'),
  });
}
