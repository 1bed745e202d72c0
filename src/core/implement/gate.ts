import { AppError } from '../errors.js';
import type { PlanItem } from '../plan/planFile.js';
import type { Reporter } from '../reporter.js';
import { describeCheck, type CheckResult, type CheckRunner } from './checks.js';
import { charge, ItemStopped, recordAttempt, type ImplementDeps, type ItemWork } from './itemWork.js';
import { requestReview, type Review, type ReviewCall } from './review.js';

/** What the verification gate needs: the repo's checks and one metered reviewer call. */
export interface GateDeps {
  runChecks: CheckRunner;
  review: ReviewCall;
  reporter: Reporter;
  /** Config `verify.command`; absent → the review judges the diff alone. */
  checkCommand: string | undefined;
  checkTimeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Told the check result as soon as it is in, before the review is asked for. */
  onChecks?: (checks: CheckResult) => void;
}

export interface GateResult {
  checks: CheckResult | null;
  review: Review;
  /** What the review calls were charged (none when failing checks rejected without one). */
  spent: { creditsMilli: bigint; costNano: bigint };
  reviewMs: number;
}

/**
 * The verification gate, for `implement`'s attempts and for `verify`: the repo's checks, then the
 * review. Failing checks reject without a review call. An abort during the checks throws
 * `interrupted` before any review is asked for.
 */
export async function gateDiff(
  deps: GateDeps,
  input: {
    item: PlanItem;
    diff: string;
    cwd: string;
    reviewMaxOutputTokens: number;
    /** Prefixes the progress lines, e.g. "P1 attempt 2"; with it the review is announced too. */
    label?: string;
    /** The reviewer's provider/model, for that announcement. */
    reviewer?: string;
  },
): Promise<GateResult> {
  const none = { creditsMilli: 0n, costNano: 0n };
  let checks: CheckResult | null = null;
  if (deps.checkCommand) {
    deps.reporter.info(`${input.label ? `${input.label}: running` : 'Running'} \`${deps.checkCommand}\`…`);
    checks = await deps.runChecks(deps.checkCommand, {
      cwd: input.cwd,
      timeoutMs: deps.checkTimeoutMs,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    if (deps.signal?.aborted) throw interruptedError();
    deps.onChecks?.(checks);
    if (!checks.passed) {
      const feedback = `The checks failed: ${describeCheck(checks)}. Make them pass.`;
      return { checks, review: { status: 'REJECTED', feedback, problems: [] }, spent: none, reviewMs: 0 };
    }
  }
  if (input.label) deps.reporter.info(`${input.label}: ${input.reviewer ?? 'the reviewer'} is reviewing the diff…`);
  const started = performance.now();
  const reviewed = await requestReview(
    deps.review,
    { item: input.item, diff: input.diff, check: checks, maxOutputTokens: input.reviewMaxOutputTokens },
    deps.reporter,
  );
  const spent = { ...none };
  for (const reply of reviewed.replies) {
    spent.creditsMilli += reply.creditsMilli ?? 0n;
    spent.costNano += reply.costNano ?? 0n;
  }
  return { checks, review: reviewed.review, spent, reviewMs: performance.now() - started };
}

export function interruptedError(): AppError {
  return new AppError('interrupted', 'Interrupted; the working tree was restored to its state before the attempt.');
}

/**
 * The gate for one attempt of `implement`: records its checks and verdict (the attempt's spend
 * included), or stops the item when interrupted or when the review call failed.
 */
export async function gateAttempt(
  deps: Pick<ImplementDeps, 'runChecks' | 'review' | 'reporter' | 'config' | 'reviewer' | 'signal' | 'runs' | 'timing'>,
  work: ItemWork,
  diff: string,
): Promise<GateResult> {
  const { reporter, config } = deps;
  const attempt = work.current!.attempt;
  const label = `${work.item.id} attempt ${attempt.n}`;
  if (!config.verify.command && attempt.n === 1)
    reporter.info('No check command configured (verify.command); the review judges the diff alone.');
  let gate: GateResult;
  try {
    gate = await gateDiff(
      {
        runChecks: deps.runChecks,
        review: deps.review,
        reporter,
        checkCommand: config.verify.command,
        checkTimeoutMs: config.verify.timeoutSec * 1000,
        signal: deps.signal,
        onChecks: (check) => {
          attempt.checks = check;
          if (deps.timing) deps.timing.checksMs += check.durationMs;
          announceChecks(reporter, work.item.id, attempt.n, check);
        },
      },
      {
        item: work.item,
        diff,
        cwd: work.root,
        reviewMaxOutputTokens: deps.reviewer.maxOutputTokens,
        label,
        reviewer: `${deps.reviewer.provider}/${deps.reviewer.model}`,
      },
    );
  } catch (error) {
    if (deps.signal.aborted) throw new ItemStopped(interruptedError(), 'interrupted');
    const feedback = `review failed: ${(error as Error).message}`;
    if (error instanceof AppError) throw new ItemStopped(error, feedback);
    attempt.feedback = feedback;
    recordAttempt(deps.runs, work);
    throw error;
  }
  if (deps.timing) deps.timing.reviewMs += gate.reviewMs;
  charge(work, gate.spent);
  const { status, feedback, problems } = gate.review;
  Object.assign(attempt, { checks: gate.checks, verdict: status, feedback, problems });
  recordAttempt(deps.runs, work);
  reporter.event?.({ type: 'review', item: work.item.id, attempt: attempt.n, verdict: status, feedback });
  return gate;
}

/** The `--events` line of the checks (before the review's charge line, so a log reads in order). */
function announceChecks(reporter: Reporter, item: string, attempt: number, check: CheckResult): void {
  reporter.event?.({
    type: 'checks',
    item,
    attempt,
    command: check.command,
    passed: check.passed,
    exitCode: check.exitCode,
    seconds: Math.round(check.durationMs) / 1000,
  });
}
