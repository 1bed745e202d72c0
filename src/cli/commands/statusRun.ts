import { AppError } from '../../core/errors.js';
import { indexFreshness } from '../../core/index/freshness.js';
import { formatCredits, milliToCredits } from '../../core/ledger/money.js';
import { openUserLedger } from '../../core/ledger/open.js';
import { isSyncConfigured, syncSettings } from '../../core/ledger/syncSetup.js';
import { readSyncState, unsyncedUsage } from '../../core/ledger/syncStore.js';
import { nextOpenItem, planProgress } from '../../core/plan/planFile.js';
import { loadPlan, planLocation } from '../../core/plan/planStore.js';
import type { Ledger } from '../../core/ledger/ledger.js';
import type { CommandContext } from '../context.js';

function readPlanStatus(ctx: CommandContext) {
  const location = planLocation(ctx.workspace(), ctx.config());
  try {
    const { plan } = loadPlan(location);
    const progress = planProgress(plan);
    return {
      file: location.rel,
      goal: plan.goal || null,
      total: progress.total,
      done: progress.done,
      rejected: progress.rejected,
      next: nextOpenItem(plan)?.id ?? null,
    };
  } catch (error) {
    // No plan yet is a normal state here; a foreign TODO.md is reported by `plan`, not hidden.
    if (error instanceof AppError && error.code === 'plan_missing') return null;
    throw error;
  }
}

export async function runStatus(ctx: CommandContext): Promise<void> {
  const ws = ctx.workspace();
  const config = ctx.config();
  const plan = readPlanStatus(ctx);
  const index = (await indexFreshness(ws, config)) ?? null;
  const ledger = await openUserLedger(config);
  try {
    const midnight = new Date();
    midnight.setHours(0, 0, 0, 0);
    const balance = ledger.balanceMilli();
    const spentToday = ledger.spentSinceMilli(midnight.toISOString());
    const credits = { balance: milliToCredits(balance), spentToday: milliToCredits(spentToday) };
    const sync = syncStatus(ledger);
    ctx.out.result({ plan, credits, index, sync }, () =>
      [
        plan
          ? `Plan ${plan.file}: ${plan.done}/${plan.total} done${plan.rejected ? `, ${plan.rejected} rejected` : ''}` +
            (plan.next ? `; next ${plan.next}` : '; nothing open') +
            (plan.goal ? ` — ${plan.goal}` : '')
          : 'Plan: none yet (ai-dev-bot plan "<goal>")',
        `Credits: ${formatCredits(balance)} (spent today ${formatCredits(spentToday)})`,
        index
          ? `Index: ${index.files} files, ${index.chunks} chunks, ` +
            (index.stale === 0 ? 'up to date' : `${index.stale} files changed since the last run (ai-dev-bot index)`)
          : 'Index: none yet (ai-dev-bot index)',
        syncLine(sync),
      ].join('\n'),
    );
  } finally {
    ledger.close();
  }
}

/** Sync state from local state only: the server is not contacted. */
function syncStatus(ledger: Ledger) {
  const configured = isSyncConfigured(syncSettings());
  const state = readSyncState(ledger);
  const pending = unsyncedUsage(ledger);
  return {
    configured,
    lastSyncAt: state.lastSyncAt ?? null,
    unsynced: pending.count,
    unsyncedCredits: milliToCredits(pending.creditsMilli),
    lastError: state.lastError ?? null,
  };
}

function syncLine(sync: ReturnType<typeof syncStatus>): string {
  if (!sync.configured) return 'Sync: not configured (sync.url), the ledger is local to this machine';
  const pending =
    sync.unsynced === 0
      ? 'everything synced'
      : `${sync.unsynced} transactions (${sync.unsyncedCredits} credits) not synced yet`;
  return (
    `Sync: ${pending}; last sync ${sync.lastSyncAt ?? 'never'}` +
    (sync.lastError ? ` (last attempt failed: ${sync.lastError})` : '')
  );
}
