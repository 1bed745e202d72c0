import type { ProviderId } from '../config.js';

export type { ProviderId };

export interface LlmMessage {
  role: 'user' | 'assistant';
  content: string;
}

/** JSON Schema (the common subset: type, properties, required, items, enum, description). */
export type JsonSchema = Record<string, unknown>;

/** One request to a chat model, independent of the provider's wire format. */
export interface LlmRequest {
  system?: string;
  messages: LlmMessage[];
  /** When set, the model must answer with JSON matching this schema. */
  jsonSchema?: JsonSchema;
  /** Hard cap on generated tokens; metering assumes all of them may be used. */
  maxOutputTokens: number;
  temperature?: number;
}

export interface LlmResponse {
  text: string;
  /** Billed prompt tokens as reported by the provider (estimated only if it reported none). */
  inputTokens: number;
  /** Billed generated tokens, including hidden reasoning ("thinking") tokens. */
  outputTokens: number;
  /** The model that answered, as the provider named it. */
  model: string;
  provider: ProviderId;
  latencyMs: number;
  /** Cost in USD as reported by the provider (OpenRouter `usage.cost`); beats the price table. */
  costUsd?: number;
  /** True when the provider sent no usage and the token counts are our own estimate. */
  usageEstimated?: boolean;
}

/** A chat model behind one provider. Implementations do one HTTP exchange; retries wrap them. */
export interface LlmProvider {
  readonly id: ProviderId;
  readonly model: string;
  /** Environment variable that holds this provider's key, named in auth errors. */
  readonly keyEnvVar: string;
  complete(request: LlmRequest, signal?: AbortSignal): Promise<LlmResponse>;
}

/** Which provider and model a role uses, after config and `--provider/--model` flags. */
export interface ModelChoice {
  provider: ProviderId;
  model: string;
  maxOutputTokens: number;
}
