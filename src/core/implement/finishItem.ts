import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AppError, ExitCode } from '../errors.js';
import { formatCredits, formatUsd } from '../ledger/money.js';
import { updatePlanItemOnDisk } from '../plan/planStore.js';
import { describeCheck, tail, type CheckResult } from './checks.js';
import type { PreviousRejection } from './coderMessage.js';
import type { GateResult } from './gate.js';
import { relPosix } from './itemFiles.js';
import type { WorkState } from './runsStore.js';
import { recordAttempt, type ImplementDeps, type ItemOutcome, type ItemStopped, type ItemWork } from './itemWork.js';

type FinishDeps = Pick<ImplementDeps, 'ws' | 'plan' | 'tree' | 'runs' | 'reporter' | 'reviewer'>;

/** Approved: the plan item `[x]` and one commit of the attempt's files and the plan. */
export async function finishApproved(
  deps: FinishDeps,
  work: ItemWork,
  changed: string[],
  check: CheckResult | null,
): Promise<ItemOutcome> {
  const { item, outcome, planRel } = work;
  const n = outcome.attempts.length;
  updatePlanItemOnDisk(deps.plan, item.id, { status: 'done', feedback: null });
  const reviewer = `${deps.reviewer.provider}/${deps.reviewer.model}`;
  const message = commitMessage(work, check, reviewer);
  let sha: string;
  try {
    sha = await deps.tree.commit([...changed, planRel], message, path.join(deps.ws.stateDir, `commit-${work.id}.txt`));
  } catch (error) {
    // Approved work is not thrown away: it stays in the tree for the user to commit.
    updatePlanItemOnDisk(deps.plan, item.id, { status: 'open' });
    outcome.outcome = 'error';
    outcome.error = new AppError(
      'internal',
      `${item.id} was approved but the commit failed: ${(error as Error).message.trim()}`,
      'The approved changes are still in the working tree: fix the cause (e.g. a pre-commit hook) and commit them, or run `ai-dev-bot verify` again.',
    );
    return closeWork(deps, work, 'failed', 'approved; commit failed');
  }
  outcome.outcome = 'approved';
  outcome.commit = sha;
  deps.reporter.event?.({ type: 'commit', item: item.id, sha });
  deps.reporter.info(`${item.id} approved after ${n} attempt${n === 1 ? '' : 's'}; committed ${sha.slice(0, 12)}.`);
  return closeWork(deps, work, 'approved', 'approved', sha);
}

/** A rejection another attempt may fix: its feedback, problems and failing check output. */
export function rejectionFeedback({ review, checks }: GateResult): PreviousRejection {
  return {
    feedback: review.feedback,
    problems: review.problems,
    ...(checks && !checks.passed ? { checkOutput: tail(checks.outputTail, 2000) } : {}),
  };
}

/** Every attempt was rejected: keep the last diff, put the tree back, mark the item `[!]`. */
export async function finishRejected(deps: FinishDeps, work: ItemWork): Promise<ItemOutcome> {
  const { ws } = deps;
  const { item, outcome } = work;
  const last = outcome.attempts[outcome.attempts.length - 1];
  if (work.lastDiff) {
    mkdirSync(ws.logsDir, { recursive: true });
    const patch = path.join(ws.logsDir, `${work.id.slice(0, 8)}-${item.id}-rejected.patch`);
    writeFileSync(patch, work.lastDiff);
    outcome.patchFile = relPosix(ws.root, patch);
  }
  await restoreTree(deps, work);
  const feedback = [last?.feedback || 'rejected', ...(last?.problems ?? []).map((p) => `- ${p}`)].join('\n');
  updatePlanItemOnDisk(deps.plan, item.id, { status: 'rejected', feedback });
  outcome.outcome = 'rejected';
  const n = outcome.attempts.length;
  outcome.error = new AppError(
    'verification_rejected',
    `${item.id} was rejected after ${n} attempt${n === 1 ? '' : 's'}: ${last?.feedback ?? ''}`,
    `The tree was restored${outcome.patchFile ? ` and the last diff saved to ${outcome.patchFile}` : ''}. Edit the item in ${work.planRel} or run \`ai-dev-bot implement ${item.id}\` again.`,
  );
  return closeWork(deps, work, 'rejected', 'rejected');
}

/** Credits, an interruption or an Aider failure: the attempt recorded, the tree restored, the item open. */
export async function stopItem(deps: FinishDeps, work: ItemWork, stop: ItemStopped): Promise<ItemOutcome> {
  if (work.current && !work.current.recorded && stop.feedback !== undefined) {
    work.current.attempt.feedback = stop.feedback;
    recordAttempt(deps.runs, work);
  }
  await restoreTree(deps, work);
  const { outcome } = work;
  const { exitCode, code } = stop.error;
  outcome.outcome = exitCode === ExitCode.credits || exitCode === ExitCode.interrupted ? 'stopped' : 'error';
  outcome.error = stop.error;
  return closeWork(deps, work, 'restored', `${outcome.outcome}: ${code}`);
}

/** An unexpected failure: never leave a half-edited tree behind (the caller rethrows). */
export async function restoreAfterCrash(deps: FinishDeps, work: ItemWork, error: unknown): Promise<void> {
  try {
    await restoreTree(deps, work);
    deps.runs.finishWork(work.id, 'failed', `error: ${(error as Error).message}`);
  } catch (restoreError) {
    deps.reporter.warn(
      `Restoring the tree failed too: ${(restoreError as Error).message}. Saved copies: ${work.snapshotDir}`,
    );
  }
}

async function restoreTree(deps: Pick<FinishDeps, 'tree' | 'reporter'>, work: ItemWork): Promise<void> {
  const restored = await deps.tree.restore(work.snapshot, work.snapshotDir);
  work.outcome.restored = true;
  if (restored.length > 0)
    deps.reporter.info(
      `Restored the working tree (${restored.length} file${restored.length === 1 ? '' : 's'} put back).`,
    );
}

function closeWork(
  deps: Pick<FinishDeps, 'runs'>,
  work: ItemWork,
  state: Exclude<WorkState, 'running'>,
  note: string,
  sha?: string,
): ItemOutcome {
  deps.runs.finishWork(work.id, state, note, sha);
  rmSync(work.snapshotDir, { recursive: true, force: true });
  return work.outcome;
}

function commitMessage(work: ItemWork, check: CheckResult | null, reviewer: string): string {
  const { item, outcome } = work;
  const attempts = outcome.attempts.length;
  const last = outcome.attempts[attempts - 1];
  const summary = (last?.feedback ?? '').split('\n')[0]!.slice(0, 200);
  return [
    `ai-dev-bot: ${item.id} ${item.title}`,
    '',
    ...(summary ? [summary, ''] : []),
    `Verification: APPROVED by ${reviewer} after ${attempts} attempt${attempts === 1 ? '' : 's'}`,
    `Checks: ${describeCheck(check)}`,
    `Cost: ${formatCredits(outcome.creditsMilli)} credits (${formatUsd(outcome.costNano)})`,
    '',
  ].join('\n');
}
