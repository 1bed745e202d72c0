import type { z } from 'zod';
import {
  pullResponseSchema,
  pushResponseSchema,
  type PullResponse,
  type PushedTransaction,
  type PushResponse,
} from './syncProtocol.js';

/** What sync needs from the network; HTTP here, anything else in tests or benchmarks. */
export interface SyncTransport {
  push(transactions: PushedTransaction[]): Promise<PushResponse>;
  pull(after: string, limit: number): Promise<PullResponse>;
}

/** A failed sync request. `retryable`: the server was unreachable, overloaded or failing (not our input). */
export class SyncRequestError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'SyncRequestError';
  }
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** The `ai-dev-bot-server` HTTP API with a bearer token; responses are validated against the shared schemas. */
export class HttpSyncTransport implements SyncTransport {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly token: string,
    private readonly timeoutMs: number,
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  push(transactions: PushedTransaction[]): Promise<PushResponse> {
    return this.call('POST', '/v1/transactions', pushResponseSchema, { transactions });
  }

  pull(after: string, limit: number): Promise<PullResponse> {
    const query = new URLSearchParams({ after, limit: String(limit) });
    return this.call('GET', `/v1/transactions?${query}`, pullResponseSchema);
  }

  private async call<T>(method: string, route: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const url = `${this.base}${route}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new SyncRequestError(`cannot reach the sync server ${this.base} (${cause})`, true);
    }
    const text = await response.text().catch(() => '');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const detail = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      const retryable = response.status === 429 || response.status >= 500;
      throw new SyncRequestError(
        `sync server answered ${response.status}${detail ? ` ${detail.code}: ${detail.message}` : ''}`,
        retryable,
        response.status,
        retryAfterMs(response.headers.get('retry-after')),
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new SyncRequestError(`sync server ${this.base} sent an unexpected answer to ${method} ${route}`, false);
    return parsed.data;
  }
}
