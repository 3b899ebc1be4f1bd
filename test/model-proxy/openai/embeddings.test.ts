import type OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import {
  base64ToFloats,
  encodingFormatOf,
  floatsToBase64,
  fromOllamaEmbed,
  toOllamaEmbed,
} from '../../../model-proxy/openai/embeddings.js';
import { OpenAiRequestError, parseEmbeddingsRequest } from '../../../model-proxy/openai/schemas.js';

const vectors = [
  [0.1, -0.25, 3.5, -1e-7],
  [Math.PI, -Math.E, 0, 65504.5],
].map((v) => v.map(Math.fround));

describe('toOllamaEmbed', () => {
  it('passes model, input (string or list) and dimensions', () => {
    expect(toOllamaEmbed(parseEmbeddingsRequest({ model: 'nomic-embed-text', input: 'hi' }))).toEqual({
      model: 'nomic-embed-text',
      input: 'hi',
    });
    const req = parseEmbeddingsRequest({
      model: 'e',
      input: ['a', 'b'],
      dimensions: 256,
      user: 'u',
      encoding_format: 'base64',
    });
    expect(toOllamaEmbed(req)).toEqual({ model: 'e', input: ['a', 'b'], dimensions: 256 });
    expect(encodingFormatOf(req)).toBe('base64');
    expect(encodingFormatOf(parseEmbeddingsRequest({ model: 'e', input: 'x' }))).toBe('float');
  });

  it('refuses token-id input, an empty list and an unknown encoding with a 400 naming the field', () => {
    for (const [body, param] of [
      [{ model: 'e', input: [[1, 2, 3]] }, 'input'],
      [{ model: 'e', input: [1, 2, 3] }, 'input'],
      [{ model: 'e', input: [] }, 'input'],
      [{ model: 'e', input: 'x', encoding_format: 'hex' }, 'encoding_format'],
    ] as const) {
      let err: unknown;
      try {
        parseEmbeddingsRequest(body);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(OpenAiRequestError);
      expect((err as OpenAiRequestError).param).toBe(param);
    }
  });
});

describe('fromOllamaEmbed', () => {
  const res = { model: 'nomic-embed-text', embeddings: vectors, prompt_eval_count: 7, total_duration: 1 };

  it('answers float arrays in order, with usage from prompt_eval_count', () => {
    const out = fromOllamaEmbed(res, { model: 'nomic-embed-text', encodingFormat: 'float' });
    const typed: OpenAI.CreateEmbeddingResponse = out as OpenAI.CreateEmbeddingResponse;
    expect(typed).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: vectors[0] },
        { object: 'embedding', index: 1, embedding: vectors[1] },
      ],
      model: 'nomic-embed-text',
      usage: { prompt_tokens: 7, total_tokens: 7 },
    });
  });

  it('answers base64 of little-endian float32s that decode back to exactly the same floats', () => {
    const out = fromOllamaEmbed(res, { model: 'm', encodingFormat: 'base64' });
    out.data.forEach((d, i) => {
      expect(typeof d.embedding).toBe('string');
      const buf = Buffer.from(d.embedding as string, 'base64');
      expect(buf.length).toBe(vectors[i]!.length * 4);
      // Decoded the way the openai SDK does it (a Float32Array view on the bytes, x86/ARM are LE).
      const view = Array.from(new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4));
      expect(view).toEqual(vectors[i]);
      expect(base64ToFloats(d.embedding as string)).toEqual(vectors[i]);
    });
    // Little-endian on the wire, whatever the host: 1.0f is 00 00 80 3f.
    expect(Buffer.from(floatsToBase64([1]), 'base64')).toEqual(Buffer.from([0, 0, 0x80, 0x3f]));
  });

  it('reports 0 tokens when Ollama sent no count', () => {
    const out = fromOllamaEmbed({ embeddings: [[1]] }, { model: 'm', encodingFormat: 'float' });
    expect(out.usage).toEqual({ prompt_tokens: 0, total_tokens: 0 });
  });
});
