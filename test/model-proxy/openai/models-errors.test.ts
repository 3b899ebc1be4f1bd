import { describe, expect, it } from 'vitest';
import {
  ForbiddenError,
  LimitError,
  UnauthorizedError,
  UpstreamRefusedError,
  UpstreamUnavailableError,
  ValidationError,
} from '../../../core/errors.js';
import { openAiError, openAiErrorType, toOpenAiError } from '../../../model-proxy/openai/errors.js';
import { modelList, modelObject } from '../../../model-proxy/openai/models.js';
import { OpenAiRequestError } from '../../../model-proxy/openai/schemas.js';

describe('modelList', () => {
  it('lists models as OpenAI model objects, owned_by the name’s namespace', () => {
    expect(modelList(['llama3.1:8b', 'acme/coder:7b', 'hf.co/org/model:Q4'], 1_700_000_000)).toEqual({
      object: 'list',
      data: [
        { id: 'llama3.1:8b', object: 'model', created: 1_700_000_000, owned_by: 'library' },
        { id: 'acme/coder:7b', object: 'model', created: 1_700_000_000, owned_by: 'acme' },
        { id: 'hf.co/org/model:Q4', object: 'model', created: 1_700_000_000, owned_by: 'org' },
      ],
    });
    expect(modelList([], 1)).toEqual({ object: 'list', data: [] });
    expect(modelObject('nomic-embed-text', 5)).toEqual({
      id: 'nomic-embed-text',
      object: 'model',
      created: 5,
      owned_by: 'library',
    });
  });
});

describe('openAiError', () => {
  it('writes {"error":{"message","type","param","code"}} with OpenAI’s type for each status', () => {
    expect(openAiError(400, 'bad', null, { param: 'messages' })).toEqual({
      error: { message: 'bad', type: 'invalid_request_error', param: 'messages', code: null },
    });
    expect(openAiError(401, 'invalid API key')).toEqual({
      error: { message: 'invalid API key', type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
    });
    expect(openAiError(429, 'slow down').error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
    expect(openAiError(429, 'budget', 'monthly_budget', { type: 'insufficient_quota' }).error).toMatchObject({
      type: 'insufficient_quota',
      code: 'monthly_budget',
    });
    const types = [400, 401, 403, 404, 409, 413, 422, 429, 500, 503].map(openAiErrorType);
    expect(types).toEqual([
      'invalid_request_error',
      'invalid_request_error',
      'request_forbidden',
      'invalid_request_error',
      'invalid_request_error',
      'invalid_request_error',
      'invalid_request_error',
      'requests',
      'server_error',
      'server_error',
    ]);
  });
});

describe('toOpenAiError', () => {
  it('keeps an AnvilError’s status, message and stable code', () => {
    expect(
      toOpenAiError(new ForbiddenError('model "x" is not included in the starter plan', 'model_not_allowed')),
    ).toEqual({
      status: 403,
      body: {
        error: {
          message: 'model "x" is not included in the starter plan',
          type: 'request_forbidden',
          param: null,
          code: 'model_not_allowed',
        },
      },
    });
    expect(toOpenAiError(new UnauthorizedError('invalid API key', 'invalid_api_key')).body.error.code).toBe(
      'invalid_api_key',
    );
    expect(toOpenAiError(new ValidationError('request body is not valid JSON', 'invalid_json')).status).toBe(400);
    expect(toOpenAiError(new UpstreamUnavailableError('Ollama', 'down')).body.error.type).toBe('server_error');
  });

  it('carries param from request validation and Retry-After from limits', () => {
    expect(
      toOpenAiError(new OpenAiRequestError('bad image', 'messages[0].content[1].image_url')).body.error.param,
    ).toBe('messages[0].content[1].image_url');
    const limit = toOpenAiError(new LimitError('tenant budget reached; resets on the 1st', 3600));
    expect(limit).toMatchObject({ status: 429, retryAfterSeconds: 3600, body: { error: { code: 'limit_reached' } } });
  });

  it('turns Ollama’s 404 into model_not_found on param model', () => {
    const out = toOpenAiError(new UpstreamRefusedError('Ollama', 404, 'model "nope" not found, try pulling it first'));
    expect(out.status).toBe(404);
    expect(out.body.error).toMatchObject({ type: 'invalid_request_error', code: 'model_not_found', param: 'model' });
  });

  it('hides the detail of an unexpected error behind the request id', () => {
    const out = toOpenAiError(new TypeError('secret stack detail'), 'req-1');
    expect(out).toEqual({
      status: 500,
      body: { error: { message: 'internal error (request req-1)', type: 'server_error', param: null, code: null } },
    });
  });
});
