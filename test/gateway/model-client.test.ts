/** The gateway's client of the model proxy, against a stub that writes Ollama's NDJSON by hand. */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelCallError, ModelClient } from '../../gateway/model-client.js';

const who = { tenantId: 't1', userId: 'u1' };
let reply: (res: ServerResponse) => void;
let seen: { headers: Record<string, unknown>; body: unknown }[] = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    seen.push({ headers: req.headers, body: JSON.parse(body) });
    reply(res);
  });
});
let client: ModelClient;

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  client = new ModelClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'internal-token');
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

async function collect(deltas: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const d of deltas) out.push(d);
  return out;
}

describe('ModelClient.chatStream', () => {
  it('names the caller, and yields the text of lines split anywhere across packets', async () => {
    seen = [];
    reply = (res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'x-request-id': 'req-1' });
      const wire = `${JSON.stringify({ message: { content: 'Hé' } })}\n${JSON.stringify({ message: { content: 'llo' } })}\n{"done":true,"message":{"content":""}}\n`;
      const bytes = Buffer.from(wire);
      // Cut inside a line and inside the two bytes of "é".
      const cuts = [5, 11, 30, bytes.length];
      let from = 0;
      const next = () => {
        const to = cuts.shift();
        if (to === undefined) return void res.end();
        res.write(bytes.subarray(from, to));
        from = to;
        setTimeout(next, 2);
      };
      next();
    };
    const stream = await client.chatStream(who, 'llama3.1:8b', [{ role: 'user', content: 'hi' }]);
    expect(stream.requestId).toBe('req-1');
    expect((await collect(stream.deltas)).join('')).toBe('Héllo');
    expect(seen[0]?.headers['x-anvil-tenant']).toBe('t1');
    expect(seen[0]?.headers.authorization).toBe('Bearer internal-token');
    expect(seen[0]?.body).toMatchObject({ model: 'llama3.1:8b', stream: true });
  });

  it('a stream that ends before its done line failed midway', async () => {
    reply = (res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end(`${JSON.stringify({ message: { content: 'partial' } })}\n`);
    };
    const stream = await client.chatStream(who, 'm', []);
    const err = await collect(stream.deltas).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelCallError);
    expect((err as ModelCallError).failure.kind).toBe('unavailable');
  });

  it('an in-band error line fails the stream with its words', async () => {
    reply = (res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end(`${JSON.stringify({ message: { content: 'a' } })}\n${JSON.stringify({ error: 'CUDA out of memory' })}\n`);
    };
    const stream = await client.chatStream(who, 'm', []);
    const err = (await collect(stream.deltas).catch((e: unknown) => e)) as ModelCallError;
    expect(err.failure.message).toContain('CUDA out of memory');
  });

  it('an abort ends the text quietly', async () => {
    const controller = new AbortController();
    reply = (res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(`${JSON.stringify({ message: { content: 'first' } })}\n`); // and never more
    };
    const stream = await client.chatStream(who, 'm', [], controller.signal);
    const got: string[] = [];
    for await (const d of stream.deltas) {
      got.push(d);
      controller.abort();
    }
    expect(got).toEqual(['first']);
  });

  it('a refusal before any text is classified with the status and the proxy words', async () => {
    reply = (res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '40', 'x-request-id': 'req-429' });
      res.end(JSON.stringify({ error: 'rate limit of 30 requests per minute' }));
    };
    const err = (await client.chatStream(who, 'm', []).catch((e: unknown) => e)) as ModelCallError;
    expect(err.failure).toEqual({
      kind: 'limit',
      message: 'rate limit of 30 requests per minute',
      retryAfterSeconds: 40,
      requestId: 'req-429',
    });
  });
});
