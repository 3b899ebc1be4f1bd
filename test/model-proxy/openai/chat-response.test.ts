import type OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { fromOllamaChat, newCompletionId, newToolCallId } from '../../../model-proxy/openai/chat.js';

const ctx = { id: 'chatcmpl-1', created: 1_700_000_000, model: 'llama3.1:8b' };

describe('fromOllamaChat', () => {
  it('builds a chat.completion with usage from prompt_eval_count and eval_count', () => {
    const out = fromOllamaChat(
      {
        model: 'llama3.1:8b',
        created_at: '2025-01-01T00:00:00Z',
        message: { role: 'assistant', content: 'Hello there.' },
        done: true,
        done_reason: 'stop',
        prompt_eval_count: 26,
        eval_count: 298,
      },
      ctx,
    );
    // The SDK's own type accepts it (a compile-time check of the shape).
    const typed: OpenAI.Chat.ChatCompletion = out;
    expect(typed).toEqual({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'llama3.1:8b',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello there.', refusal: null },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 26, completion_tokens: 298, total_tokens: 324 },
    });
  });

  it('maps done_reason length to finish_reason length', () => {
    const out = fromOllamaChat({ message: { content: 'cut' }, done: true, done_reason: 'length' }, ctx);
    expect(out.choices[0]?.finish_reason).toBe('length');
  });

  it('maps load/unload and missing done_reason to stop, and missing counts to 0', () => {
    for (const done_reason of ['load', undefined]) {
      const out = fromOllamaChat({ message: { content: '' }, done: true, done_reason }, ctx);
      expect(out.choices[0]?.finish_reason).toBe('stop');
      expect(out.usage).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
    }
  });

  it('turns Ollama tool calls (object arguments) into OpenAI tool calls (JSON strings), finish_reason tool_calls', () => {
    const ids = ['call_a', 'call_b'];
    const out = fromOllamaChat(
      {
        message: {
          role: 'assistant',
          content: '',
          tool_calls: [
            { function: { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } } },
            { id: 'call_from_ollama', function: { index: 1, name: 'get_time', arguments: {} } },
            { function: { name: 'raw', arguments: '{"already":"json"}' } },
          ],
        },
        done: true,
        done_reason: 'stop',
        prompt_eval_count: 122,
        eval_count: 33,
      },
      { ...ctx, toolCallId: () => ids.shift() ?? 'call_z' },
    );
    const choice = out.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toEqual([
      {
        id: 'call_a',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
      },
      { id: 'call_from_ollama', type: 'function', function: { name: 'get_time', arguments: '{}' } },
      { id: 'call_b', type: 'function', function: { name: 'raw', arguments: '{"already":"json"}' } },
    ]);
    expect(JSON.parse(choice.message.tool_calls![0]!.function.arguments)).toEqual({ city: 'Paris', unit: 'celsius' });
  });

  it('keeps content next to tool calls when the model wrote some, and carries thinking as reasoning', () => {
    const out = fromOllamaChat(
      {
        message: {
          content: 'Let me check.',
          thinking: 'Need weather.',
          tool_calls: [{ function: { name: 'f', arguments: {} } }],
        },
        done: true,
      },
      ctx,
    );
    expect(out.choices[0]?.message).toMatchObject({ content: 'Let me check.', reasoning: 'Need weather.' });
    expect(out.choices[0]?.message.tool_calls?.[0]?.id).toMatch(/^call_[A-Za-z0-9_-]{24}$/);
  });
});

describe('ids', () => {
  it('makes distinct chatcmpl- and call_ ids', () => {
    expect(newCompletionId()).toMatch(/^chatcmpl-[A-Za-z0-9_-]{24}$/);
    expect(newCompletionId()).not.toBe(newCompletionId());
    expect(newToolCallId()).not.toBe(newToolCallId());
  });
});
