import type { Config } from '../../core/config/index.js';
import type { Db } from '../../core/db/index.js';
import { listenNode } from '../../core/http/serve.js';
import { createLogger } from '../../core/logger.js';
import { createModelProxy, type ModelProxy, type ProxyTuning } from '../../model-proxy/server.js';

/** A model proxy listening on a free loopback port. */
export interface TestProxy {
  url: string;
  proxy: ModelProxy;
  close(): Promise<void>;
}

/** Starts the real model proxy on port 0 with quiet logs. */
export async function startTestProxy(db: Db, config: Config, tuning?: Partial<ProxyTuning>): Promise<TestProxy> {
  const proxy = createModelProxy({ db, config, logger: createLogger('test', 'silent'), ...(tuning ? { tuning } : {}) });
  const http = await listenNode('model-proxy', proxy.listener, 0);
  return {
    url: `http://127.0.0.1:${http.port}`,
    proxy,
    async close() {
      proxy.close();
      await http.close();
    },
  };
}
