import { z } from 'zod';
import type { Reporter } from '../reporter.js';
import type { PlanItem } from '../plan/planFile.js';
import type { AnswerSchema } from '../llm/jsonAnswer.js';
import type { MeteredModel } from '../llm/meteredModel.js';
import { describeCheck, type CheckResult } from './checks.js';
import { redactContentSecrets } from '../secrets/secretScanner.js';

/**
 * The verification gate's second half: the architect reviews the diff against the item's
 * verification criteria and the check results, answering JSON {status, feedback, problems[]}.
 */

export type Verdict = 'APPROVED' | 'REJECTED';

export interface Review {
  status: Verdict;
  feedback: string;
  problems: string[];
  /** True when the reviewer's answer was unusable twice (then counted as not approved). */
  invalid?: boolean;
}

const reviewSchema = z.object({
  status: z.preprocess((v) => (typeof v === 'string' ? v.trim().toUpperCase() : v), z.enum(['APPROVED', 'REJECTED'])),
  feedback: z.string().default(''),
  problems: z.array(z.string()).default([]),
});

export const REVIEW_JSON_SCHEMA = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['APPROVED', 'REJECTED'], description: 'APPROVED only if every criterion is met' },
    feedback: { type: 'string', description: 'what to change (for REJECTED) or a one-line summary (for APPROVED)' },
    problems: { type: 'array', items: { type: 'string' }, description: 'concrete problems, one per entry' },
  },
  required: ['status', 'feedback', 'problems'],
};

export const REVIEW_SYSTEM_PROMPT = `You are the reviewing architect of a coding agent. A coder has implemented one item of a plan.
Decide whether the diff fully and correctly implements the item and meets its verification criteria.
Judge only the item's scope; do not demand unrelated improvements. Failing checks mean REJECTED.
Answer with one JSON object only: {"status": "APPROVED" | "REJECTED", "feedback": string, "problems": string[]}.
For REJECTED, the feedback must tell the coder precisely what to change; it is sent to the coder as is.`;

const MAX_DIFF_CHARS = 60_000;

export function buildReviewPrompt(item: PlanItem, diff: string, check: CheckResult | null): string {
  const shownDiff =
    diff.length > MAX_DIFF_CHARS
      ? `${diff.slice(0, MAX_DIFF_CHARS)}\n… (diff cut at ${MAX_DIFF_CHARS} characters)`
      : diff;
  const checkText = check
    ? `${describeCheck(check)}\n\nOutput (tail):\n\`\`\`\n${check.outputTail.trim() || '(no output)'}\n\`\`\``
    : 'No check command is configured for this repository; judge from the diff alone.';
  return [
    `## Item ${item.id}: ${item.title}`,
    '',
    `Files: ${item.files.join(', ') || '(not specified)'}`,
    '',
    `Action:\n${item.action || '(none given)'}`,
    '',
    `Verification criteria:\n${item.verification || '(none given: judge whether the action is done)'}`,
    '',
    '## Checks',
    checkText,
    '',
    '## Diff',
    '```diff',
    shownDiff.trim() || '(empty diff)',
    '```',
  ].join('\n');
}

const reviewAnswer: AnswerSchema<Review> = { json: REVIEW_JSON_SCHEMA, zod: reviewSchema };

/**
 * The diff and check output with credentials masked: a change that adds or touches a key, or a
 * test that prints one, must not carry it to the reviewing model. Told (debug) where, not what.
 */
async function redactReviewInput(
  diff: string,
  check: CheckResult | null,
  reporter: Reporter,
): Promise<{ diff: string; check: CheckResult | null }> {
  const maskedDiff = await redactContentSecrets(diff, 'review.diff');
  for (const f of maskedDiff.findings)
    reporter.debug(`redacted a secret in the review diff: line ${f.line} (${f.rule})`);
  if (!check) return { diff: maskedDiff.text, check };
  const maskedOutput = await redactContentSecrets(check.outputTail, 'checks.log');
  return { diff: maskedDiff.text, check: { ...check, outputTail: maskedOutput.text } };
}

/**
 * Asks the reviewer (task `verification`, or the caller's); an answer invalid twice counts as
 * REJECTED (never approved).
 */
export async function requestReview(
  reviewer: MeteredModel,
  input: { item: PlanItem; diff: string; check: CheckResult | null },
  options: { reporter: Reporter; task?: string; signal?: AbortSignal },
): Promise<Review> {
  const masked = await redactReviewInput(input.diff, input.check, options.reporter);
  const prompt = {
    system: REVIEW_SYSTEM_PROMPT,
    user: buildReviewPrompt(input.item, masked.diff, masked.check),
    answer: 'review',
    temperature: 0,
  };
  const call = { task: options.task ?? 'verification', ...(options.signal ? { signal: options.signal } : {}) };
  const answer = await reviewer.completeJson(reviewAnswer, prompt, call);
  if (answer.ok) return answer.value;
  return {
    status: 'REJECTED',
    feedback: `The reviewer returned an invalid answer twice (${answer.problems.join('; ')}); the change was not approved.`,
    problems: [],
    invalid: true,
  };
}
