import { type Config, loadConfig } from '../../core/config/index.js';
import { TEST_MASTER_KEY } from './temp-db.js';

/** The internal token used by tests. */
export const TEST_INTERNAL_TOKEN = 'test-internal-token-0123456789abcdef0123456789';

/** A validated configuration for tests: a temp data dir, port 0 everywhere, quiet logs. */
export function testConfig(dataDir: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    ANVIL_DATA_DIR: dataDir,
    ANVIL_MASTER_KEY: TEST_MASTER_KEY.toString('hex'),
    ANVIL_INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
    APP_PORT: '0',
    GATEWAY_PORT: '0',
    MODEL_PROXY_PORT: '0',
    LOG_LEVEL: 'silent',
    ...env,
  });
}
