import { AppError } from '../../core/errors.js';
import { indexFreshness } from '../../core/index/freshness.js';
import { formatCredits, milliToCredits } from '../../core/ledger/money.js';
import { openUserLedger } from '../../core/ledger/open.js';
import { nextOpenItem, planProgress } from '../../core/plan/planFile.js';
import { loadPlan, planLocation } from '../../core/plan/planStore.js';
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
    const sync = ledger.syncState();
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
        `Sync: ${sync.unsynced} transactions not synced${sync.lastSyncAt ? `, last sync ${sync.lastSyncAt}` : ''}`,
      ].join('\n'),
    );
  } finally {
    ledger.close();
  }
}
