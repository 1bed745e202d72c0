import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/core/errors.js';
import { OpenAiCompatibleProvider } from '../src/core/llm/openaiCompatible.js';
import { ProviderError, kindForResponse } from '../src/core/llm/providerError.js';
import { withRetries } from '../src/core/llm/retry.js';
import { fileShapeMemory, inMemoryShapeMemory, type ShapeMemory } from '../src/core/llm/shapeMemory.js';
import type { LlmRequest } from '../src/core/llm/types.js';
import { FakeOpenAiServer, llamaCppValidationError, type ShapeRejections } from './fakes/llmServers.js';

const schema = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['APPROVED', 'REJECTED'] } },
  required: ['status'],
};
const jsonRequest: LlmRequest = {
  system: 'You review diffs.',
  messages: [{ role: 'user', content: 'Review this.' }],
  jsonSchema: schema,
  maxOutputTokens: 64,
};

describe('structured output degrades instead of failing (OpenAI-compatible servers)', () => {
  const servers: FakeOpenAiServer[] = [];
  const start = async (rejects: ShapeRejections) => {
    const server = await FakeOpenAiServer.start({ rejects, fallback: { text: '{"status":"APPROVED"}' } });
    servers.push(server);
    return server;
  };
  const provider = (server: FakeOpenAiServer, memory: ShapeMemory, debug: string[] = [], model = 'smollm2') =>
    new OpenAiCompatibleProvider({
      provider: 'openai',
      baseUrl: server.url,
      model,
      timeoutMs: 5000,
      keyEnvVar: 'OPENAI_API_KEY',
      shapeMemory: memory,
      debug: (line) => debug.push(line),
    });

  afterAll(async () => {
    for (const server of servers) await server.close();
  });

  it('a server refusing json_schema (llama-cpp 500) gets json_object with the schema in the prompt, at once; the next run starts there', async () => {
    const server = await start({ jsonSchema: true });
    const memory = inMemoryShapeMemory();
    const debug: string[] = [];
    const response = await provider(server, memory, debug).complete(jsonRequest);
    expect(response.text).toBe('{"status":"APPROVED"}');
    expect(server.requests.map((r) => r.body.response_format?.type)).toEqual(['json_schema', 'json_object']);
    const second = server.requests[1]!.body;
    expect(second.messages[0].role).toBe('system');
    expect(second.messages[0].content).toContain('You review diffs.');
    expect(second.messages[0].content).toContain(JSON.stringify(schema));
    // The first request carried the schema in response_format, not in the prompt.
    expect(server.requests[0]!.body.messages[0].content).not.toContain(JSON.stringify(schema));
    const remembered = memory.get(server.url, 'smollm2');
    expect(remembered).toMatchObject({ jsonMode: 'json_object', maxTokensField: 'max_tokens' });
    expect(remembered!.reason).toMatch(/^HTTP 500: .*Input should be 'text' or 'json_object'/);
    expect(debug.join('\n')).toMatch(/rejected json_schema with max_tokens .*; trying json_object with max_tokens/);

    server.reset();
    const laterDebug: string[] = [];
    await provider(server, memory, laterDebug).complete(jsonRequest);
    expect(server.requests.map((r) => r.body.response_format?.type)).toEqual(['json_object']);
    expect(laterDebug.join('\n')).toMatch(/using json_object for JSON answers .*remembered since .*HTTP 500/);
    // Memory is per base URL + model: another model on the same server starts from json_schema.
    server.reset();
    await provider(server, memory, [], 'other-model').complete(jsonRequest);
    expect(server.requests[0]!.body.response_format.type).toBe('json_schema');
  });

  it('a retry after a timeout starts from the downgraded shape, not from json_schema again', async () => {
    const server = await start({ jsonSchema: true });
    server.enqueue({ text: '{"status":"APPROVED"}', delayMs: 1500 });
    const client = new OpenAiCompatibleProvider({
      provider: 'openai',
      baseUrl: server.url,
      model: 'slow',
      timeoutMs: 500,
      keyEnvVar: 'OPENAI_API_KEY',
      shapeMemory: inMemoryShapeMemory(),
    });
    const response = await withRetries(
      () => client.complete(jsonRequest),
      { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5 },
      { name: 'openai (slow)', keyEnvVar: 'OPENAI_API_KEY' },
    );
    expect(response.text).toBe('{"status":"APPROVED"}');
    expect(server.requests.map((r) => r.body.response_format?.type)).toEqual([
      'json_schema',
      'json_object',
      'json_object',
    ]);
  });

  it('a server with no JSON mode at all gets plain text with the schema in the prompt (3 requests, then 1)', async () => {
    const server = await start({ jsonSchema: true, jsonObject: true });
    const memory = inMemoryShapeMemory();
    await provider(server, memory).complete(jsonRequest);
    expect(server.requests.map((r) => r.body.response_format?.type ?? 'none')).toEqual([
      'json_schema',
      'json_object',
      'none',
    ]);
    expect(server.requests[2]!.body.messages[0].content).toContain(JSON.stringify(schema));
    expect(memory.get(server.url, 'smollm2')?.jsonMode).toBe('text');
    server.reset();
    await provider(server, memory).complete(jsonRequest);
    expect(server.requests).toHaveLength(1);
  });

  it('max_tokens refused ("use max_completion_tokens") is switched once and remembered; requests without a schema too', async () => {
    const server = await start({ maxTokens: true });
    const memory = inMemoryShapeMemory();
    const plain: LlmRequest = { messages: [{ role: 'user', content: 'hi' }], maxOutputTokens: 32 };
    await provider(server, memory).complete(plain);
    expect(server.requests.map((r) => Object.keys(r.body).filter((k) => k.startsWith('max_')))).toEqual([
      ['max_tokens'],
      ['max_completion_tokens'],
    ]);
    expect(server.requests[1]!.body.max_completion_tokens).toBe(32);
    expect(memory.get(server.url, 'smollm2')).toMatchObject({
      jsonMode: 'json_schema',
      maxTokensField: 'max_completion_tokens',
    });
    expect(memory.get(server.url, 'smollm2')!.reason).toMatch(/Unsupported parameter: 'max_tokens'/);
  });

  it('a rejection that is not about the shape (unknown model) is neither downgraded nor remembered', async () => {
    const server = await start({});
    server.enqueue({ status: 400, message: 'model "nope" not found, try pulling it first' });
    const memory = inMemoryShapeMemory();
    const error = await provider(server, memory)
      .complete(jsonRequest)
      .then(
        () => undefined,
        (e: unknown) => e as ProviderError,
      );
    expect(error).toBeInstanceOf(ProviderError);
    expect(error!.kind).toBe('bad_request');
    expect(server.requests).toHaveLength(1);
    expect(memory.get(server.url, 'smollm2')).toBeUndefined();
  });

  it('when every mode is refused the error surfaces after one request per mode, not a retry storm', async () => {
    const server = await start({});
    const refusal = llamaCppValidationError('json_schema', ['text']);
    const body = refusal.body as { error: { message: string } };
    server.enqueue(...Array.from({ length: 3 }, () => ({ status: 500, message: body.error.message })));
    const attempts: number[] = [];
    const failure = await withRetries(
      (n) => {
        attempts.push(n);
        return provider(server, inMemoryShapeMemory()).complete(jsonRequest);
      },
      { maxRetries: 4, baseDelayMs: 1, maxDelayMs: 5 },
      { name: 'openai (smollm2)', keyEnvVar: 'OPENAI_API_KEY' },
    ).then(
      () => undefined,
      (e: unknown) => e as AppError,
    );
    expect(failure).toBeInstanceOf(AppError);
    expect(failure!.code).toBe('provider_rejected');
    expect(attempts).toEqual([1]);
    expect(server.requests).toHaveLength(3);
  });
});

