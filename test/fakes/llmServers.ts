/**
 * Loopback stand-ins for the paid LLM APIs (DESIGN §8), speaking their real wire formats:
 * Gemini `generateContent` and OpenAI/OpenRouter `chat/completions` (also SSE streaming).
 * Scripted: queue replies with `enqueue`, read what arrived in `requests`. When the queue is
 * empty, `fallback` answers (by default a fixed text). Reused by the architect and Aider tests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body (undefined if it was not JSON). */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  receivedAt: number;
}

/** All message text of one OpenAI-style chat request (what Aider or our client sent). */
export const requestText = (r: ReceivedRequest): string =>
  (r.body?.messages ?? []).map((m: { content: string }) => m.content).join('\n');

/** A successful answer. Token counts default to a chars/4 guess of the request and the text. */
export interface TextReply {
  text: string;
  inputTokens?: number;
  outputTokens?: number;
  /** Gemini: hidden reasoning tokens (usageMetadata.thoughtsTokenCount), billed as output. */
  thoughtsTokens?: number;
  /** OpenRouter: usage.cost in USD. */
  cost?: number;
  /** Leave the usage block out, like some local servers do. */
  omitUsage?: boolean;
  model?: string;
  /** Gemini finishReason / OpenAI finish_reason. */
  finishReason?: string;
  delayMs?: number;
}

/** An HTTP error in the provider's error shape (`{ error: { code, message, ... } }`). */
export interface ErrorReply {
  status: number;
  message?: string;
  /** Sent as the Retry-After header (seconds or an HTTP date). */
  retryAfter?: string;
  /** Gemini: google.rpc.RetryInfo retryDelay, e.g. "1s". */
  retryDelay?: string;
  delayMs?: number;
}

/** OpenRouter: an error that surfaced mid-generation, sent as HTTP 200 with `error` in the body. */
export interface BodyErrorReply {
  bodyError: { code: number; message: string };
  usage?: { inputTokens: number; outputTokens: number; cost?: number };
  delayMs?: number;
}

/** Anything else, byte for byte. */
export interface RawReply {
  raw: string;
  status?: number;
  contentType?: string;
  delayMs?: number;
}

export type ScriptedReply = TextReply | ErrorReply | BodyErrorReply | RawReply;

/**
 * Request shapes an OpenAI-compatible server refuses, the way real ones do: llama-cpp-python
 * refuses `response_format: json_schema` with HTTP 500 and a pydantic validation body; servers
 * without JSON mode refuse `json_object` too; OpenAI's reasoning models refuse `max_tokens`.
 */
export interface ShapeRejections {
  jsonSchema?: boolean;
  jsonObject?: boolean;
  maxTokens?: boolean;
}

export interface FakeServerOptions {
  /** When set, requests without this key get the provider's real auth error. */
  apiKey?: string;
  /** OpenAI fake only: request shapes answered with the server's validation error. */
  rejects?: ShapeRejections;
  /** Models listed by GET /v1/models (OpenAI) or known to GET /v1beta/models/{m} (Gemini). */
  models?: string[];
  fallback?: ScriptedReply | ((request: ReceivedRequest) => ScriptedReply);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const guessTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

abstract class FakeLlmServer {
  readonly requests: ReceivedRequest[] = [];
  private readonly queue: ScriptedReply[] = [];
  private server!: http.Server;
  private port = 0;

  constructor(protected readonly options: FakeServerOptions = {}) {}

  /** Base URL to configure the client with. */
  abstract get url(): string;

  protected get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        const request: ReceivedRequest = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body,
          receivedAt: Date.now(),
        };
        this.requests.push(request);
        void this.respond(request, res).catch((error) => {
          if (!res.headersSent) res.writeHead(500);
          res.end(String(error));
        });
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  enqueue(...replies: ScriptedReply[]): this {
    this.queue.push(...replies);
    return this;
  }

  /** Drops queued replies and the request log (between tests). */
  reset(): this {
    this.queue.length = 0;
    this.requests.length = 0;
    return this;
  }

