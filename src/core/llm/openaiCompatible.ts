import { request, type Dispatcher } from 'undici';
import { ProviderError, kindForStatus, parseRetryAfter, type BilledUsage } from './providerError.js';
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

  constructor(private readonly options: OpenAiCompatibleOptions) {
    this.id = options.provider;
    this.model = options.model;
    this.keyEnvVar = options.keyEnvVar;
    this.url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  }

  private get label(): string {
    return this.id === 'openrouter' ? 'OpenRouter' : 'OpenAI-compatible server';
  }

  async complete(req: LlmRequest, signal?: AbortSignal): Promise<LlmResponse> {
    const messages: Array<{ role: string; content: string }> = [];
    if (req.system) messages.push({ role: 'system', content: req.system });
    for (const m of req.messages) messages.push({ role: m.role, content: m.content });
    const body: Record<string, unknown> = {
      model: this.model,
      messages,
      [this.options.maxTokensField ?? 'max_tokens']: req.maxOutputTokens,
      stream: false,
      ...this.options.extraBody,
    };
    if (req.temperature !== undefined) body.temperature = req.temperature;
    if (req.jsonSchema) {
      body.response_format = {
        type: 'json_schema',
        json_schema: { name: 'answer', strict: true, schema: req.jsonSchema },
      };
    }
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
      const kind = kindForStatus(status);
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
