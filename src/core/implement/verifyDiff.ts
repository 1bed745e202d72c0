import type { PlanItem } from '../plan/planFile.js';
import type { Reporter } from '../reporter.js';
import { isSecretPath } from '../index/discover.js';
import type { CheckResult, CheckRunner } from './checks.js';
import { gateDiff } from './gate.js';
import type { WorkTree } from './gitTree.js';
import type { Review, ReviewCall } from './review.js';

export interface DiffVerification {
  changedFiles: string[];
  diff: string;
  checks: CheckResult | null;
  review: Review | null;
}

/**
 * `verify`: the verification gate on whatever is uncommitted now (an attempt's leftovers or a
 * human's edits) — checks, then the review. Failing checks reject without a review call.
 * Secret files are never put into the reviewer's prompt.
 */
export async function verifyWorkingTree(input: {
  tree: WorkTree;
  runChecks: CheckRunner;
  planRel: string;
  item: PlanItem;
  checkCommand: string | undefined;
  checkTimeoutMs: number;
  review: ReviewCall;
  reviewMaxOutputTokens: number;
  reporter: Reporter;
  signal?: AbortSignal;
}): Promise<DiffVerification> {
  const status = await input.tree.status();
  const entries = status.filter((e) => e.path !== input.planRel && !isSecretPath(e.path));
  const changedFiles = entries.map((e) => e.path);
  if (changedFiles.length === 0) return { changedFiles, diff: '', checks: null, review: null };
  const created = entries.filter((e) => e.status === '??' || e.status[0] === 'A').map((e) => e.path);
  const diff = await input.tree.diff({ changed: changedFiles, created });
  const gate = await gateDiff(
    {
      runChecks: input.runChecks,
      review: input.review,
      reporter: input.reporter,
      checkCommand: input.checkCommand,
      checkTimeoutMs: input.checkTimeoutMs,
      signal: input.signal,
    },
    { item: input.item, diff, cwd: input.tree.root, reviewMaxOutputTokens: input.reviewMaxOutputTokens },
  );
  return { changedFiles, diff, checks: gate.checks, review: gate.review };
}