  /** Replies still queued (a test can assert the client stopped early). */
  get pending(): number {
    return this.queue.length;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private nextReply(request: ReceivedRequest): ScriptedReply {
    const queued = this.queue.shift();
    if (queued) return queued;
    const fallback = this.options.fallback ?? { text: 'fake answer' };
    return typeof fallback === 'function' ? fallback(request) : fallback;
  }

  private async respond(request: ReceivedRequest, res: http.ServerResponse): Promise<void> {
    const routeError = this.checkRoute(request);
    if (routeError) return this.send(res, routeError.status, routeError.body);
    const authError = this.checkAuth(request);
    if (authError) return this.send(res, authError.status, authError.body);
    const listing = this.modelInfo(request);
    if (listing) return this.send(res, listing.status, listing.body);
    const shapeError = this.checkShape(request);
    if (shapeError) return this.send(res, shapeError.status, shapeError.body);
    const reply = this.nextReply(request);
    if (reply.delayMs) {
      // A slow server: the client may give up first; then there is nobody to answer.
      await Promise.race([sleep(reply.delayMs), new Promise((resolve) => res.once('close', resolve))]);
      if (res.destroyed || res.writableEnded) return;
    }
    if ('raw' in reply) {
      res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'application/json' });
      res.end(reply.raw);
      return;
    }
    if ('status' in reply) {
      const headers: Record<string, string> = {};
      if (reply.retryAfter !== undefined) headers['retry-after'] = reply.retryAfter;
      return this.send(res, reply.status, this.errorBody(reply), headers);
    }
    if ('bodyError' in reply) return this.send(res, 200, this.bodyErrorBody(reply));
    return this.sendText(request, reply, res);
  }

  protected send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  protected abstract checkRoute(request: ReceivedRequest): { status: number; body: unknown } | undefined;
  protected abstract checkAuth(request: ReceivedRequest): { status: number; body: unknown } | undefined;
  protected checkShape(_request: ReceivedRequest): { status: number; body: unknown } | undefined {
    return undefined;
  }
  /** The free metadata routes (`doctor --online`): answered here, never from the reply queue. */
  protected abstract modelInfo(request: ReceivedRequest): { status: number; body: unknown } | undefined;
  protected abstract errorBody(reply: ErrorReply): unknown;
  protected abstract bodyErrorBody(reply: BodyErrorReply): unknown;
  protected abstract sendText(request: ReceivedRequest, reply: TextReply, res: http.ServerResponse): void;

  protected defaultInputTokens(request: ReceivedRequest): number {
    return guessTokens(JSON.stringify(request.body ?? ''));
  }
}

const GEMINI_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** Gemini API: POST /v1beta/models/{model}:generateContent with x-goog-api-key. */
export class FakeGeminiServer extends FakeLlmServer {
  static start(options: FakeServerOptions = {}): Promise<FakeGeminiServer> {
    return new FakeGeminiServer(options).start();
  }

  get url(): string {
    return this.origin;
  }

  /** Model name of a request, from its path. */
  static modelOf(request: ReceivedRequest): string | undefined {
    return /\/models\/([^/:]+):/.exec(request.path)?.[1];
  }

  protected checkRoute(request: ReceivedRequest) {
    if (request.method === 'POST' && /^\/v1(beta)?\/models\/[^/:]+:generateContent$/.test(request.path.split('?')[0]!))
      return undefined;
    if (request.method === 'GET' && /^\/v1(beta)?\/models\/[^/:]+$/.test(request.path.split('?')[0]!)) return undefined;
    return {
      status: 404,
      body: { error: { code: 404, message: `no route ${request.method} ${request.path}`, status: 'NOT_FOUND' } },
    };
  }

  protected checkAuth(request: ReceivedRequest) {
    if (this.options.apiKey === undefined || request.headers['x-goog-api-key'] === this.options.apiKey)
      return undefined;
    // What Gemini really answers for a bad key: 400, not 401.
    return {
      status: 400,
      body: {
        error: {
          code: 400,
          message: 'API key not valid. Please pass a valid API key.',
          status: 'INVALID_ARGUMENT',
          details: [
            {
              '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
              reason: 'API_KEY_INVALID',
              domain: 'googleapis.com',
            },
          ],
        },
      },
    };
  }

