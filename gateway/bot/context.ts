import type { Context } from 'grammy';
import type { Config } from '../../core/config/index.js';
import type { Db } from '../../core/db/index.js';
import type { Logger } from '../../core/logger.js';
import type { LinkedMember } from '../../core/tenancy/members.js';
import type { ModelClient } from '../model-client.js';

/** Which tenants a bot speaks for: the platform bot serves all, a white-label bot one. */
export type BotScope = { kind: 'platform' } | { kind: 'tenant'; tenantId: string };

/** What every bot feature can reach. */
export interface GatewayDeps {
  db: Db;
  config: Config;
  logger: Logger;
  models: ModelClient;
}

/** Anvil's additions to grammY's context, set by `resolveMember`. */
export interface AnvilFlavor {
  anvil: {
    scope: BotScope;
    deps: GatewayDeps;
    /** The sender's tenant membership, or undefined for an unknown sender. */
    member: LinkedMember | undefined;
    log: Logger;
  };
}

/** The one context type of every Anvil bot. */
export type BotContext = Context & AnvilFlavor;
