import { rejection } from './helpers/errors.js';
import { describe, expect, it } from 'vitest';
import { ProviderError, parseRetryAfter } from '../src/core/llm/providerError.js';
import { backoffDelay, withRetries, type RetryPolicy } from '../src/core/llm/retry.js';

const policy: RetryPolicy = { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1000 };
const label = { name: 'gemini (gemini-2.5-flash)', keyEnvVar: 'GEMINI_API_KEY' };

function script(...outcomes: Array<ProviderError | string>) {
  let calls = 0;
  const attempt = async () => {
    const outcome = outcomes[calls++];
    if (outcome instanceof ProviderError) throw outcome;
    return outcome ?? 'done';
  };
  return { attempt, calls: () => calls };
}

describe('withRetries', () => {
  it('retries a 429 after the server-requested delay, then returns the success', async () => {
    const slept: number[] = [];
    const s = script(new ProviderError('rate_limited', 'slow down', { status: 429, retryAfterMs: 700 }), 'ok');
    const result = await withRetries(s.attempt, policy, label, {
      sleep: async (ms) => void slept.push(ms),
      random: () => 0,
    });
    expect(result).toBe('ok');
    expect(s.calls()).toBe(2);
    expect(slept).toEqual([700]);
  });

  it('backs off exponentially with jitter on 5xx and network errors', async () => {
    const slept: number[] = [];
    const s = script(
      new ProviderError('server', 'boom', { status: 503 }),
      new ProviderError('network', 'reset'),
      new ProviderError('timeout', 'slow'),
      'ok',
    );
    await withRetries(s.attempt, policy, label, { sleep: async (ms) => void slept.push(ms), random: () => 1 });
    expect(slept).toEqual([100, 200, 400]);
    for (let retry = 1; retry <= 6; retry++) {
      const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
      expect(backoffDelay(retry, policy, () => 0)).toBe(step / 2);
      expect(backoffDelay(retry, policy, () => 0.999)).toBeLessThanOrEqual(step);
    }
  });

  it('does not retry 401: exit 2 naming the key variable', async () => {
    const s = script(new ProviderError('auth', 'invalid key', { status: 401 }), 'never');
    const error = await rejection(withRetries(s.attempt, policy, label, { sleep: async () => {} }));
    expect(s.calls()).toBe(1);
    expect(error.exitCode).toBe(2);
    expect(error.code).toBe('provider_auth');
    expect(error.hint).toContain('GEMINI_API_KEY');
  });

  it('does not retry 400 (exit 2) nor 402 (exit 3, provider credits)', async () => {
    const bad = script(new ProviderError('bad_request', 'no such model', { status: 404 }));
    expect((await rejection(withRetries(bad.attempt, policy, label, { sleep: async () => {} }))).exitCode).toBe(2);
    const broke = script(new ProviderError('provider_credits', 'OpenRouter credits exhausted', { status: 402 }));
    const error = await rejection(withRetries(broke.attempt, policy, label, { sleep: async () => {} }));
    expect(broke.calls()).toBe(1);
    expect(error.exitCode).toBe(3);
  });

  it('gives exit 7 once retries are exhausted', async () => {
    const s = script(...Array.from({ length: 10 }, () => new ProviderError('server', 'down', { status: 500 })));
    const error = await rejection(withRetries(s.attempt, policy, label, { sleep: async () => {} }));
    expect(s.calls()).toBe(policy.maxRetries + 1);
    expect(error.exitCode).toBe(7);
    expect(error.message).toContain('after 4 attempts');
  });

  it('gives up at once when Retry-After asks for longer than the cap', async () => {
    const s = script(new ProviderError('rate_limited', 'quota', { status: 429, retryAfterMs: 3_600_000 }), 'ok');
    const error = await rejection(withRetries(s.attempt, policy, label, { sleep: async () => {} }));
    expect(s.calls()).toBe(1);
    expect(error.exitCode).toBe(7);
    expect(error.message).toContain('3600 s');
  });

  it('reports every failed attempt to the hook', async () => {
    const failures: number[] = [];
    const s = script(new ProviderError('server', 'a'), new ProviderError('server', 'b'), 'ok');
    await withRetries(s.attempt, policy, label, {
      sleep: async () => {},
      onFailedAttempt: (_e, n) => failures.push(n),
    });
    expect(failures).toEqual([1, 2]);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates, ignores garbage', () => {
    const now = Date.parse('2026-11-26T08:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('Thu, 26 Nov 2026 08:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 07:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