  protected modelInfo(request: ReceivedRequest) {
    if (request.method !== 'GET') return undefined;
    const model = decodeURIComponent(/\/models\/([^/?]+)/.exec(request.path)?.[1] ?? '');
    if (this.options.models && !this.options.models.includes(model))
      return {
        status: 404,
        body: {
          error: { code: 404, message: `models/${model} is not found for API version v1beta`, status: 'NOT_FOUND' },
        },
      };
    return {
      status: 200,
      body: { name: `models/${model}`, displayName: model, inputTokenLimit: 1048576, outputTokenLimit: 65536 },
    };
  }

  protected errorBody(reply: ErrorReply) {
    const details: unknown[] = [];
    if (reply.retryDelay)
      details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: reply.retryDelay });
    return {
      error: {
        code: reply.status,
        message: reply.message ?? `fake error ${reply.status}`,
        status: GEMINI_STATUS[reply.status] ?? 'UNKNOWN',
        ...(details.length ? { details } : {}),
      },
    };
  }

  protected bodyErrorBody(reply: BodyErrorReply) {
    return { error: { code: reply.bodyError.code, message: reply.bodyError.message } };
  }

  protected sendText(request: ReceivedRequest, reply: TextReply, res: http.ServerResponse): void {
    const input = reply.inputTokens ?? this.defaultInputTokens(request);
    const output = reply.outputTokens ?? guessTokens(reply.text);
    const usageMetadata: Record<string, number> = {
      promptTokenCount: input,
      candidatesTokenCount: output,
      totalTokenCount: input + output + (reply.thoughtsTokens ?? 0),
    };
    if (reply.thoughtsTokens) usageMetadata.thoughtsTokenCount = reply.thoughtsTokens;
    this.send(res, 200, {
      candidates: [
        {
          content: { parts: [{ text: reply.text }], role: 'model' },
          finishReason: reply.finishReason ?? 'STOP',
          index: 0,
        },
      ],
      ...(reply.omitUsage ? {} : { usageMetadata }),
      modelVersion: reply.model ?? FakeGeminiServer.modelOf(request) ?? 'gemini-fake',
    });
  }
}

/** OpenAI-compatible chat completions (OpenRouter, Ollama, vLLM…): POST {base}/chat/completions. */
export class FakeOpenAiServer extends FakeLlmServer {
  static start(options: FakeServerOptions = {}): Promise<FakeOpenAiServer> {
    return new FakeOpenAiServer(options).start();
  }

  /** Base URL including `/v1`, as OPENAI_BASE_URL or llm.openrouter.baseUrl expect it. */
  get url(): string {
    return `${this.origin}/v1`;
  }

  protected checkRoute(request: ReceivedRequest) {
    if (request.method === 'POST' && request.path.split('?')[0] === '/v1/chat/completions') return undefined;
    if (request.method === 'GET' && request.path.split('?')[0] === '/v1/models') return undefined;
    return { status: 404, body: { error: { code: 404, message: `no route ${request.method} ${request.path}` } } };
  }

  protected checkAuth(request: ReceivedRequest) {
    if (this.options.apiKey === undefined || request.headers.authorization === `Bearer ${this.options.apiKey}`)
      return undefined;
    return { status: 401, body: { error: { code: 401, message: 'No auth credentials found' } } };
  }

  protected modelInfo(request: ReceivedRequest) {
    if (request.method !== 'GET') return undefined;
    const ids = this.options.models ?? ['fake-model'];
    return {
      status: 200,
      body: { object: 'list', data: ids.map((id) => ({ id, object: 'model', owned_by: 'fake', created: 0 })) },
    };
  }

