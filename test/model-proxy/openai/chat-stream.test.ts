import type OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { SseContext } from '../../../model-proxy/openai/chat-stream.js';
import { ndjsonToSse } from './sse-stream.js';

const encoder = new TextEncoder();
const line = (obj: unknown) => `${JSON.stringify(obj)}\n`;
const msg = (content: string, extra: Record<string, unknown> = {}) =>
  line({ model: 'llama3.1:8b', created_at: 't', message: { role: 'assistant', content, ...extra }, done: false });
const final = (doneReason: string, extra: Record<string, unknown> = {}) =>
  line({
    model: 'llama3.1:8b',
    created_at: 't',
    message: { role: 'assistant', content: '' },
    done: true,
    done_reason: doneReason,
    total_duration: 1,
    prompt_eval_count: 26,
    eval_count: 3,
    ...extra,
  });

/** A context with deterministic tool call ids (a fresh counter per stream). */
function context(includeUsage: boolean): SseContext {
  let n = 0;
  return {
    id: 'chatcmpl-x',
    created: 1_700_000_000,
    model: 'llama3.1:8b',
    includeUsage,
    toolCallId: () => `call_${++n}`,
  };
}

/** Writes byte chunks into the transformer and returns everything it produced. */
async function run(chunks: Uint8Array[], ctx: SseContext): Promise<string> {
  const ts = ndjsonToSse(ctx);
  const output = new Response(ts.readable).text();
  const writer = ts.writable.getWriter();
  for (const c of chunks) await writer.write(c);
  await writer.close();
  return output;
}

/** The data payloads of an SSE text, `[DONE]` kept as a string. */
function events(sse: string): unknown[] {
  expect(sse.endsWith('\n\n')).toBe(true);
  return sse
    .split('\n\n')
    .filter((e) => e !== '')
    .map((e) => {
      expect(e.startsWith('data: ')).toBe(true);
      const data = e.slice('data: '.length);
      return data === '[DONE]' ? data : JSON.parse(data);
    });
}

const head = { id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'llama3.1:8b' };

describe('ndjsonToSse: content', () => {
  it('sends role first, then content deltas, a finish chunk, the usage chunk and [DONE]', async () => {
    const ndjson = msg('Hel') + msg('lo') + msg('!') + final('stop');
    const out = events(await run([encoder.encode(ndjson)], context(true)));
    expect(out).toEqual([
      {
        ...head,
        choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' }, finish_reason: null, logprobs: null }],
        usage: null,
      },
      { ...head, choices: [{ index: 0, delta: { content: 'lo' }, finish_reason: null, logprobs: null }], usage: null },
      { ...head, choices: [{ index: 0, delta: { content: '!' }, finish_reason: null, logprobs: null }], usage: null },
      { ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop', logprobs: null }], usage: null },
      { ...head, choices: [], usage: { prompt_tokens: 26, completion_tokens: 3, total_tokens: 29 } },
      '[DONE]',
    ]);
    // Each chunk is a valid SDK chunk type.
    const typed: OpenAI.Chat.ChatCompletionChunk[] = out.slice(0, -1) as OpenAI.Chat.ChatCompletionChunk[];
    expect(typed).toHaveLength(5);
  });

  it('without include_usage: no usage chunk and no usage field at all', async () => {
    const out = events(await run([encoder.encode(msg('Hi') + final('stop'))], context(false)));
    expect(out).toHaveLength(3);
    expect(out.at(-1)).toBe('[DONE]');
    for (const e of out.slice(0, -1)) expect(e).not.toHaveProperty('usage');
    expect(out[1]).toMatchObject({ choices: [{ delta: {}, finish_reason: 'stop' }] });
  });

  it('maps done_reason length to finish_reason length', async () => {
    const out = events(await run([encoder.encode(msg('a') + final('length'))], context(false)));
    expect(out[1]).toMatchObject({ choices: [{ finish_reason: 'length' }] });
  });

  it('still sends the role when the answer is empty', async () => {
    const out = events(await run([encoder.encode(final('stop'))], context(false)));
    expect(out[0]).toMatchObject({ choices: [{ delta: { role: 'assistant', content: '' }, finish_reason: 'stop' }] });
  });

  it('skips Ollama chunks that carry nothing and forwards thinking as reasoning', async () => {
    const ndjson = msg('') + msg('', { thinking: 'hmm' }) + msg('Yes') + final('stop');
    const out = events(await run([encoder.encode(ndjson)], context(false)));
    expect(
      out.map((e) => (typeof e === 'string' ? e : (e as { choices: { delta: unknown }[] }).choices[0]?.delta)),
    ).toEqual([{ role: 'assistant', reasoning: 'hmm' }, { content: 'Yes' }, {}, '[DONE]']);
  });
});

describe('ndjsonToSse: tool calls', () => {
  it('emits each whole Ollama tool call as a delta with index, id, type and JSON-string arguments', async () => {
    const ndjson =
      msg('', {
        tool_calls: [
          { function: { name: 'get_weather', arguments: { city: 'Paris' } } },
          { id: 'call_ollama', function: { name: 'get_time', arguments: { tz: 'CET' } } },
        ],
      }) +
      msg('', { tool_calls: [{ function: { name: 'get_news', arguments: {} } }] }) +
      final('stop');
    const out = events(await run([encoder.encode(ndjson)], context(false)));
    expect(out).toEqual([
      {
        ...head,
        choices: [
          {
            index: 0,
            delta: {
              role: 'assistant',
              tool_calls: [
                {
                  index: 0,
                  id: 'call_1',
                  type: 'function',
                  function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
                },
                {
                  index: 1,
                  id: 'call_ollama',
                  type: 'function',
                  function: { name: 'get_time', arguments: '{"tz":"CET"}' },
                },
              ],
            },
            finish_reason: null,
            logprobs: null,
          },
        ],
      },
      {
        ...head,
        choices: [
          {
            index: 0,
            delta: {
              tool_calls: [
                { index: 2, id: 'call_2', type: 'function', function: { name: 'get_news', arguments: '{}' } },
              ],
            },
            finish_reason: null,
            logprobs: null,
          },
        ],
      },
      { ...head, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls', logprobs: null }] },
      '[DONE]',
    ]);
  });

  it('reads tool calls that arrive on the final chunk too', async () => {
    const ndjson = final('stop', {
      message: { role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: {} } }] },
    });
    const out = events(await run([encoder.encode(ndjson)], context(false)));
    expect(out[0]).toMatchObject({
      choices: [{ delta: { tool_calls: [{ index: 0, function: { name: 'f' } }] }, finish_reason: null }],
    });
    expect(out[1]).toMatchObject({ choices: [{ finish_reason: 'tool_calls' }] });
  });
});

