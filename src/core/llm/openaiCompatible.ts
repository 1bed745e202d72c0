import { request, type Dispatcher } from 'undici';
import { ProviderError, kindForResponse, kindForStatus, parseRetryAfter, type BilledUsage } from './providerError.js';
import { downgradeFor, responseFormat, schemaInstruction, type RequestShape } from './requestShape.js';
import type { ShapeMemory } from './shapeMemory.js';
import type { LlmProvider, LlmRequest, LlmResponse, ProviderId } from './types.js';

export interface OpenAiCompatibleOptions {
  provider: Extract<ProviderId, 'openrouter' | 'openai'>;
  /** e.g. https://openrouter.ai/api/v1 or http://localhost:11434/v1; `/chat/completions` is appended. */
  baseUrl: string;
  /** Optional: local servers (Ollama, LM Studio) accept requests without a key. */
  apiKey?: string;
  model: string;
  timeoutMs: number;
  keyEnvVar: string;
  /** Extra request headers (OpenRouter's attribution headers). */
  headers?: Record<string, string>;
  /** Extra top-level body fields (OpenRouter's `usage: { include: true }`). */
  extraBody?: Record<string, unknown>;
  dispatcher?: Dispatcher;
  /**
   * OpenAI's own API wants `max_completion_tokens` (its reasoning models reject `max_tokens`);
   * OpenRouter and local servers (Ollama, vLLM, LM Studio) read `max_tokens`.
   */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
  /** Where the request shape that works for this server + model is remembered across runs. */
  shapeMemory?: ShapeMemory;
  /** Debug lines (`--verbose`): which structured-output mode is used and why. */
  debug?: (message: string) => void;
}

/** App attribution OpenRouter shows on its dashboards and rankings. */
export function openRouterAppHeaders(appUrl: string): Record<string, string> {
  return {
    'HTTP-Referer': appUrl,
    'X-OpenRouter-Title': 'ai-dev-bot',
    // Older name of the same header; OpenRouter still reads it.
    'X-Title': 'ai-dev-bot',
  };
}

interface ChatUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  cost?: number;
}

interface ChatBody {
  model?: string;
  choices?: Array<{ message?: { content?: string | null }; finish_reason?: string | null }>;
  usage?: ChatUsage;
  error?: { code?: number | string; message?: string; metadata?: unknown };
}

function billedFrom(usage: ChatUsage | undefined): BilledUsage | undefined {
  if (
    !usage ||
    (usage.prompt_tokens === undefined && usage.completion_tokens === undefined && usage.cost === undefined)
  ) {
    return undefined;
  }
  return {
    inputTokens: usage.prompt_tokens ?? 0,
    outputTokens: usage.completion_tokens ?? 0,
    ...(typeof usage.cost === 'number' ? { costUsd: usage.cost } : {}),
  };
}

/**
 * OpenAI chat completions over undici: OpenRouter, and any OpenAI-compatible server
 * (Ollama, vLLM, LM Studio, OpenAI itself) at OPENAI_BASE_URL.
 */
export class OpenAiCompatibleProvider implements LlmProvider {
  readonly id: OpenAiCompatibleOptions['provider'];
  readonly model: string;
  readonly keyEnvVar: string;
  private readonly url: string;
  /** The shape this process settled on; retries of a timed-out call start here, not at json_schema. */
  private shape: RequestShape | undefined;

  constructor(private readonly options: OpenAiCompatibleOptions) {
    this.id = options.provider;
    this.model = options.model;
    this.keyEnvVar = options.keyEnvVar;
    this.url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  }

  private get label(): string {
    return this.id === 'openrouter' ? 'OpenRouter' : 'OpenAI-compatible server';
  }

  /** The shape to start with: what worked last time for this server + model, else the strongest. */
  private startShape(): RequestShape {
    if (this.shape) return this.shape;
    const remembered = this.options.shapeMemory?.get(this.options.baseUrl, this.model);
    if (remembered) {
      this.options.debug?.(
        `${this.label} ${this.options.baseUrl} (${this.model}): using ${remembered.jsonMode} for JSON answers and ` +
          `${remembered.maxTokensField}, remembered since ${remembered.updatedAt} (${remembered.reason})`,
      );
      this.shape = { jsonMode: remembered.jsonMode, maxTokensField: remembered.maxTokensField };
      return this.shape;
    }
    return { jsonMode: 'json_schema', maxTokensField: this.options.maxTokensField ?? 'max_tokens' };
  }

