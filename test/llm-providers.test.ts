import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/core/config.js';
import { AppError } from '../src/core/errors.js';
import { GeminiProvider, toGeminiSchema } from '../src/core/llm/gemini.js';
import { OpenAiCompatibleProvider, openRouterAppHeaders } from '../src/core/llm/openaiCompatible.js';
import { ProviderError } from '../src/core/llm/providerError.js';
import { chooseModel, createProvider } from '../src/core/llm/providers.js';
import type { LlmRequest } from '../src/core/llm/types.js';
import { FakeGeminiServer, FakeOpenAiServer } from './fakes/llmServers.js';

const request: LlmRequest = {
  system: 'You are terse.',
  messages: [{ role: 'user', content: 'Say hi' }],
  maxOutputTokens: 256,
  temperature: 0.2,
};

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe('Gemini provider against the fake generateContent server', () => {
  let server: FakeGeminiServer;
  const gemini = (timeoutMs = 5000, apiKey = 'test-key') =>
    new GeminiProvider({ apiKey, model: 'gemini-2.5-flash', baseUrl: server.url, timeoutMs });

  beforeAll(async () => {
    server = await FakeGeminiServer.start({ apiKey: 'test-key' });
  });
  afterAll(() => server.close());

  it('sends the system instruction, generation config and key; reads text and usage incl. thinking tokens', async () => {
    server.enqueue({ text: 'hi there', inputTokens: 17, outputTokens: 3, thoughtsTokens: 40 });
    const response = await gemini().complete(request);
    expect(response.text).toBe('hi there');
    expect(response.inputTokens).toBe(17);
    expect(response.outputTokens).toBe(43);
    expect(response.provider).toBe('gemini');
    expect(response.usageEstimated).toBeUndefined();
    const sent = server.requests.at(-1)!;
    expect(sent.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(sent.headers['x-goog-api-key']).toBe('test-key');
    expect(sent.body.systemInstruction.parts[0].text).toBe('You are terse.');
    expect(sent.body.contents).toEqual([{ role: 'user', parts: [{ text: 'Say hi' }] }]);
    expect(sent.body.generationConfig).toMatchObject({ maxOutputTokens: 256, temperature: 0.2 });
  });

  it('asks for JSON with a Gemini-dialect response schema', async () => {
    server.enqueue({ text: '{"ok":true}' });
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      additionalProperties: false,
      properties: {
        ok: { type: 'boolean' },
        note: { type: ['string', 'null'] },
        list: { type: 'array', items: { type: 'string', additionalProperties: false } },
      },
      required: ['ok'],
    };
    await gemini().complete({ ...request, jsonSchema: schema });
    const config = server.requests.at(-1)!.body.generationConfig;
    expect(config.responseMimeType).toBe('application/json');
    expect(config.responseSchema).toEqual({
      type: 'object',
      properties: {
        ok: { type: 'boolean' },
        note: { type: 'string', nullable: true },
        list: { type: 'array', items: { type: 'string' } },
      },
      required: ['ok'],
    });
    expect(toGeminiSchema({ type: 'string', enum: ['a', 'b'], description: 'd' })).toEqual({
      type: 'string',
      enum: ['a', 'b'],
      description: 'd',
    });
  });

  it('classifies a bad key (Gemini answers 400 API_KEY_INVALID) as auth', async () => {
    const error = await failure(gemini(5000, 'wrong').complete(request));
    expect(error.kind).toBe('auth');
    expect(error.status).toBe(400);
    expect(error.retryable).toBe(false);
  });

  it('reads the RetryInfo delay of a 429 and marks it retryable', async () => {
    server.enqueue({ status: 429, retryDelay: '1.5s', message: 'Resource has been exhausted' });
    const error = await failure(gemini().complete(request));
    expect(error.kind).toBe('rate_limited');
    expect(error.retryAfterMs).toBe(1500);
    expect(error.retryable).toBe(true);
  });

  it('classifies 503 as a retryable server error and 404 as a bad request', async () => {
    server.enqueue({ status: 503 }, { status: 404, message: 'models/nope is not found' });
    expect((await failure(gemini().complete(request))).kind).toBe('server');
    const notFound = await failure(gemini().complete(request));
    expect(notFound.kind).toBe('bad_request');
    expect(notFound.message).toContain('not found');
  });

  it('times out a slow answer', async () => {
    server.enqueue({ text: 'late', delayMs: 3000 });
    const started = Date.now();
    const error = await failure(gemini(300).complete(request));
    expect(error.kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('reports a blocked answer as invalid_response, carrying the billed prompt tokens', async () => {
    server.enqueue({ text: '', finishReason: 'SAFETY', inputTokens: 12, outputTokens: 0 });
    const error = await failure(gemini().complete(request));
    expect(error.kind).toBe('invalid_response');
    expect(error.billed).toEqual({ inputTokens: 12, outputTokens: 0 });
  });

  it('marks usage as estimated when the server sends none', async () => {
    server.enqueue({ text: 'no usage here', omitUsage: true });
    const response = await gemini().complete(request);
    expect(response.usageEstimated).toBe(true);
  });
});

describe('OpenAI-compatible provider (OpenRouter and plain servers)', () => {
  let server: FakeOpenAiServer;
  const openrouter = (timeoutMs = 5000, apiKey = 'or-key') =>
    new OpenAiCompatibleProvider({
      provider: 'openrouter',
      baseUrl: server.url,
      apiKey,
      model: 'anthropic/claude-sonnet-4.5',
      timeoutMs,
      keyEnvVar: 'OPENROUTER_API_KEY',
      headers: openRouterAppHeaders('https://example.test/app'),
      extraBody: { usage: { include: true } },
    });

  beforeAll(async () => {
    server = await FakeOpenAiServer.start({ apiKey: 'or-key' });
  });
  afterAll(() => server.close());

  it('posts chat completions with attribution headers and usage accounting; reads cost', async () => {
    server.enqueue({ text: 'hello', inputTokens: 20, outputTokens: 5, cost: 0.000135 });
    const response = await openrouter().complete(request);
    expect(response).toMatchObject({
      text: 'hello',
      inputTokens: 20,
      outputTokens: 5,
      costUsd: 0.000135,
      provider: 'openrouter',
    });
    const sent = server.requests.at(-1)!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe('Bearer or-key');
    expect(sent.headers['http-referer']).toBe('https://example.test/app');
    expect(sent.headers['x-openrouter-title']).toBe('ai-dev-bot');
    expect(sent.body).toMatchObject({
      model: 'anthropic/claude-sonnet-4.5',
      max_tokens: 256,
      temperature: 0.2,
      stream: false,
      usage: { include: true },
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Say hi' },
      ],
    });
  });

  it('sends a json_schema response_format when asked for JSON', async () => {
    server.enqueue({ text: '{"a":1}' });
    await openrouter().complete({ ...request, jsonSchema: { type: 'object', properties: { a: { type: 'number' } } } });
    expect(server.requests.at(-1)!.body.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: { strict: true },
    });
  });

  it('401 is auth, 402 is "OpenRouter credits exhausted", neither retryable', async () => {
    const auth = await failure(openrouter(5000, 'bad').complete(request));
    expect(auth).toMatchObject({ kind: 'auth', status: 401, retryable: false });
    server.enqueue({ status: 402 });
    const credits = await failure(openrouter().complete(request));
    expect(credits.kind).toBe('provider_credits');
    expect(credits.message).toMatch(/^OpenRouter credits exhausted/);
  });

  it('honours Retry-After in seconds and as an HTTP date', async () => {
    server.enqueue({ status: 429, retryAfter: '2' });
    expect((await failure(openrouter().complete(request))).retryAfterMs).toBe(2000);
    server.enqueue({ status: 429, retryAfter: new Date(Date.now() + 5000).toUTCString() });
    const dated = await failure(openrouter().complete(request));
    expect(dated.retryAfterMs).toBeGreaterThan(3000);
    expect(dated.retryAfterMs).toBeLessThanOrEqual(5000);
  });

  it('treats an error inside a 200 body as a failure and keeps the billed usage', async () => {
    server.enqueue({
      bodyError: { code: 502, message: 'upstream provider failed' },
      usage: { inputTokens: 30, outputTokens: 2, cost: 0.00002 },
    });
    const error = await failure(openrouter().complete(request));
    expect(error.kind).toBe('server');
    expect(error.billed).toEqual({ inputTokens: 30, outputTokens: 2, costUsd: 0.00002 });
  });

  it('5xx is retryable, a non-JSON 200 is invalid_response', async () => {
    server.enqueue({ status: 500 }, { raw: '<html>proxy error</html>', contentType: 'text/html' });
    expect((await failure(openrouter().complete(request))).kind).toBe('server');
    expect((await failure(openrouter().complete(request))).kind).toBe('invalid_response');
  });

  it('times out a slow server, and reports a closed port as a network error', async () => {
    server.enqueue({ text: 'late', delayMs: 3000 });
    expect((await failure(openrouter(300).complete(request))).kind).toBe('timeout');
    const closed = await FakeOpenAiServer.start();
    const url = closed.url;
    await closed.close();
    const provider = new OpenAiCompatibleProvider({
      provider: 'openai',
      baseUrl: url,
      model: 'm',
      timeoutMs: 2000,
      keyEnvVar: 'OPENAI_API_KEY',
    });
    const error = await failure(provider.complete(request));
    expect(error.kind).toBe('network');
    expect(error.retryable).toBe(true);
  });

  it('works keyless against a local server and flags missing usage', async () => {
    const local = await FakeOpenAiServer.start();
    local.enqueue({ text: 'local answer', omitUsage: true });
    const provider = new OpenAiCompatibleProvider({
      provider: 'openai',
      baseUrl: local.url,
      model: 'llama3',
      timeoutMs: 2000,
      keyEnvVar: 'OPENAI_API_KEY',
    });
    const response = await provider.complete(request);
    expect(response).toMatchObject({ text: 'local answer', usageEstimated: true, provider: 'openai' });
    expect(local.requests[0]!.headers.authorization).toBeUndefined();
    expect(local.requests[0]!.body.max_tokens).toBe(256);
    // OpenAI's own API: max_completion_tokens (its reasoning models reject max_tokens).
    const official = new OpenAiCompatibleProvider({
      provider: 'openai',
      baseUrl: local.url,
      apiKey: 'k',
      model: 'gpt-5',
      timeoutMs: 2000,
      keyEnvVar: 'OPENAI_API_KEY',
      maxTokensField: 'max_completion_tokens',
    });
    await official.complete(request);
    expect(local.requests[1]!.body).toMatchObject({ max_completion_tokens: 256 });
    expect(local.requests[1]!.body.max_tokens).toBeUndefined();
    await local.close();
  });
});

describe('provider factory', () => {
  const config = configSchema.parse({});

  it('names the env var to set when a key is missing (exit 2)', () => {
    const cases: Array<[string, RegExp]> = [
      ['gemini', /GEMINI_API_KEY or GOOGLE_API_KEY/],
      ['openrouter', /OPENROUTER_API_KEY/],
      ['openai', /OPENAI_API_KEY/],
    ];
    for (const [provider, pattern] of cases) {
      let error: unknown;
      try {
        createProvider(chooseModel(config, 'architect', { provider }), config, {});
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).exitCode).toBe(2);
      expect((error as AppError).message).toMatch(pattern);
    }
  });

  it('accepts GOOGLE_API_KEY, keyless OPENAI_BASE_URL servers, and rejects unknown providers', () => {
    const gemini = createProvider(chooseModel(config, 'architect'), config, { GOOGLE_API_KEY: 'k' });
    expect(gemini.keyEnvVar).toBe('GOOGLE_API_KEY');
    const local = configSchema.parse({ llm: { openai: { baseUrl: 'http://127.0.0.1:1/v1' } } });
    expect(
      createProvider(chooseModel(local, 'architect', { provider: 'openai', model: 'llama3' }), local, {}).model,
    ).toBe('llama3');
    expect(() => chooseModel(config, 'architect', { provider: 'anthropic' })).toThrow(/Unknown provider/);
  });

  it('uses the configured model, or the provider default when --provider switches', () => {
    expect(chooseModel(config, 'architect')).toEqual({
      provider: 'gemini',
      model: 'gemini-2.5-flash',
      maxOutputTokens: 8192,
    });
    expect(chooseModel(config, 'architect', { provider: 'openrouter' }).model).toBe('google/gemini-2.5-flash');
    expect(chooseModel(config, 'coder', { model: 'gemini-2.5-pro' }).model).toBe('gemini-2.5-pro');
  });
});
