import type { Config } from '../core/config/index.js';
import type { Db } from '../core/db/index.js';
import type { Logger } from '../core/logger.js';

/** What the console needs from its process: the database, the configuration and a logger. */
export interface AppDeps {
  db: Db;
  config: Config;
  logger: Logger;
}

/** True for the management API's paths, which answer JSON rather than HTML pages. */
export const isApiPath = (path: string): boolean => path === '/api' || path.startsWith('/api/');
