import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Sealer } from '../../core/crypto/seal.js';
import { type Db, databasePath, openDb } from '../../core/db/index.js';
import { migrate } from '../../core/db/migrate.js';
import { seedDefaultPlans } from '../../core/tenancy/plans.js';

/** A migrated, seeded SQLite database in a fresh temporary directory. */
export interface TempDb {
  db: Db;
  dir: string;
  sealer: Sealer;
  /** Closes the database and removes the directory. */
  cleanup(): Promise<void>;
}

/** A fixed master key for tests (never used outside them). */
export const TEST_MASTER_KEY = Buffer.alloc(32, 7);

/** Opens a real SQLite file under the OS temp dir, migrated and seeded with the default plans. */
export function tempDb(): TempDb {
  const dir = mkdtempSync(path.join(tmpdir(), 'anvil-test-'));
  const db = openDb(databasePath(dir));
  migrate(db);
  seedDefaultPlans(db, { chatModel: 'llama3.1:8b', embedModel: 'nomic-embed-text' });
  return {
    db,
    dir,
    sealer: new Sealer(TEST_MASTER_KEY),
    async cleanup() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
