import type { Logger } from '../core/logger.js';
import type { Caller } from './caller.js';

/** Variables every proxy route may read; set by the request-id and auth middleware. */
export interface ProxyVariables {
  requestId: string;
  log: Logger;
  caller: Caller;
}

/** The proxy's Hono environment. */
export interface ProxyEnv {
  Variables: ProxyVariables;
}
