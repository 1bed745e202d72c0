import { AppError } from '../errors.js';
import { backoffDelay, defaultSleep, type RetryPolicy } from '../llm/retry.js';
import type { Ledger } from './ledger.js';
import {
  applyPulled,
  markSynced,
  pendingPush,
  readSyncState,
  settleLocalCredits,
  updateSyncState,
} from './syncStore.js';
import { SyncRequestError, type SyncTransport } from './syncTransport.js';

export interface SyncOptions {
  /** Transactions per push (the server accepts up to 1000). */
  batchSize: number;
  /** Retries of one request inside this run (network errors, 429, 5xx). */
  retry: RetryPolicy;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** Called once per request retried, e.g. to say "server unreachable, retrying in 2 s". */
  onRetry?: (error: SyncRequestError, delayMs: number) => void;
}

export interface SyncReport {
  pushed: number;
  duplicates: number;
  pushBatches: number;
  pulled: number;
  localCreditsOffsetMilli: bigint;
  serverBalanceMilli: bigint | null;
  balanceMilli: bigint;
  lastSyncAt: string;
}

/** Back-off between sync runs after failures (auto-sync skips until then): 30 s doubling, at most 1 h. */
export function nextAttemptDelayMs(failures: number): number {
  return Math.min(3_600_000, 30_000 * 2 ** Math.max(0, failures - 1));
}

async function withRequestRetries<T>(request: () => Promise<T>, options: SyncOptions): Promise<T> {
  const sleep = options.sleep ?? defaultSleep;
  for (let retry = 1; ; retry++) {
    try {
      return await request();
    } catch (error) {
      if (!(error instanceof SyncRequestError) || !error.retryable || retry > options.retry.maxRetries) throw error;
      const delay = Math.min(options.retry.maxDelayMs, error.retryAfterMs ?? backoffDelay(retry, options.retry));
      options.onRetry?.(error, delay);
      await sleep(delay);
    }
  }
}

/**
 * Pushes unsynced local usage in batches, then pulls the account's rows after the stored cursor.
 * Every step is committed locally as it completes, so an interrupted sync resumes where it stopped:
 * a batch whose answer was lost is simply pushed again (the server keys it by transaction id).
 * On failure the back-off state is recorded and an AppError names the server and the fix.
 */
export async function syncLedger(ledger: Ledger, transport: SyncTransport, options: SyncOptions): Promise<SyncReport> {
  const now = options.now ?? (() => new Date());
  try {
    const offset = settleLocalCredits(ledger, now().toISOString());
    let pushed = 0;
    let duplicates = 0;
    let pushBatches = 0;
    let serverBalance: bigint | null = null;
    for (;;) {
      const batch = pendingPush(ledger, options.batchSize);
      if (batch.length === 0) break;
      const answer = await withRequestRetries(() => transport.push(batch), options);
      markSynced(
        ledger,
        batch.map((t) => t.id),
        now().toISOString(),
        answer.balanceMilli,
      );
      pushed += answer.accepted;
      duplicates += answer.duplicates;
      pushBatches++;
      serverBalance = BigInt(answer.balanceMilli);
    }
    let pulled = 0;
    let cursor = readSyncState(ledger).cursor ?? '0';
    for (;;) {
      const page = await withRequestRetries(() => transport.pull(cursor, 1000), options);
      pulled += applyPulled(ledger, page.transactions, page.cursor, now().toISOString());
      cursor = page.cursor;
      if (!page.hasMore) break;
    }
    const lastSyncAt = now().toISOString();
    updateSyncState(ledger, { lastSyncAt, failures: null, nextAttemptAt: null, lastError: null });
    return {
      pushed,
      duplicates,
      pushBatches,
      pulled,
      localCreditsOffsetMilli: offset,
      serverBalanceMilli: serverBalance,
      balanceMilli: ledger.balanceMilli(),
      lastSyncAt,
    };
  } catch (error) {
    throw recordFailure(ledger, error, now());
  }
}

function recordFailure(ledger: Ledger, error: unknown, at: Date): unknown {
  if (!(error instanceof SyncRequestError)) return error;
  const failures = Number(readSyncState(ledger).failures ?? '0') + 1;
  updateSyncState(ledger, {
    failures: String(failures),
    nextAttemptAt: new Date(at.getTime() + nextAttemptDelayMs(failures)).toISOString(),
    lastError: error.message,
  });
  if (error.status === 401)
    return new AppError(
      'sync_rejected',
      `Sync refused the token: ${error.message}`,
      'Set AI_DEV_BOT_SYNC_TOKEN to a token from `ai-dev-bot-server token issue` (it may have been revoked).',
    );
  return new AppError(
    error.retryable ? 'sync_failed' : 'sync_rejected',
    `Sync failed: ${error.message}. Unsynced transactions stay queued in the local ledger.`,
    error.retryable
      ? 'Run `ai-dev-bot credits sync` again when the server is reachable; nothing is lost or counted twice.'
      : 'Check sync.url and the server version.',
  );
}
