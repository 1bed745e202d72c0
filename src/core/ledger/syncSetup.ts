import { loadConfig, type Config } from '../config.js';
import { AppError } from '../errors.js';
import type { Ledger } from './ledger.js';
import { syncLedger, type SyncOptions, type SyncReport } from './sync.js';
import { milliToCredits } from './money.js';
import { readSyncState, unsyncedUsage } from './syncStore.js';
import { HttpSyncTransport } from './syncTransport.js';

export const SYNC_TOKEN_ENV = 'AI_DEV_BOT_SYNC_TOKEN';
export type SyncSettings = Config['sync'];

/**
 * Sync settings come from the user's config file and the environment only: a repository's
 * ai-dev-bot.config.json must not be able to send the user's sync token to a server it chooses.
 */
export function syncSettings(env: NodeJS.ProcessEnv = process.env): SyncSettings {
  return loadConfig({ env }).sync;
}

export function isSyncConfigured(settings: SyncSettings): boolean {
  return settings.url !== undefined;
}

/** The HTTP transport for the configured server, or a usage error naming what is missing. */
export function syncTransport(settings: SyncSettings, env: NodeJS.ProcessEnv = process.env): HttpSyncTransport {
  if (!settings.url)
    throw new AppError(
      'sync_not_configured',
      'Sync is not configured: no sync.url.',
      'Set "sync": {"url": "https://ledger.example.com"} in your user config (or AI_DEV_BOT_SYNC_URL).',
    );
  const token = env[SYNC_TOKEN_ENV];
  if (!token)
    throw new AppError(
      'sync_not_configured',
      `Sync needs a token: ${SYNC_TOKEN_ENV} is not set.`,
      `Ask your admin for one (\`ai-dev-bot-server token issue\`) and export ${SYNC_TOKEN_ENV}.`,
    );
  return new HttpSyncTransport(settings.url, token, settings.timeoutMs);
}

/** `credits sync`: retries each request a few times before giving up. */
export function manualSyncOptions(settings: SyncSettings, onRetry?: SyncOptions['onRetry']): SyncOptions {
  return {
    batchSize: settings.batchSize,
    retry: { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 10_000 },
    ...(onRetry ? { onRetry } : {}),
  };
}

export type AutoSyncOutcome =
  | { status: 'skipped'; reason: string }
  | { status: 'synced'; report: SyncReport }
  | { status: 'failed'; message: string };

/**
 * The opt-in sync after a metered command: one try per request, a short timeout, skipped while a
 * previous failure's back-off runs, and never an error — the command's own outcome stands.
 */
export async function autoSync(
  ledger: Ledger,
  settings: SyncSettings,
  env: NodeJS.ProcessEnv = process.env,
  now: Date = new Date(),
): Promise<AutoSyncOutcome> {
  if (!settings.auto) return { status: 'skipped', reason: 'sync.auto is off' };
  if (!settings.url || !env[SYNC_TOKEN_ENV]) return { status: 'skipped', reason: 'sync not configured' };
  const due = readSyncState(ledger).nextAttemptAt;
  if (due && Date.parse(due) > now.getTime()) return { status: 'skipped', reason: `backing off until ${due}` };
  const quick = { ...settings, timeoutMs: Math.min(settings.timeoutMs, 5000) };
  try {
    const report = await syncLedger(ledger, syncTransport(quick, env), {
      batchSize: settings.batchSize,
      retry: { maxRetries: 0, baseDelayMs: 0, maxDelayMs: 0 },
    });
    return { status: 'synced', report };
  } catch (error) {
    return { status: 'failed', message: (error as Error).message };
  }
}

export interface SyncStatus {
  configured: boolean;
  lastSyncAt: string | null;
  /** Usage transactions not yet pushed, and their credits. */
  unsynced: number;
  unsyncedCredits: number;
  lastError: string | null;
}

/** Sync state for `status`, from local state only: the server is not contacted. */
export function syncStatus(ledger: Ledger, settings: SyncSettings): SyncStatus {
  const state = readSyncState(ledger);
  const pending = unsyncedUsage(ledger);
  return {
    configured: isSyncConfigured(settings),
    lastSyncAt: state.lastSyncAt ?? null,
    unsynced: pending.count,
    unsyncedCredits: milliToCredits(pending.creditsMilli),
    lastError: state.lastError ?? null,
  };
}
