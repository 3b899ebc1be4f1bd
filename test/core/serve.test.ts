import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type Listening, listenNode } from '../../core/http/serve.js';

let service: Listening | undefined;
afterEach(async () => {
  await service?.close();
  service = undefined;
});

describe('listenNode', () => {
  it('keeps an idle keep-alive connection open past node’s 5 s default, so a client reusing it is answered', async () => {
    const sockets = new Set<unknown>();
    service = await listenNode(
      'test',
      (req, res) => {
        sockets.add(req.socket);
        res.end('ok');
      },
      0,
    );
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<string>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: service?.port, agent }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => {
              body += c.toString();
            });
            res.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
    expect(await get()).toBe('ok');
    await new Promise((r) => setTimeout(r, 5_600));
    expect(await get()).toBe('ok');
    expect(sockets.size).toBe(1); // the same connection served both
    agent.destroy();
  }, 15_000);
});