  /**
   * One answer. A request the server rejects for its shape (response_format, max_tokens) is sent
   * again at once in the next weaker shape, not retried as is; the shape that worked is remembered.
   * Other failures go to the caller's retry loop.
   */
  async complete(req: LlmRequest, signal?: AbortSignal): Promise<LlmResponse> {
    let shape = this.startShape();
    let lastReason: string | undefined;
    for (;;) {
      try {
        const response = await this.send(req, shape, signal);
        if (lastReason !== undefined) {
          this.options.shapeMemory?.set(this.options.baseUrl, this.model, {
            ...shape,
            reason: lastReason,
            updatedAt: new Date().toISOString(),
          });
        }
        return response;
      } catch (error) {
        const downgrade =
          error instanceof ProviderError ? downgradeFor(shape, error, Boolean(req.jsonSchema)) : undefined;
        if (!downgrade) throw error;
        this.options.debug?.(
          `${this.label} ${this.options.baseUrl} (${this.model}) rejected ${describeShape(shape)} (${downgrade.reason}); ` +
            `trying ${describeShape(downgrade.shape)}`,
        );
        shape = this.shape = downgrade.shape;
        lastReason = downgrade.reason;
      }
    }
  }

  private async send(req: LlmRequest, shape: RequestShape, signal?: AbortSignal): Promise<LlmResponse> {
    const schemaInPrompt = req.jsonSchema && shape.jsonMode !== 'json_schema' ? schemaInstruction(req.jsonSchema) : '';
    const system = [req.system, schemaInPrompt].filter(Boolean).join('\n\n');
    const messages: Array<{ role: string; content: string }> = [];
    if (system) messages.push({ role: 'system', content: system });
    for (const m of req.messages) messages.push({ role: m.role, content: m.content });
    const body: Record<string, unknown> = {
      model: this.model,
      messages,
      [shape.maxTokensField]: req.maxOutputTokens,
      stream: false,
      ...this.options.extraBody,
    };
    if (req.temperature !== undefined) body.temperature = req.temperature;
    const format = req.jsonSchema ? responseFormat(shape.jsonMode, req.jsonSchema) : undefined;
    if (format) body.response_format = format;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      ...this.options.headers,
    };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;

    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const combined = signal ? AbortSignal.any([timeout, signal]) : timeout;
    const started = performance.now();
    let status: number;
    let text: string;
    let retryAfter: string | undefined;
    try {
      const res = await request(this.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: combined,
        ...(this.options.dispatcher ? { dispatcher: this.options.dispatcher } : {}),
      });
      status = res.statusCode;
      const header = res.headers['retry-after'];
      retryAfter = Array.isArray(header) ? header[0] : header;
      text = await res.body.text();
    } catch (error) {
      if (timeout.aborted)
        throw new ProviderError('timeout', `no answer within ${this.options.timeoutMs} ms`, { cause: error });
      const code = (error as { code?: string })?.code ?? '';
      if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
        throw new ProviderError('timeout', `${code} from ${this.url}`, { cause: error });
      }
      throw new ProviderError(
        'network',
        `cannot reach ${this.url}: ${(error as Error)?.message ?? error}${code ? ` (${code})` : ''}`,
        {
          cause: error,
        },
      );
    }
    const latencyMs = performance.now() - started;

    let parsed: ChatBody | undefined;
    try {
      parsed = text ? (JSON.parse(text) as ChatBody) : undefined;
    } catch {
      parsed = undefined;
    }

    if (status < 200 || status >= 300) {
      const kind = kindForResponse(status, text);
      const detail = parsed?.error?.message ?? (text.slice(0, 300) || `HTTP ${status}`);
      const message =
        kind === 'provider_credits' && this.id === 'openrouter' ? `OpenRouter credits exhausted: ${detail}` : detail;
      throw new ProviderError(kind, message, { status, retryAfterMs: parseRetryAfter(retryAfter) });
    }
    if (!parsed || typeof parsed !== 'object') {
      throw new ProviderError('invalid_response', `${this.label} sent a non-JSON answer: ${text.slice(0, 200)}`, {
        status,
      });
    }
    const billed = billedFrom(parsed.usage);
    // OpenRouter reports errors that happen mid-generation as HTTP 200 with an `error` body.
    if (parsed.error) {
      const code = Number(parsed.error.code);
      const kind = Number.isInteger(code) && code >= 400 ? kindForStatus(code) : 'server';
      throw new ProviderError(kind, parsed.error.message ?? 'error in response body', {
        status: Number.isInteger(code) ? code : status,
        ...(billed ? { billed } : {}),
      });
    }
    const choice = parsed.choices?.[0];
    if (choice?.finish_reason === 'error') {
      throw new ProviderError('server', 'generation failed upstream (finish_reason "error")', {
        status,
        ...(billed ? { billed } : {}),
      });
    }
    const content = choice?.message?.content;
    if (typeof content !== 'string') {
      throw new ProviderError('invalid_response', `${this.label} sent no message content`, {
        status,
        ...(billed ? { billed } : {}),
      });
    }
    return {
      text: content,
      inputTokens: billed?.inputTokens ?? 0,
      outputTokens: billed?.outputTokens ?? 0,
      model: parsed.model ?? this.model,
      provider: this.id,
      latencyMs,
      ...(billed?.costUsd !== undefined ? { costUsd: billed.costUsd } : {}),
      ...(billed ? {} : { usageEstimated: true }),
    };
  }
}

function describeShape(shape: RequestShape): string {
  return `${shape.jsonMode === 'text' ? 'plain text' : shape.jsonMode} with ${shape.maxTokensField}`;
}
