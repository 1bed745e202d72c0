/**
 * How one attempt at a provider failed, classified so the retry loop and the metering wrapper
 * can decide without knowing any wire format.
 */
export type ProviderErrorKind =
  /** 401/403 (and Gemini's 400 "API key not valid"): the key is wrong; retrying cannot help. */
  | 'auth'
  /**
   * 400/404/422, and any status whose body is a request-validation error (llama-cpp-python
   * answers those with 500): the request or model name is wrong; retrying cannot help.
   */
  | 'bad_request'
  /** OpenRouter 402: the account at the provider has no credits left. */
  | 'provider_credits'
  /** 429. */
  | 'rate_limited'
  /** 5xx, 409, 425, or an error reported inside a 200 body that says the upstream failed. */
  | 'server'
  /** Connection refused/reset, DNS, TLS. */
  | 'network'
  /** No (complete) answer within llm.timeoutMs. */
  | 'timeout'
  /** A 2xx answer we cannot use (not JSON, no text, blocked by a safety filter). */
  | 'invalid_response';

const RETRYABLE: ReadonlySet<ProviderErrorKind> = new Set(['rate_limited', 'server', 'network', 'timeout']);

/** Tokens (and cost) the provider billed for an attempt that still failed. */
export interface BilledUsage {
  inputTokens: number;
  outputTokens: number;
  costUsd?: number;
}

export class ProviderError extends Error {
  readonly kind: ProviderErrorKind;
  readonly status: number | undefined;
  /** Server-requested wait before the next attempt (Retry-After header or Gemini RetryInfo). */
  readonly retryAfterMs: number | undefined;
  /** Set when the provider charged for this failed attempt; the meter records it. */
  readonly billed: BilledUsage | undefined;

  constructor(
    kind: ProviderErrorKind,
    message: string,
    details: { status?: number; retryAfterMs?: number; billed?: BilledUsage; cause?: unknown } = {},
  ) {
    super(message, { cause: details.cause });
    this.name = 'ProviderError';
    this.kind = kind;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.billed = details.billed;
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }
}

/** Maps an HTTP status to the failure kind every provider shares. */
export function kindForStatus(status: number): ProviderErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 402) return 'provider_credits';
  if (status === 408) return 'timeout';
  if (status === 429) return 'rate_limited';
  // 409 Conflict and 425 Too Early are transient by definition: the same request may succeed later.
  if (status === 409 || status === 425 || status >= 500) return 'server';
  return 'bad_request';
}

/**
 * Marks of a request-validation error in an error body: pydantic/FastAPI (`loc`, "Input should
 * be", "validation error"), OpenAI (`invalid_request_error`, "Unsupported parameter",
 * "Unrecognized request argument"), vLLM (`BadRequestError`).
 */
const VALIDATION_MARKS =
  /validation error|['"]loc['"]\s*:|input should be|extra inputs are not permitted|invalid_request_error|unsupported parameter|unsupported_parameter|unrecognized request argument|unknown parameter|BadRequestError/i;

/** True when an error body says the request itself is malformed, whatever the status says. */
export function isRequestValidationBody(body: string): boolean {
  return VALIDATION_MARKS.test(body);
}

/**
 * Kind of a non-2xx answer from its status and body. A request the server rejects for its shape
 * fails the same way every time, so it is never retried as is, even when it comes as a 5xx.
 */
export function kindForResponse(status: number, body: string): ProviderErrorKind {
  const kind = kindForStatus(status);
  if (kind === 'server' && status >= 500 && isRequestValidationBody(body)) return 'bad_request';
  return kind;
}

/**
 * Parses `Retry-After`: either delta-seconds or an HTTP date (RFC 9110 §10.2.3).
 * Returns undefined for anything unparsable so the caller falls back to its own backoff.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
