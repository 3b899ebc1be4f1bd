/**
 * Child process of `npm run bench:proxy` that runs the Anvil model proxy as in production
 * (model-proxy/main.ts: NODE_ENV=production, info logs to stdout, a SQLite file) on its
 * own event loop, against the fake Ollama at argv[2]. It creates one tenant on the
 * enterprise plan (no rate limit) with one API key, and reports its URL and the key over
 * IPC.
 *
 * Two settings differ from a stock start, both so that the scheduler's limits do not
 * become the thing measured: the backend gets `--slots` slots (default 4096; OLLAMA_SLOTS
 * stops at 256 in the config schema, and a stream waiting for a slot is not a stream
 * held), and a tenant may queue any number of requests.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { loadConfig } from '../../core/config/index.js';
import { Sealer } from '../../core/crypto/seal.js';
import { listenNode } from '../../core/http/serve.js';
import { createLogger } from '../../core/logger.js';
import { openServiceDb, prepareDatabase } from '../../core/startup.js';
import { createApiKey } from '../../core/tenancy/api-keys.js';
import { createTenant } from '../../core/tenancy/tenants.js';
import { createModelProxy } from '../../model-proxy/server.js';
import type { ChildMessage, ParentMessage } from './protocol.js';

const backend = process.argv[2];
if (!backend) throw new Error('usage: anvil-child.ts <fake Ollama URL> [--slots=N]');
const slots = Number(process.argv.find((a) => a.startsWith('--slots='))?.slice('--slots='.length) ?? 4096);

const dir = mkdtempSync(path.join(tmpdir(), 'anvil-bench-proxy-'));
const masterKey = randomBytes(32);
const config = {
  ...loadConfig({
    NODE_ENV: 'production',
    ANVIL_DATA_DIR: dir,
    ANVIL_MASTER_KEY: masterKey.toString('hex'),
    ANVIL_INTERNAL_TOKEN: randomBytes(32).toString('hex'),
    OLLAMA_URLS: backend,
    MODEL_PROXY_PORT: '0',
    LOG_LEVEL: 'info',
  }),
  OLLAMA_SLOTS: slots,
};
const logger = createLogger('model-proxy', config.LOG_LEVEL);
const db = openServiceDb(config, logger);
prepareDatabase(db, config, logger);
const tenant = await createTenant(
  db,
  new Sealer(masterKey),
  { name: 'Bench', slug: 'bench', planId: 'enterprise' },
  { actor: 'bench' },
);
const { key } = await createApiKey(db, tenant.id, { name: 'bench' }, { actor: 'bench' });

const proxy = createModelProxy({
  db,
  config,
  logger,
  tuning: { maxQueuedPerTenant: 1_000_000, maxWaitMs: 120_000 },
});
const http = await listenNode('model-proxy', proxy.listener, 0);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  proxy.close();
  await http.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
// What the benchmark asks between phases: how busy this event loop was since the last ask.
let elu = performance.eventLoopUtilization();
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
process.on('message', (m: ParentMessage) => {
  if (m.type !== 'stats') return;
  const now = performance.eventLoopUtilization();
  const reply: ChildMessage = {
    type: 'stats',
    eventLoopUtilization: performance.eventLoopUtilization(now, elu).utilization,
    eventLoopDelayP99Ms: delay.percentile(99) / 1e6,
    heapUsedBytes: process.memoryUsage().heapUsed,
  };
  elu = now;
  delay.reset();
  process.send?.(reply);
});
process.on('disconnect', () => void stop());
process.once('SIGTERM', () => void stop());
process.send?.({ type: 'ready', url: `http://127.0.0.1:${http.port}`, detail: { key } } satisfies ChildMessage);
