import type { CheckResult } from '../../core/implement/checks.js';
import type { AttemptResult, ItemOutcome } from '../../core/implement/implementItem.js';
import { milliToCredits, nanoToUsd } from '../../core/ledger/money.js';
export function checksJson(check: CheckResult | null) {
  if (!check) return null;
  return {
    command: check.command,
    passed: check.passed,
    exitCode: check.exitCode,
    timedOut: check.timedOut,
    seconds: Math.round(check.durationMs) / 1000,
    outputTail: check.outputTail,
  };
}

export function attemptJson(a: AttemptResult) {
  return {
    n: a.n,
    verdict: a.verdict,
    feedback: a.feedback,
    problems: a.problems,
    checks: checksJson(a.checks),
    credits: milliToCredits(a.creditsMilli),
    usd: nanoToUsd(a.costNano),
    aider: a.aider,
    changedFiles: a.changedFiles,
  };
}

export function outcomeJson(o: ItemOutcome) {
  return {
    outcome: o.outcome,
    item: o.item,
    attempts: o.attempts.map(attemptJson),
    commit: o.commit,
    credits: milliToCredits(o.creditsMilli),
    usd: nanoToUsd(o.costNano),
    restored: o.restored,
    patch: o.patchFile,
    error: o.error ? { code: o.error.code, message: o.error.message, hint: o.error.hint ?? null } : null,
  };
}
