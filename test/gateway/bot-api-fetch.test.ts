/** grammY's fetch in the gateway: plain node:http with keep-alive, as grammY's client uses it. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botApiFetch } from '../../gateway/bot/bot-api-fetch.js';

let handle: (req: IncomingMessage, body: string, res: ServerResponse) => void;
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => handle(req, body, res));
});
let root: string;

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('botApiFetch', () => {
  it('posts a JSON body and a multipart stream, and parses the answer', async () => {
    handle = (req, body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, result: { method: req.url, type: req.headers['content-type'], body } }));
    };
    const json = await botApiFetch(`${root}/botT/sendMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text":"héllo"}',
    });
    expect(await json.json()).toEqual({
      ok: true,
      result: { method: '/botT/sendMessage', type: 'application/json', body: '{"text":"héllo"}' },
    });
    const multipart = await botApiFetch(`${root}/botT/sendDocument`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      body: Readable.from(['--x\r\n', 'part\r\n', '--x--\r\n']),
    });
    expect(((await multipart.json()) as { result: { body: string } }).result.body).toBe('--x\r\npart\r\n--x--\r\n');
  });

  it('an abort rejects the call at once with an AbortError', async () => {
    handle = () => undefined; // never answers
    const controller = new AbortController();
    const call = botApiFetch(`${root}/botT/getUpdates`, { method: 'POST', body: '{}', signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a connection cut mid-answer rejects (grammY makes it an HttpError)', async () => {
    handle = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"ok":');
      setTimeout(() => res.destroy(), 10);
    };
    await expect(botApiFetch(`${root}/botT/getMe`, { method: 'POST', body: '{}' })).rejects.toThrow();
  });
});
