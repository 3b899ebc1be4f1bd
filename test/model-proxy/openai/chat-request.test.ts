import { describe, expect, it } from 'vitest';
import { toOllamaChat } from '../../../model-proxy/openai/chat.js';
import { OpenAiRequestError, parseChatCompletionRequest } from '../../../model-proxy/openai/schemas.js';

/** Validates like the route does, then translates. */
const translate = (body: Record<string, unknown>) =>
  toOllamaChat(parseChatCompletionRequest({ model: 'llama3.1:8b', ...body }));
const user = (content: unknown) => ({ messages: [{ role: 'user', content }] });

function thrown(fn: () => unknown): OpenAiRequestError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OpenAiRequestError) return err;
    throw err;
  }
  throw new Error('expected an OpenAiRequestError');
}

describe('toOllamaChat: stream flags', () => {
  it('asks Ollama for one JSON answer when the client did not ask to stream', () => {
    const t = translate(user('hi'));
    expect(t).toMatchObject({ stream: false, includeUsage: false, body: { stream: false } });
  });

  it('streams, with usage only when stream_options.include_usage is true', () => {
    expect(translate({ ...user('hi'), stream: true })).toMatchObject({ stream: true, includeUsage: false });
    const t = translate({ ...user('hi'), stream: true, stream_options: { include_usage: true } });
    expect(t).toMatchObject({ stream: true, includeUsage: true, body: { stream: true } });
  });

  it('ignores include_usage on a non-streamed request (usage is always in the body there)', () => {
    expect(translate({ ...user('hi'), stream_options: { include_usage: true } }).includeUsage).toBe(false);
  });
});

describe('toOllamaChat: sampling options', () => {
  it('maps every OpenAI sampling field to its Ollama option', () => {
    const { body } = translate({
      ...user('hi'),
      max_tokens: 64,
      temperature: 0.2,
      top_p: 0.9,
      seed: 42,
      stop: ['END', '###'],
      frequency_penalty: 0.5,
      presence_penalty: -0.5,
    });
    expect(body.options).toEqual({
      num_predict: 64,
      temperature: 0.2,
      top_p: 0.9,
      seed: 42,
      stop: ['END', '###'],
      frequency_penalty: 0.5,
      presence_penalty: -0.5,
    });
  });

  it('prefers max_completion_tokens over the deprecated max_tokens and wraps a single stop string', () => {
    const { body } = translate({ ...user('hi'), max_tokens: 10, max_completion_tokens: 20, stop: 'END' });
    expect(body.options).toEqual({ num_predict: 20, stop: ['END'] });
  });

  it('sends no options (so the Modelfile defaults apply) when the client set none', () => {
    expect(translate(user('hi')).body.options).toBeUndefined();
  });

  it('keeps temperature 0 (a falsy value that must not be dropped)', () => {
    expect(translate({ ...user('hi'), temperature: 0 }).body.options).toEqual({ temperature: 0 });
  });
});

describe('toOllamaChat: response_format', () => {
  it('json_object → format "json"', () => {
    expect(translate({ ...user('hi'), response_format: { type: 'json_object' } }).body.format).toBe('json');
  });

  it('json_schema → the schema itself as format', () => {
    const schema = { type: 'object', properties: { age: { type: 'integer' } }, required: ['age'] };
    const rf = { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } };
    expect(translate({ ...user('hi'), response_format: rf }).body.format).toEqual(schema);
  });

  it('text → no format', () => {
    expect(translate({ ...user('hi'), response_format: { type: 'text' } }).body.format).toBeUndefined();
  });
});

