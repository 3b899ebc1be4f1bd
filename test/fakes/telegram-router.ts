/**
 * HTTP routing of the fake Telegram Bot API: `/bot<token>/<method>` calls
 * (token check, injected faults, method dispatch, Bot API envelopes) and
 * `/file/bot<token>/<file_path>` downloads.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from './http-util.js';
import { Described, METHODS } from './telegram-methods.js';
import { parseParams } from './telegram-params.js';
import { BotApiError, type BotState, type FakeTelegramCall, type FakeTelegramResponse } from './telegram-state.js';

/** A fault queued by failNext. */
export interface QueuedFault {
  /** Lower-case method name. */
  method: string;
  remaining: number;
  error: BotApiError;
  /** Only this bot's calls (any bot's when unset). */
  token?: string | undefined;
}

/**
 * Telegram's flood control as the fake plays it: a bot that writes into chats more than
 * `perSecond` times within one second gets 429 "Too Many Requests: retry after N" until the
 * second has passed. Off while `perSecond` is undefined.
 */
export interface FloodControl {
  perSecond: number | undefined;
  /** Per token: when its recent writes were accepted. */
  writes: Map<string, number[]>;
}

/** Calls that write into a chat, the ones Telegram's flood control counts. */
const WRITES = /^(send|edit|copy|forward|deletemessage)/;

/** What the router shares with the FakeTelegram handle. */
export interface RouterState {
  bots: Map<string, BotState>;
  calls: FakeTelegramCall[];
  faults: QueuedFault[];
  flood: FloodControl;
  strictAmpersand: boolean;
  /** Marks a call as answered (visible to waitForCall). */
  settle(call: FakeTelegramCall): void;
}

const NOT_FOUND: FakeTelegramResponse = { ok: false, error_code: 404, description: 'Not Found' };

function serveFile(state: RouterState, res: ServerResponse, token: string, path: string): void {
  const bot = state.bots.get(token);
  const file = bot && !bot.removed ? [...bot.files.values()].find((f) => f.file_path === path) : undefined;
  if (!file) {
    sendJson(res, 404, NOT_FOUND, 'application/json');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.content.length });
  res.end(file.content);
}

function takeFault(state: RouterState, method: string, token: string): BotApiError | undefined {
  const fault = state.faults.find(
    (f) => f.method === method.toLowerCase() && f.remaining > 0 && (f.token === undefined || f.token === token),
  );
  if (!fault) return undefined;
  if (--fault.remaining === 0) state.faults.splice(state.faults.indexOf(fault), 1);
  return fault.error;
}

function checkFlood(flood: FloodControl, call: FakeTelegramCall): void {
  if (flood.perSecond === undefined || !WRITES.test(call.method.toLowerCase())) return;
  const recent = (flood.writes.get(call.token) ?? []).filter((at) => at > call.at - 1_000);
  flood.writes.set(call.token, recent);
  if (recent.length >= flood.perSecond) {
    const retryAfter = Math.max(1, Math.ceil(((recent[0] as number) + 1_000 - call.at) / 1_000));
    throw new BotApiError(429, `Too Many Requests: retry after ${retryAfter}`, retryAfter);
  }
  recent.push(call.at);
}

async function answer(
  state: RouterState,
  call: FakeTelegramCall,
  parseError: BotApiError | undefined,
  aborts: (() => void)[],
): Promise<FakeTelegramResponse> {
  try {
    const bot = state.bots.get(call.token);
    if (!bot || bot.removed) throw new BotApiError(401, 'Unauthorized');
    if (parseError) throw parseError;
    const fault = takeFault(state, call.method, call.token);
    if (fault) throw fault;
    checkFlood(state.flood, call);
    const handler = METHODS[call.method.toLowerCase()];
    if (!handler) throw new BotApiError(404, 'Not Found: method not found');
    const ctx = {
      bot,
      params: call.params,
      strictAmpersand: state.strictAmpersand,
      onAbort: (cb: () => void) => aborts.push(cb),
    };
    const pending = handler(ctx);
    if (pending instanceof Promise) state.settle(call); // a waiting long poll is visible to waitForCall at once
    const result: unknown = await pending;
    return result instanceof Described
      ? { ok: true, result: result.result, description: result.description }
      : { ok: true, result };
  } catch (err) {
    if (!(err instanceof BotApiError)) throw err;
    const response: FakeTelegramResponse = { ok: false, error_code: err.code, description: err.description };
    if (err.retryAfter !== undefined) response.parameters = { retry_after: err.retryAfter };
    return response;
  }
}

/** Creates the request handler of the fake Bot API server. */
export function createRouter(state: RouterState): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(req);
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (file?.[1] && file[2]) {
      serveFile(state, res, decodeURIComponent(file[1]), decodeURIComponent(file[2]));
      return;
    }
    const route = /^\/bot([^/]+)\/(?:test\/)?([A-Za-z0-9_]+)\/?$/.exec(url.pathname);
    if (!route?.[1] || !route[2]) {
      sendJson(res, 404, NOT_FOUND, 'application/json');
      return;
    }
    let params: Record<string, unknown> = {};
    let parseError: BotApiError | undefined;
    try {
      params = parseParams(req, url, body);
    } catch (err) {
      if (!(err instanceof BotApiError)) throw err;
      parseError = err;
    }
    const call: FakeTelegramCall = { token: decodeURIComponent(route[1]), method: route[2], params, at: Date.now() };
    state.calls.push(call);
    const aborts: (() => void)[] = [];
    res.on('close', () => {
      if (!res.writableFinished) for (const cb of aborts) cb();
    });
    const response = await answer(state, call, parseError, aborts);
    call.response = response;
    sendJson(res, response.ok ? 200 : response.error_code, response, 'application/json');
    state.settle(call);
  };
}
