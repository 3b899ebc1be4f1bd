/**
 * Child process of `npm run bench:proxy` that runs the fake Ollama every path is measured
 * against: the fast one of bench/proxy/fast-ollama.ts, or with `--impl=test` the test
 * suite's test/fakes/ollama.ts (to show what the fake itself costs). Reports its URL over
 * IPC and takes `{ type: 'configure', tokens, chunkDelayMs }` messages.
 */
import { startFakeOllama } from '../../test/fakes/ollama.js';
import { startFastOllama } from './fast-ollama.js';
import type { ChildMessage, ConfigureMessage } from './protocol.js';

const impl = process.argv.includes('--impl=test') ? 'test' : 'fast';
const initial = { tokens: 5, chunkDelayMs: 0 };

let configure: (opts: { tokens: number; chunkDelayMs: number }) => void;
let url: string;
if (impl === 'test') {
  const fake = await startFakeOllama(initial);
  // The test fake keeps a record of every request; the bench never reads them.
  const forget = setInterval(() => fake.requests.splice(0, fake.requests.length), 1_000);
  forget.unref();
  configure = (o) => fake.configure(o);
  url = fake.url;
} else {
  const fake = await startFastOllama(initial);
  configure = (o) => fake.configure(o);
  url = fake.url;
}

const reply = (m: ChildMessage) => process.send?.(m);
process.on('message', (m: ConfigureMessage) => {
  if (m.type !== 'configure') return;
  configure({ tokens: m.tokens, chunkDelayMs: m.chunkDelayMs });
  reply({ type: 'configured' });
});
process.on('disconnect', () => process.exit(0));
reply({ type: 'ready', url, detail: { impl } });
