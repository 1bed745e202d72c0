import type { PlanItem } from '../plan/planFile.js';
import { prepareAttempt, runAiderAttempt } from './aiderAttempt.js';
import { reserveAttempt } from './attemptBudget.js';
import { collectChanges } from './attemptChanges.js';
import type { PreviousRejection } from './coderMessage.js';
import { finishApproved, finishRejected, rejectionFeedback, restoreAfterCrash, stopItem } from './finishItem.js';
import { gateAttempt, interruptedError } from './gate.js';
import { ItemStopped, recordAttempt, startItemWork, type ImplementDeps, type ItemOutcome } from './itemWork.js';

export type { AttemptResult, AttemptTiming, ImplementDeps, ItemOutcome, ItemOutcomeKind } from './itemWork.js';

/**
 * Runs one plan item through attempts (Aider → changes → gate: checks, then review) until it is
 * approved (plan `[x]` + one commit) or rejected `retries + 1` times (tree restored, plan `[!]`).
 * Credits, interruptions and Aider failures stop it with the tree restored and `error` set.
 */
export async function implementItem(
  deps: ImplementDeps,
  item: PlanItem,
  options: { retries: number; command: string },
): Promise<ItemOutcome> {
  const work = await startItemWork(deps, item, options);
  let previous: PreviousRejection | undefined;
  try {
    for (let n = 1; n <= work.attemptsTotal; n++) {
      if (deps.signal.aborted) throw new ItemStopped(interruptedError());
      const prepared = await prepareAttempt(deps, work, n, previous);
      const hold = reserveAttempt(deps, work, n, prepared.message.length);
      const run = await runAiderAttempt(deps, work, prepared, hold);
      const changes = await collectChanges(deps, work, run, prepared.planBefore);
      if ('retry' in changes) {
        recordAttempt(deps.runs, work);
        previous = changes.retry;
        continue;
      }
      const gate = await gateAttempt(deps, work, changes.diff);
      if (gate.review.status === 'APPROVED') return await finishApproved(deps, work, changes.changed, gate.checks);
      deps.reporter.warn(`${item.id} attempt ${n} rejected: ${gate.review.feedback}`);
      previous = rejectionFeedback(gate);
    }
    return await finishRejected(deps, work);
  } catch (error) {
    if (error instanceof ItemStopped) return await stopItem(deps, work, error);
    await restoreAfterCrash(deps, work, error);
    throw error;
  }
}
