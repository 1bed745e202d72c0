import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { ProviderError } from './providerError.js';

/**
 * Retry with exponential backoff and jitter, honouring the server's Retry-After.
 * Hand-written rather than p-retry: p-retry has no per-error delay, so Retry-After (and Gemini's
 * RetryInfo) could not be honoured without fighting it, and the loop is a dozen lines.
 */
export interface RetryPolicy {
  /** Retries after the first attempt (config llm.maxRetries). */
  maxRetries: number;
  /** First backoff step; doubles each retry (config llm.retryBaseDelayMs). */
  baseDelayMs: number;
  /** Upper bound of one backoff step, and the longest Retry-After we are willing to wait. */
  maxDelayMs: number;
}

export interface RetryHooks {
  /** Called for every failed attempt, before deciding to retry (the meter charges billed failures here). */
  onFailedAttempt?(error: unknown, attempt: number): void;
  onRetry?(error: ProviderError, attempt: number, delayMs: number): void;
  sleep?(ms: number): Promise<void>;
  random?(): number;
}

export const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Backoff for retry number `retry` (1-based): half fixed, half random ("equal jitter"). */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/** What the user sees when the provider cannot be used; `attempts` counts the tries made. */
export interface ProviderLabel {
  /** e.g. "gemini (gemini-2.5-flash)" */
  name: string;
  keyEnvVar: string;
}

export function providerFailure(error: unknown, label: ProviderLabel, attempts: number): AppError {
  if (error instanceof AppError) return error;
  if (!(error instanceof ProviderError)) {
    return new AppError('internal', `${label.name}: ${(error as Error)?.message ?? String(error)}`, undefined, {
      cause: error,
    });
  }
  const status = error.status ? ` (HTTP ${error.status})` : '';
  switch (error.kind) {
    case 'auth':
      return new AppError(
        'provider_auth',
        `${label.name} rejected the API key${status}: ${error.message}`,
        `Set a valid key in ${label.keyEnvVar}.`,
        { cause: error },
      );
    case 'bad_request':
      return new AppError(
        'provider_rejected',
        `${label.name} rejected the request${status}: ${error.message}`,
        `Check the model name (--model, config llm.<role>.model) and the key in ${label.keyEnvVar}.`,
        { cause: error },
      );
    case 'provider_credits':
      return new AppError(
        'provider_credits',
        `${label.name}: ${error.message}`,
        'Add credits to your account at the provider, or pick another provider with --provider.',
        { cause: error },
      );
    default:
      return new AppError(
        'provider_failed',
        `${label.name} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}${status}: ${error.message}`,
        error.retryable
          ? 'The provider is unavailable or rate limiting; try again later, or raise llm.maxRetries / llm.timeoutMs.'
          : 'The provider answered with something unusable; try again or another model.',
        { cause: error },
      );
  }
}

/**
 * Runs `attempt` until it succeeds, a non-retryable error occurs, or retries run out.
 * Always throws an AppError (exit 2, 3 or 7) on failure.
 */
export async function withRetries<T>(
  attempt: (attemptNo: number) => Promise<T>,
  policy: RetryPolicy,
  label: ProviderLabel,
  hooks: RetryHooks = {},
): Promise<T> {
  const sleep = hooks.sleep ?? defaultSleep;
  const random = hooks.random ?? Math.random;
  for (let attemptNo = 1; ; attemptNo++) {
    try {
      return await attempt(attemptNo);
    } catch (error) {
      hooks.onFailedAttempt?.(error, attemptNo);
      const retry = attemptNo; // the retry we are about to make is number `attemptNo`
      if (!(error instanceof ProviderError) || !error.retryable || retry > policy.maxRetries) {
        throw providerFailure(error, label, attemptNo);
      }
      let delay = backoffDelay(retry, policy, random);
      if (error.retryAfterMs !== undefined) {
        // Retrying before the server's deadline only earns another 429; waiting far longer than
        // our cap would look like a hang, so give up and say when to try again.
        if (error.retryAfterMs > policy.maxDelayMs) {
          throw providerFailure(
            new ProviderError(
              error.kind,
              `${error.message} (server asks to wait ${Math.ceil(error.retryAfterMs / 1000)} s)`,
              {
                status: error.status,
              },
            ),
            label,
            attemptNo,
          );
        }
        delay = error.retryAfterMs + Math.round(random() * Math.min(1000, error.retryAfterMs * 0.1));
      }
      hooks.onRetry?.(error, attemptNo, delay);
      await sleep(delay);
    }
  }
}

/** The retry policy of config `llm.maxRetries`, `llm.retryBaseDelayMs`, `llm.retryMaxDelayMs`. */
export function retryPolicy(config: Config): RetryPolicy {
  return {
    maxRetries: config.llm.maxRetries,
    baseDelayMs: config.llm.retryBaseDelayMs,
    maxDelayMs: config.llm.retryMaxDelayMs,
  };
}
