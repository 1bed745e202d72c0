import type { ProviderError } from './providerError.js';
import type { JsonSchema } from './types.js';

/**
 * How a request to an OpenAI-compatible server is shaped. Servers differ in what they accept
 * (llama-cpp-python refuses `response_format: json_schema` with a 500, OpenAI's reasoning models
 * refuse `max_tokens`), so a shape the server rejects is downgraded instead of retried.
 */
export type JsonMode = 'json_schema' | 'json_object' | 'text';
export type MaxTokensField = 'max_tokens' | 'max_completion_tokens';

export interface RequestShape {
  /** How a JSON answer is asked for; the schema goes into the prompt in the two weaker modes. */
  jsonMode: JsonMode;
  maxTokensField: MaxTokensField;
}

/** Strongest first: each step asks the server for less. */
export const JSON_MODES: readonly JsonMode[] = ['json_schema', 'json_object', 'text'];

/** What a rejection changes in the shape, and why (the server's own words, cut short). */
export interface Downgrade {
  shape: RequestShape;
  reason: string;
}

const otherField = (field: MaxTokensField): MaxTokensField =>
  field === 'max_tokens' ? 'max_completion_tokens' : 'max_tokens';

/**
 * The next shape to try after `error`, or undefined when the failure is not about the shape (or
 * nothing weaker is left). Only deterministic rejections count: a 400/422, or a 5xx whose body is
 * a validation error (the provider classifies those as `bad_request`).
 */
export function downgradeFor(shape: RequestShape, error: ProviderError, wantsJson: boolean): Downgrade | undefined {
  if (error.kind !== 'bad_request' || error.status === 404) return undefined;
  const message = error.message;
  const reason = `HTTP ${error.status ?? '?'}: ${message.replace(/\s+/g, ' ').slice(0, 300)}`;
  const namesField = (field: string) => new RegExp(`\\b${field}\\b`).test(message);
  // "Use 'max_completion_tokens' instead" names both fields; the rejected one is the one we sent.
  if (namesField(shape.maxTokensField) && !namesField('response_format')) {
    return { shape: { ...shape, maxTokensField: otherField(shape.maxTokensField) }, reason };
  }
  if (!wantsJson || shape.jsonMode === 'text') return undefined;
  const next = JSON_MODES[JSON_MODES.indexOf(shape.jsonMode) + 1]!;
  const namesJsonMode = /response_format|json_schema|json_object|structured output/i.test(message);
  // A validation error that names no field at all may still be about response_format (some servers
  // say only "Input should be 'text' or 'json_object'"); a request without it is the way to find out.
  return namesJsonMode || error.status === 422 || error.status === 500 || /input should be/i.test(message)
    ? { shape: { ...shape, jsonMode: next }, reason }
    : undefined;
}

/** The schema as an instruction, for the modes where the server does not enforce it. */
export function schemaInstruction(schema: JsonSchema): string {
  return (
    'Answer with one JSON object only (no prose, no code fence) that matches this JSON Schema:\n' +
    JSON.stringify(schema)
  );
}

/** The `response_format` field for a mode (none in text mode). */
export function responseFormat(mode: JsonMode, schema: JsonSchema): Record<string, unknown> | undefined {
  if (mode === 'json_schema') return { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema } };
  if (mode === 'json_object') return { type: 'json_object' };
  return undefined;
}