  protected override checkShape(request: ReceivedRequest) {
    const rejects = this.options.rejects ?? {};
    const type = request.body?.response_format?.type;
    if ((type === 'json_schema' && rejects.jsonSchema) || (type === 'json_object' && rejects.jsonObject)) {
      const allowed = [
        'text',
        ...(rejects.jsonObject ? [] : ['json_object']),
        ...(rejects.jsonSchema ? [] : ['json_schema']),
      ];
      return llamaCppValidationError(type, allowed);
    }
    if (rejects.maxTokens && request.body?.max_tokens !== undefined) {
      // OpenAI's answer for o-series models.
      return {
        status: 400,
        body: {
          error: {
            message:
              "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
            type: 'invalid_request_error',
            param: 'max_tokens',
            code: 'unsupported_parameter',
          },
        },
      };
    }
    return undefined;
  }

  protected errorBody(reply: ErrorReply) {
    const message =
      reply.message ??
      (reply.status === 402
        ? 'This request requires more credits, or fewer max_tokens.'
        : reply.status === 429
          ? 'Rate limit exceeded'
          : `fake error ${reply.status}`);
    return { error: { code: reply.status, message } };
  }

  protected bodyErrorBody(reply: BodyErrorReply) {
    return {
      id: `gen-${Date.now()}`,
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'error' }],
      error: { code: reply.bodyError.code, message: reply.bodyError.message },
      ...(reply.usage
        ? {
            usage: {
              prompt_tokens: reply.usage.inputTokens,
              completion_tokens: reply.usage.outputTokens,
              total_tokens: reply.usage.inputTokens + reply.usage.outputTokens,
              ...(reply.usage.cost !== undefined ? { cost: reply.usage.cost } : {}),
            },
          }
        : {}),
    };
  }

  protected sendText(request: ReceivedRequest, reply: TextReply, res: http.ServerResponse): void {
    const input = reply.inputTokens ?? this.defaultInputTokens(request);
    const output = reply.outputTokens ?? guessTokens(reply.text);
    const usage = {
      prompt_tokens: input,
      completion_tokens: output,
      total_tokens: input + output,
      ...(reply.cost !== undefined ? { cost: reply.cost } : {}),
    };
    const model = reply.model ?? request.body?.model ?? 'fake-model';
    const id = `chatcmpl-fake-${this.requests.length}`;
    const created = Math.floor(Date.now() / 1000);
    if (request.body?.stream) {
      // SSE: content deltas, then (when asked for) a last chunk with usage and empty choices.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
      for (const piece of reply.text.match(/[\s\S]{1,40}/g) ?? ['']) {
        chunk({
          id,
          object: 'chat.completion.chunk',
          created,
          model,
          choices: [{ index: 0, delta: { content: piece }, finish_reason: null }],
        });
      }
      chunk({
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        choices: [{ index: 0, delta: {}, finish_reason: reply.finishReason ?? 'stop' }],
      });
      if (!reply.omitUsage && (request.body?.stream_options?.include_usage || request.body?.usage?.include)) {
        chunk({ id, object: 'chat.completion.chunk', created, model, choices: [], usage });
      }
      res.end('data: [DONE]\n\n');
      return;
    }
    this.send(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        { index: 0, message: { role: 'assistant', content: reply.text }, finish_reason: reply.finishReason ?? 'stop' },
      ],
      ...(reply.omitUsage ? {} : { usage }),
    });
  }
}

/**
 * llama-cpp-python 0.3.36's answer to a body its pydantic model refuses, byte for byte as its
 * server sent it (its route error handler turns FastAPI's RequestValidationError into HTTP 500).
 */
export function llamaCppValidationError(type: string, allowed: string[]): { status: number; body: unknown } {
  const expected = allowed.map((t) => `'${t}'`).join(' or ');
  const message =
    `1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': "Input should be ${expected}", 'input': '${type}', 'ctx': {'expected': "${expected}"}}\n\n` +
    '  File "/venv/lib/python3.11/site-packages/llama_cpp/server/app.py", line 376, in create_chat_completion\n    POST /v1/chat/completions';
  return { status: 500, body: { error: { message, type: 'internal_server_error', param: null, code: null } } };
}