describe('which failures are retried', () => {
  let server: FakeOpenAiServer;
  beforeAll(async () => {
    server = await FakeOpenAiServer.start();
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  it('classifies by status and body: validation bodies are final whatever the status', () => {
    const llamaBody = JSON.stringify(llamaCppValidationError('json_schema', ['text', 'json_object']).body);
    expect(kindForResponse(500, llamaBody)).toBe('bad_request');
    expect(kindForResponse(500, '{"error":{"message":"CUDA out of memory"}}')).toBe('server');
    expect(kindForResponse(503, '<html>Service Unavailable</html>')).toBe('server');
    expect(kindForResponse(422, '{"detail":[{"loc":["body","messages"],"msg":"Field required"}]}')).toBe('bad_request');
    for (const status of [408, 409, 425, 429, 500, 502])
      expect(new ProviderError(kindForResponse(status, ''), 'x').retryable).toBe(true);
    for (const status of [400, 401, 403, 404, 422])
      expect(new ProviderError(kindForResponse(status, ''), 'x').retryable).toBe(false);
  });

  it('409 and 425 are retried and then succeed; a validation 500 is sent once', async () => {
    const memory = inMemoryShapeMemory();
    const client = new OpenAiCompatibleProvider({
      provider: 'openai',
      baseUrl: server.url,
      model: 'm',
      timeoutMs: 5000,
      keyEnvVar: 'OPENAI_API_KEY',
      shapeMemory: memory,
    });
    const policy = { maxRetries: 3, baseDelayMs: 1, maxDelayMs: 5 };
    const label = { name: 'openai (m)', keyEnvVar: 'OPENAI_API_KEY' };
    server.enqueue({ status: 409, message: 'conflict' }, { status: 425, message: 'too early' }, { text: 'ok' });
    const ok = await withRetries(
      () => client.complete({ messages: [{ role: 'user', content: 'x' }], maxOutputTokens: 8 }),
      policy,
      label,
    );
    expect(ok.text).toBe('ok');
    expect(server.requests).toHaveLength(3);

    server.reset();
    const { message } = (llamaCppValidationError('json_object', ['text']).body as { error: { message: string } }).error;
    server.enqueue({ status: 500, message });
    const error = await withRetries(
      () => client.complete({ messages: [{ role: 'user', content: 'x' }], maxOutputTokens: 8 }),
      policy,
      label,
    ).then(
      () => undefined,
      (e: unknown) => e as AppError,
    );
    expect(error?.code).toBe('provider_rejected');
    expect(server.requests).toHaveLength(1);
  });
});

describe('the request-shape memory file', () => {
  it('survives across instances, keys by base URL + model, and starts afresh from a corrupt file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aidb-shapes-'));
    const file = path.join(dir, 'sub', 'request-shapes.json');
    const shape = {
      jsonMode: 'json_object' as const,
      maxTokensField: 'max_tokens' as const,
      reason: 'HTTP 500: Input should be',
      updatedAt: '2026-12-01T00:00:00.000Z',
    };
    fileShapeMemory(file).set('http://127.0.0.1:1/v1/', 'smollm2', shape);
    expect(fileShapeMemory(file).get('http://127.0.0.1:1/v1', 'smollm2')).toEqual(shape);
    expect(fileShapeMemory(file).get('http://127.0.0.1:1/v1', 'other')).toBeUndefined();
    expect(JSON.parse(readFileSync(file, 'utf8'))).toHaveProperty(['http://127.0.0.1:1/v1 smollm2', 'reason']);
    writeFileSync(file, '{ not json');
    expect(fileShapeMemory(file).get('http://127.0.0.1:1/v1', 'smollm2')).toBeUndefined();
    fileShapeMemory(file).set('http://127.0.0.1:1/v1', 'smollm2', shape);
    expect(fileShapeMemory(file).get('http://127.0.0.1:1/v1', 'smollm2')?.jsonMode).toBe('json_object');
  });
});
