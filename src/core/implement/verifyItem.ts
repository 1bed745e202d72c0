import { usageError } from '../errors.js';
import { findItem, nextOpenItem, type PlanItem } from '../plan/planFile.js';
import { loadPlan, planLocation } from '../plan/planStore.js';
import type { Runtime } from '../runtime.js';
import { runChecks } from './checks.js';
import { gitWorkTree } from './gitTree.js';
import { aiderStateDir } from './aiderAttempt.js';
import { meteredReviewCall } from './implementPlan.js';
import { recoverInterruptedWork } from './recovery.js';
import { RunsStore } from './runsStore.js';
import { verifyWorkingTree, type DiffVerification } from './verifyDiff.js';

export interface ItemVerification extends DiffVerification {
  item: PlanItem;
  creditsMilli: bigint;
  costNano: bigint;
}

/**
 * `verify [<ID>]`: the checks and the review of whatever is uncommitted now, against the named
 * item or the next open (else rejected) one. Nothing is committed; the plan file is not changed.
 * `review` is null when there was nothing to verify.
 */
export async function verifyPlanItem(rt: Runtime, id: string | undefined): Promise<ItemVerification> {
  const { ws, config } = rt;
  const location = planLocation(ws, config);
  const { plan } = loadPlan(location);
  const item = id ? findItem(plan, id) : (nextOpenItem(plan) ?? nextOpenItem(plan, { includeRejected: true }));
  if (!item) {
    if (id) throw usageError(`No item ${id} in ${location.rel}.`, 'Run `ai-dev-bot plan show` to list the item IDs.');
    throw usageError(`No open item in ${location.rel} to verify against.`, 'Name one: ai-dev-bot verify <ID>.');
  }
  // A crashed implement's leftovers are not a human's change: undo them first.
  const runs = RunsStore.open(ws.runsDb);
  try {
    await recoverInterruptedWork(gitWorkTree(ws.root), runs, rt.reporter, aiderStateDir(ws));
  } finally {
    runs.close();
  }
  const { choice, provider, meter } = await rt.model('architect');
  const before = { nano: meter.budget.spentNano, milli: meter.budget.creditsMilli };
  const result = await verifyWorkingTree({
    tree: gitWorkTree(ws.root),
    runChecks,
    planRel: location.rel,
    item,
    checkCommand: config.verify.command,
    checkTimeoutMs: config.verify.timeoutSec * 1000,
    review: meteredReviewCall(meter, provider),
    reviewMaxOutputTokens: choice.maxOutputTokens,
    reporter: rt.reporter,
  });
  return {
    ...result,
    item,
    costNano: meter.budget.spentNano - before.nano,
    creditsMilli: meter.budget.creditsMilli - before.milli,
  };
}
