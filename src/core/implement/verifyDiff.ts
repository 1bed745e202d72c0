import type { PlanItem } from '../plan/planFile.js';
import type { Reporter } from '../reporter.js';
import { isSecretPath } from '../index/discover.js';
import { describeCheck, type CheckResult, type CheckRunner } from './checks.js';
import type { WorkTree } from './gitTree.js';
import type { MeteredModel } from '../llm/meteredModel.js';
import { requestReview, type Review } from './review.js';

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
  /** The reviewing architect (task `verification`). */
  reviewer: MeteredModel;
  reporter: Reporter;
  signal?: AbortSignal;
}): Promise<DiffVerification> {
  const status = await input.tree.status();
  const entries = status.filter((e) => e.path !== input.planRel && !isSecretPath(e.path));
  const changedFiles = entries.map((e) => e.path);
  if (changedFiles.length === 0) return { changedFiles, diff: '', checks: null, review: null };
  const created = entries.filter((e) => e.status === '??' || e.status[0] === 'A').map((e) => e.path);
  const diff = await input.tree.diff({ changed: changedFiles, created });
  let checks: CheckResult | null = null;
  if (input.checkCommand) {
    input.reporter.info(`Running \`${input.checkCommand}\`…`);
    checks = await input.runChecks(input.checkCommand, {
      cwd: input.tree.root,
      timeoutMs: input.checkTimeoutMs,
      ...(input.signal ? { signal: input.signal } : {}),
    });
    if (!checks.passed) {
      return {
        changedFiles,
        diff,
        checks,
        review: { status: 'REJECTED', feedback: `The checks failed: ${describeCheck(checks)}.`, problems: [] },
      };
    }
  }
  const review = await requestReview(
    input.reviewer,
    { item: input.item, diff, check: checks },
    { reporter: input.reporter, ...(input.signal ? { signal: input.signal } : {}) },
  );
  return { changedFiles, diff, checks, review };
}