describe('ndjsonToSse: byte boundaries', () => {
  const ndjson =
    msg('Grüße ') +
    msg('aus 東京 🗼') +
    msg('', { tool_calls: [{ function: { name: 'book', arguments: { city: 'Zürich', note: '☕\n"x"' } } }] }) +
    final('stop');
  const bytes = encoder.encode(ndjson);

  it('produces the same output whatever two pieces the NDJSON is cut into (every byte offset)', async () => {
    const whole = await run([bytes], context(true));
    expect(events(whole)).toHaveLength(6);
    for (let i = 0; i <= bytes.length; i++) {
      const split = await run([bytes.slice(0, i), bytes.slice(i)], context(true));
      if (split !== whole) expect.fail(`output differs when cut at byte ${i}`);
    }
    expect(bytes.length).toBeGreaterThan(400);
  });

  it('produces the same output fed one byte at a time', async () => {
    const whole = await run([bytes], context(true));
    const pieces = Array.from(bytes, (b) => Uint8Array.of(b));
    expect(await run(pieces, context(true))).toBe(whole);
  });

  it('reads a final line that has no trailing newline', async () => {
    const out = events(await run([encoder.encode(msg('a') + final('stop').trimEnd())], context(false)));
    expect(out.at(-1)).toBe('[DONE]');
  });
});

describe('ndjsonToSse: streaming, not buffering', () => {
  it('emits a content chunk as soon as its line is complete, before the input ends', async () => {
    const ts = ndjsonToSse(context(false));
    const writer = ts.writable.getWriter();
    const reader = ts.readable.getReader();
    const decode = (v: Uint8Array | undefined) => new TextDecoder().decode(v);
    // A transformer that held output back until the input ended would never answer here.
    const soon = <T>(p: Promise<T>) =>
      Promise.race([p, new Promise<never>((_, no) => setTimeout(() => no(new Error('output was held back')), 1000))]);
    const writes = [writer.write(encoder.encode(msg('first')))];
    expect(decode((await soon(reader.read())).value)).toContain('"content":"first"');
    const half = encoder.encode(msg('sec'));
    writes.push(writer.write(half.slice(0, 10)), writer.write(half.slice(10)));
    expect(decode((await soon(reader.read())).value)).toContain('"content":"sec"');
    writes.push(writer.write(encoder.encode(final('stop'))), writer.close());
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += decode(r.value);
    await Promise.all(writes);
    expect(rest).toContain('data: [DONE]');
  });
});

describe('ndjsonToSse: errors', () => {
  it('turns an in-band {"error"} line into an OpenAI error event and ends without [DONE]', async () => {
    const ndjson = `${msg('Hel')}${line({ error: 'CUDA out of memory' })}${msg('ignored')}${final('stop')}`;
    const out = events(await run([encoder.encode(ndjson)], context(true)));
    expect(out).toHaveLength(2);
    expect(out[1]).toEqual({ error: { message: 'CUDA out of memory', type: 'server_error', param: null, code: null } });
    expect(out).not.toContain('[DONE]');
  });

  it('reports a stream that ends before Ollama’s final chunk, instead of a silent truncation', async () => {
    const out = events(await run([encoder.encode(msg('Hel') + msg('lo'))], context(true)));
    expect(out).toHaveLength(3);
    expect(out[2]).toMatchObject({ error: { type: 'server_error', message: /before its final chunk/ } });
  });

  it('reports a line that is not JSON', async () => {
    const out = events(await run([encoder.encode(`${msg('a')}<html>502 Bad Gateway</html>\n`)], context(false)));
    expect(out[1]).toMatchObject({ error: { message: /not JSON/ } });
  });
});
