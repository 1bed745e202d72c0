import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { commitPaths, gitStatus } from '../implement/gitTree.js';
import { requestReview, type Review, type ReviewCall } from '../implement/review.js';
import { extractJson, type ArchitectCall } from '../plan/architect.js';
import { gatherPlanContext, type IndexSearch } from '../plan/planContext.js';
import { planProgress, type Plan, type PlanItem } from '../plan/planFile.js';
import { writeFileAtomic } from '../atomicFile.js';
import { loadPlan, type PlanLocation } from '../plan/planStore.js';
import type { Reporter } from '../reporter.js';
import type { Workspace } from '../workspace.js';
import { README_JSON_SCHEMA, README_REVIEW_CRITERIA, README_SYSTEM_PROMPT, buildReadmePrompt } from './readmePrompt.js';

export const README_FILE = 'README.md';

export interface ReadmeDeps {
  ws: Workspace;
  plan: PlanLocation;
  /** One metered architect call (task `readme`). */
  write: ArchitectCall;
  /** One metered reviewer call (task `readme`). */
  review: ReviewCall;
  search?: IndexSearch;
  maxOutputTokens: number;
  reporter: Reporter;
  now?: () => Date;
}

export interface ReadmeResult {
  outcome: 'approved' | 'rejected' | 'dry-run';
  text: string;
  leftOut: string[];
  review: Review | null;
  /** Where the README it replaced was saved (repository-relative), if there was one. */
  backup: string | null;
  commit: string | null;
}

const answerSchema = z.object({ readme: z.string().min(1), leftOut: z.array(z.string()).default([]) });

/** The plan must be complete (every item done) unless forced; no plan at all needs --force too. */
function readPlanFor(deps: ReadmeDeps, force: boolean): Plan | undefined {
  let plan: Plan;
  try {
    plan = loadPlan(deps.plan).plan;
  } catch (error) {
    if (force && error instanceof AppError && error.code === 'plan_missing') return undefined;
    throw error;
  }
  const progress = planProgress(plan);
  if (!force && progress.done < progress.total)
    throw new AppError(
      'bad_argument',
      `The plan in ${deps.plan.rel} is not complete (${progress.done}/${progress.total} items done); the README is written from finished work.`,
      'Finish the plan with `ai-dev-bot implement all`, or pass --force to write the README now.',
    );
  return plan;
}

/** Asks the architect for the README; an unusable answer is asked for once more, then it fails (exit 7). */
async function draftReadme(deps: ReadmeDeps, prompt: string): Promise<{ readme: string; leftOut: string[] }> {
  const base = { system: README_SYSTEM_PROMPT, jsonSchema: README_JSON_SCHEMA, maxOutputTokens: deps.maxOutputTokens };
  const messages: Array<{ role: 'user' | 'assistant'; content: string }> = [{ role: 'user', content: prompt }];
  for (let round = 1; round <= 2; round++) {
    const reply = await deps.write({ ...base, temperature: 0.2, messages });
    let problem: string;
    try {
      const parsed = answerSchema.safeParse(extractJson(reply.text));
      if (parsed.success) return { readme: `${parsed.data.readme.trim()}\n`, leftOut: parsed.data.leftOut };
      problem = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    } catch (error) {
      problem = `not valid JSON: ${(error as Error).message}`;
    }
    deps.reporter.warn(
      `The architect's README answer was unusable (${problem})${round === 1 ? '; asking once more' : ''}.`,
    );
    messages.push(
      { role: 'assistant', content: reply.text.slice(0, 4000) || '(empty)' },
      { role: 'user', content: `That answer was not usable: ${problem}. Reply with only {"readme", "leftOut"}.` },
    );
  }
  throw new AppError(
    'provider_failed',
    'The architect did not return a usable README twice; nothing was written.',
    'Try again, or choose another model with --model.',
  );
}

/** The whole README as a diff from the old one (the reviewer reads a diff, like for any item). */
function readmeDiff(before: string | undefined, after: string): string {
  const minus =
    before === undefined
      ? ''
      : before
          .split('\n')
          .map((l) => `-${l}`)
          .join('\n');
  const plus = after
    .split('\n')
    .map((l) => `+${l}`)
    .join('\n');
  return `--- ${before === undefined ? '/dev/null' : `a/${README_FILE}`}\n+++ b/${README_FILE}\n${minus}${minus ? '\n' : ''}${plus}`;
}

/**
 * Writes the target project's README.md from the plan, manifests, file tree and index: drafted by
 * the architect, reviewed like a plan item, then the old README is backed up under .ai-dev-bot/
 * and the new one committed. `dryRun` only drafts (no review, nothing written).
 */
export async function writeReadme(
  deps: ReadmeDeps,
  options: { force: boolean; dryRun: boolean },
): Promise<ReadmeResult> {
  const { ws } = deps;
  const file = path.join(ws.root, README_FILE);
  const plan = readPlanFor(deps, options.force);
  if (!options.dryRun && (await gitStatus(ws.root)).some((e) => e.path === README_FILE))
    throw new AppError(
      'dirty_tree',
      `${README_FILE} has uncommitted changes; they would be mixed into the README commit.`,
      `Commit or stash ${README_FILE} first (or use --dry-run to only see the new README).`,
    );
  const context = await gatherPlanContext({
    root: ws.root,
    goal: plan?.goal || 'what this project is, how to install, configure and run it',
    ...(deps.search ? { search: deps.search } : {}),
    exclude: [deps.plan.rel, README_FILE],
    reporter: deps.reporter,
  });
  const prompt = buildReadmePrompt(plan, { ...context, readme: undefined });
  const draft = await draftReadme(deps, prompt);
  if (options.dryRun)
    return { outcome: 'dry-run', text: draft.readme, leftOut: draft.leftOut, review: null, backup: null, commit: null };

  const before = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  const item: PlanItem = {
    id: 'README',
    title: `Write ${README_FILE} for the project's users`,
    status: 'open',
    files: [README_FILE],
    action: prompt.slice(0, 30_000),
    verification: README_REVIEW_CRITERIA,
    notes: [],
    line: 0,
  };
  const { review } = await requestReview(
    deps.review,
    { item, diff: readmeDiff(before, draft.readme), check: null, maxOutputTokens: deps.maxOutputTokens },
    deps.reporter,
  );
  if (review.status !== 'APPROVED')
    return { outcome: 'rejected', text: draft.readme, leftOut: draft.leftOut, review, backup: null, commit: null };

  let backup: string | null = null;
  if (before !== undefined) {
    const stamp = (deps.now?.() ?? new Date()).toISOString().replace(/[:.]/g, '-');
    const dir = path.join(ws.stateDir, 'readme');
    mkdirSync(dir, { recursive: true });
    const saved = path.join(dir, `README-${stamp}.md`);
    writeFileAtomic(saved, before);
    backup = path.relative(ws.root, saved).split(path.sep).join('/');
  }
  writeFileAtomic(file, draft.readme);
  const message = [
    `ai-dev-bot: ${README_FILE} from the plan and the code`,
    '',
    ...(review.feedback ? [review.feedback.split('\n')[0]!.slice(0, 200), ''] : []),
    ...(draft.leftOut.length ? [`Left out (not supported by the code): ${draft.leftOut.join(', ')}`, ''] : []),
  ].join('\n');
  const commit = await commitPaths(ws.root, [README_FILE], message, path.join(ws.stateDir, 'readme-commit.txt'));
  return { outcome: 'approved', text: draft.readme, leftOut: draft.leftOut, review, backup, commit };
}
