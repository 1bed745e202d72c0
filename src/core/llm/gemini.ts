import {
  GoogleGenerativeAI,
  GoogleGenerativeAIAbortError,
  GoogleGenerativeAIFetchError,
  GoogleGenerativeAIResponseError,
  type GenerateContentResponse,
  type ResponseSchema,
} from '@google/generative-ai';
import { ProviderError, kindForResponse } from './providerError.js';
import type { JsonSchema, LlmProvider, LlmRequest, LlmResponse } from './types.js';

export interface GeminiOptions {
  apiKey: string;
  model: string;
  /** Overrides https://generativelanguage.googleapis.com (tests, proxies). */
  baseUrl?: string;
  timeoutMs: number;
  keyEnvVar?: string;
}

/** Keys of JSON Schema that Gemini's OpenAPI-subset `responseSchema` accepts. */
const GEMINI_SCHEMA_KEYS = new Set([
  'type',
  'format',
  'description',
  'nullable',
  'enum',
  'properties',
  'required',
  'items',
  'minItems',
  'maxItems',
  'propertyOrdering',
]);

/**
 * Converts a JSON Schema to Gemini's schema dialect: drops keys it rejects (`additionalProperties`,
 * `$schema`, …) and turns `type: [T, "null"]` into `type: T, nullable: true`.
 */
export function toGeminiSchema(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!GEMINI_SCHEMA_KEYS.has(key)) continue;
    if (key === 'type' && Array.isArray(value)) {
      const types = value.filter((t) => t !== 'null');
      out.type = types[0];
      if (types.length < value.length) out.nullable = true;
    } else if (key === 'properties' && value && typeof value === 'object') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchema>).map(([name, sub]) => [name, toGeminiSchema(sub)]),
      );
    } else if (key === 'items' && value && typeof value === 'object' && !Array.isArray(value)) {
      out.items = toGeminiSchema(value as JsonSchema);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** Gemini sends its wait hint as a google.rpc.RetryInfo detail: `{ retryDelay: "37s" }`. */
function retryInfoDelayMs(details: unknown): number | undefined {
  if (!Array.isArray(details)) return undefined;
  for (const detail of details) {
    const delay = (detail as { retryDelay?: unknown })?.retryDelay;
    if (typeof delay === 'string') {
      const match = /^(\d+(?:\.\d+)?)s$/.exec(delay.trim());
      if (match) return Math.round(Number(match[1]) * 1000);
    }
  }
  return undefined;
}

function billedFrom(
  response: GenerateContentResponse | undefined,
): { inputTokens: number; outputTokens: number } | undefined {
  const usage = response?.usageMetadata as
    (GenerateContentResponse['usageMetadata'] & { thoughtsTokenCount?: number }) | undefined;
  if (!usage) return undefined;
  return {
    inputTokens: usage.promptTokenCount ?? 0,
    // Thinking tokens are billed at the output rate but are not part of candidatesTokenCount.
    outputTokens: (usage.candidatesTokenCount ?? 0) + (usage.thoughtsTokenCount ?? 0),
  };
}

/** Gemini through Google's SDK (deprecated upstream in favour of @google/genai; kept behind this module). */
export class GeminiProvider implements LlmProvider {
  readonly id = 'gemini' as const;
  readonly model: string;
  readonly keyEnvVar: string;
  private readonly client: GoogleGenerativeAI;

  constructor(private readonly options: GeminiOptions) {
    this.model = options.model;
    this.keyEnvVar = options.keyEnvVar ?? 'GEMINI_API_KEY';
    this.client = new GoogleGenerativeAI(options.apiKey);
  }

  async complete(request: LlmRequest, signal?: AbortSignal): Promise<LlmResponse> {
    const generationConfig: Record<string, unknown> = { maxOutputTokens: request.maxOutputTokens };
    if (request.temperature !== undefined) generationConfig.temperature = request.temperature;
    if (request.jsonSchema) {
      generationConfig.responseMimeType = 'application/json';
      generationConfig.responseSchema = toGeminiSchema(request.jsonSchema) as unknown as ResponseSchema;
    }
    // The SDK's own `timeout` option starts a timer it never clears, which would keep the CLI
    // alive for the whole timeout after the answer; an AbortSignal.timeout does not.
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const combined = signal ? AbortSignal.any([timeout, signal]) : timeout;
    const model = this.client.getGenerativeModel(
      {
        model: this.model,
        ...(request.system ? { systemInstruction: request.system } : {}),
        generationConfig,
      },
      this.options.baseUrl ? { baseUrl: this.options.baseUrl.replace(/\/+$/, '') } : {},
    );
    const started = performance.now();
    let response: GenerateContentResponse;
    try {
      const result = await model.generateContent(
        {
          contents: request.messages.map((m) => ({
            role: m.role === 'assistant' ? 'model' : 'user',
            parts: [{ text: m.content }],
          })),
        },
        { signal: combined },
      );
      response = result.response;
      const text = result.response.text();
      const billed = billedFrom(response);
      return {
        text,
        inputTokens: billed?.inputTokens ?? 0,
        outputTokens: billed?.outputTokens ?? 0,
        model: (response as { modelVersion?: string }).modelVersion ?? this.model,
        provider: this.id,
        latencyMs: performance.now() - started,
        ...(billed ? {} : { usageEstimated: true }),
      };
    } catch (error) {
      throw this.classify(error, timeout);
    }
  }

  private classify(error: unknown, timeout: AbortSignal): ProviderError {
    if (error instanceof GoogleGenerativeAIFetchError) {
      const status = error.status ?? 0;
      let kind = kindForResponse(status, error.message);
      // Gemini answers a bad key with 400 INVALID_ARGUMENT / API_KEY_INVALID, not 401.
      if (status === 400 && /API[_ ]KEY/i.test(`${error.message} ${JSON.stringify(error.errorDetails ?? '')}`))
        kind = 'auth';
      return new ProviderError(kind, error.message.replace(/^\[GoogleGenerativeAI Error\]: /, ''), {
        status,
        retryAfterMs: retryInfoDelayMs(error.errorDetails),
        cause: error,
      });
    }
    if (error instanceof GoogleGenerativeAIAbortError || (error as Error)?.name === 'AbortError') {
      if (timeout.aborted)
        return new ProviderError('timeout', `no answer within ${this.options.timeoutMs} ms`, { cause: error });
      return new ProviderError('network', 'request cancelled', { cause: error });
    }
    if (error instanceof GoogleGenerativeAIResponseError) {
      // Blocked prompt or candidate: the prompt was processed and billed if usage came back.
      const response = (error as GoogleGenerativeAIResponseError<GenerateContentResponse>).response;
      const billed = billedFrom(response);
      return new ProviderError('invalid_response', error.message.replace(/^\[GoogleGenerativeAI Error\]: /, ''), {
        ...(billed ? { billed } : {}),
        cause: error,
      });
    }
    const message = (error as Error)?.message ?? String(error);
    if (/Error fetching from/.test(message)) {
      return new ProviderError('network', message.replace(/^\[GoogleGenerativeAI Error\]: /, ''), { cause: error });
    }
    if (error instanceof SyntaxError)
      return new ProviderError('invalid_response', `unparsable answer: ${message}`, { cause: error });
    return new ProviderError('invalid_response', message, { cause: error });
  }
}
