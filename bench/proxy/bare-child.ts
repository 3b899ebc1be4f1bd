/**
 * Child process of `npm run bench:proxy`: the floor. A bare node:http pass-through to the
 * fake Ollama at argv[2] with a keep-alive agent, doing nothing a product must do (no
 * authentication, no limits, no queue, no metering): what one extra node hop costs on
 * this machine. Anvil's added latency is read against it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChildMessage } from './protocol.js';

const backend = process.argv[2];
if (!backend) throw new Error('usage: bare-child.ts <fake Ollama URL>');
const target = new URL(backend);
const agent = new http.Agent({ keepAlive: true, maxSockets: 4_096 });

const server = http.createServer((req, res) => {
  const up = http.request(
    {
      agent,
      host: target.hostname,
      port: target.port,
      path: req.url,
      method: req.method,
      headers: { 'content-type': 'application/json', 'content-length': req.headers['content-length'] ?? 0 },
    },
    (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, { 'content-type': upRes.headers['content-type'] ?? 'application/json' });
      upRes.pipe(res);
    },
  );
  up.on('error', () => res.destroy());
  res.on('close', () => {
    if (!res.writableFinished) up.destroy();
  });
  req.pipe(up);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${port}`, detail: {} } satisfies ChildMessage);
});
process.on('disconnect', () => process.exit(0));
process.once('SIGTERM', () => process.exit(0));