describe('toOllamaChat: messages', () => {
  it('maps developer to system and flattens text parts', () => {
    const { body } = translate({
      messages: [
        { role: 'developer', content: [{ type: 'text', text: 'Be brief.' }] },
        { role: 'system', content: 'Answer in English.' },
        { role: 'user', content: 'hi', name: 'ann' },
      ],
    });
    expect(body.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'system', content: 'Answer in English.' },
      { role: 'user', content: 'hi' },
    ]);
  });

  it('merges text and image parts into one user message with bare base64 images', () => {
    const png = Buffer.from('not really a png').toString('base64');
    const { body } = translate(
      user([
        { type: 'text', text: 'What is this?' },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${png}`, detail: 'low' } },
        { type: 'text', text: 'Be short.' },
        { type: 'image_url', image_url: `data:;base64,${png}` },
      ]),
    );
    expect(body.messages).toEqual([{ role: 'user', content: 'What is this?\nBe short.', images: [png, png] }]);
  });

  it('refuses http image URLs and malformed data URLs with a 400 naming the part', () => {
    const remote = thrown(() =>
      translate(user([{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }])),
    );
    expect(remote.status).toBe(400);
    expect(remote.param).toBe('messages[0].content[0].image_url');
    expect(remote.message).toMatch(/base64 data URL/);
    const bad = thrown(() => translate(user([{ type: 'image_url', image_url: { url: 'data:image/png;base64,@@@' } }])));
    expect(bad.message).toMatch(/invalid image/);
  });

  it('turns assistant tool calls (JSON string arguments) into Ollama tool calls (object arguments)', () => {
    const { body } = translate({
      messages: [
        { role: 'user', content: 'Weather in Paris and Oslo?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{"city":"Oslo"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_2', content: '14:00' },
        { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: '21°C' }] },
      ],
    });
    expect(body.messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: '',
        tool_calls: [
          { id: 'call_1', function: { name: 'get_weather', arguments: { city: 'Paris' } } },
          { id: 'call_2', function: { name: 'get_time', arguments: { city: 'Oslo' } } },
        ],
      },
      { role: 'tool', content: '14:00', tool_call_id: 'call_2', tool_name: 'get_time' },
      { role: 'tool', content: '21°C', tool_call_id: 'call_1', tool_name: 'get_weather' },
    ]);
  });

  it('leaves tool_name out when no earlier assistant message made that call', () => {
    const { body } = translate({ messages: [{ role: 'tool', tool_call_id: 'call_x', content: 'ok' }] });
    expect(body.messages).toEqual([{ role: 'tool', content: 'ok', tool_call_id: 'call_x' }]);
  });

  it('refuses tool call arguments that are not a JSON object', () => {
    const call = (args: string) => ({
      messages: [
        {
          role: 'assistant',
          content: '',
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: args } }],
        },
      ],
    });
    const err = thrown(() => translate(call('{"city":')));
    expect(err.param).toBe('messages[0].tool_calls[0].function.arguments');
    expect(() => translate(call('[1,2]'))).toThrow(OpenAiRequestError);
    expect(translate(call('')).body.messages[0]?.tool_calls?.[0]?.function.arguments).toEqual({});
  });

  it('passes an assistant reasoning back as Ollama thinking', () => {
    const { body } = translate({ messages: [{ role: 'assistant', content: 'Yes.', reasoning: 'Because.' }] });
    expect(body.messages).toEqual([{ role: 'assistant', content: 'Yes.', thinking: 'Because.' }]);
  });
});

describe('toOllamaChat: tools and tool_choice', () => {
  const tools = [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Weather for a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        strict: true,
      },
    },
    { type: 'function', function: { name: 'get_time' } },
  ];

  it('passes tools in Ollama’s shape (OpenAI-only fields like strict dropped)', () => {
    const { body } = translate({ ...user('hi'), tools });
    expect(body.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather for a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      },
      { type: 'function', function: { name: 'get_time' } },
    ]);
  });

  it('tool_choice none sends no tools; a named function sends only that one; auto/required send all', () => {
    expect(translate({ ...user('hi'), tools, tool_choice: 'none' }).body.tools).toBeUndefined();
    const named = translate({
      ...user('hi'),
      tools,
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    expect(named.body.tools?.map((t) => t.function.name)).toEqual(['get_time']);
    expect(translate({ ...user('hi'), tools, tool_choice: 'required' }).body.tools).toHaveLength(2);
    expect(translate({ ...user('hi'), tools, tool_choice: 'auto' }).body.tools).toHaveLength(2);
  });

  it('refuses a tool_choice naming a function that is not in tools', () => {
    const err = thrown(() =>
      translate({ ...user('hi'), tools, tool_choice: { type: 'function', function: { name: 'nope' } } }),
    );
    expect(err.param).toBe('tool_choice');
  });
});

describe('toOllamaChat: reasoning_effort', () => {
  it('maps none to think:false, minimal to low, and low/medium/high through', () => {
    expect(translate({ ...user('hi'), reasoning_effort: 'none' }).body.think).toBe(false);
    expect(translate({ ...user('hi'), reasoning_effort: 'minimal' }).body.think).toBe('low');
    expect(translate({ ...user('hi'), reasoning_effort: 'high' }).body.think).toBe('high');
    expect(translate(user('hi')).body.think).toBeUndefined();
  });
});

describe('parseChatCompletionRequest', () => {
  it('accepts fields Anvil ignores (user, metadata, store, logit_bias)', () => {
    const req = parseChatCompletionRequest({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      user: 'u1',
      metadata: { a: '1' },
      store: false,
      logit_bias: {},
      n: 1,
    });
    expect(req.model).toBe('m');
  });

  it('answers 400 naming the parameter, in OpenAI’s bracket notation', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ model: 'm', messages: [] }, 'messages', /at least one message/],
      [{ messages: [{ role: 'user', content: 'x' }] }, 'model', /expected string/],
      [{ model: 'm', messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role', /role must be one of/],
      [
        { model: 'm', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] },
        'messages[0].content',
        /audio and file parts are not supported/,
      ],
      [{ model: 'm', messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].tool_call_id', /expected string/],
      [{ model: 'm', messages: [{ role: 'user', content: 'x' }], n: 3 }, 'n', /one choice/],
      [{ model: 'm', messages: [{ role: 'user', content: 'x' }], temperature: 3 }, 'temperature', /<=2/],
    ];
    for (const [body, param, message] of cases) {
      const err = thrown(() => parseChatCompletionRequest(body));
      expect(err.status).toBe(400);
      expect(err.param).toBe(param);
      expect(err.message).toMatch(message);
    }
  });
});
