import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { isSecretPath } from '../index/discover.js';
import { writeFileAtomic } from '../atomicFile.js';
import type { PlanItem } from '../plan/planFile.js';
import { isFatalProviderError, isTransientProviderError } from './aiderReport.js';
import type { AiderRunResult } from './aiderRunner.js';
import { tail } from './checks.js';
import type { PreviousRejection } from './coderMessage.js';
import { relPosix } from './itemFiles.js';
import { ItemStopped, type ImplementDeps, type ItemWork } from './itemWork.js';
import { resolvesOutsideRepo } from './repoPaths.js';

/** What an attempt changed, as the gate judges it. */
export interface AttemptChanges {
  changed: string[];
  diff: string;
}

/**
 * What Aider's run left in the tree. Stops the item when it touched a forbidden path or failed in
 * a way another attempt cannot fix; asks for another attempt when it changed nothing. Undoes an
 * edit to the plan file and refreshes the index for the gate.
 */
export async function collectChanges(
  deps: Pick<ImplementDeps, 'tree' | 'config' | 'plan' | 'reporter' | 'refreshIndex' | 'timing'>,
  work: ItemWork,
  run: AiderRunResult,
  planBefore: string,
): Promise<AttemptChanges | { retry: PreviousRejection }> {
  const { tree, reporter } = deps;
  const { item, planRel, snapshot, snapshotDir } = work;
  const attempt = work.current!.attempt;
  // Before any other verdict, the second line of defence behind the allow-list: an attempt that
  // wrote (or tried to edit) a secret file, a path out of the repo or a file behind a link out
  // of it is stopped and undone.
  const forbidden = forbiddenTouches(
    work.root,
    planRel,
    run.summary.editTargets,
    await tree.changesSince(snapshot, snapshotDir),
  );
  if (forbidden.length > 0)
    throw new ItemStopped(
      new AppError(
        'aider_failed',
        `Aider touched files that are never given to it while working on ${item.id}: ${forbidden.join(', ')}. ` +
          'The attempt was stopped and every path it touched restored.',
        `Reword ${item.id} in ${planRel} so that it does not ask for secret files or files outside the repository. Transcript: ${attempt.aider.transcript}`,
      ),
      `Aider touched files it must not: ${forbidden.join(', ')}`,
    );
  const failure =
    providerFailure(run, item, attempt.aider.transcript) ??
    aiderFailure(run, item, deps.config, attempt.aider.transcript);
  if (failure) throw new ItemStopped(failure.error, failure.feedback);

  // The plan file is ours: an edit Aider made to it is undone before anything reads it.
  if (readFileSync(deps.plan.file, 'utf8') !== planBefore) {
    writeFileAtomic(deps.plan.file, planBefore);
    reporter.warn(`Aider edited ${planRel}; that edit was undone (the plan is updated by ai-dev-bot only).`);
  }
  const changes = await tree.changesSince(snapshot, snapshotDir);
  const changed = changes.changed.filter((p) => p !== planRel);
  attempt.changedFiles = changed;
  if (changes.touchedUserFiles.some((p) => p !== planRel))
    reporter.warn(
      `Aider changed files you had uncommitted changes in: ${changes.touchedUserFiles.join(', ')}. They are left out of any commit.`,
    );
  if (changed.length === 0) {
    attempt.feedback =
      'The previous attempt changed no files. Make the edits with SEARCH/REPLACE blocks whose SEARCH part matches the files exactly.' +
      (run.summary.providerErrors.length ? `\nAider reported: ${run.summary.providerErrors.join('; ')}` : '');
    reporter.warn(`${item.id} attempt ${attempt.n}: Aider changed no files (transcript: ${attempt.aider.transcript}).`);
    return { retry: { feedback: attempt.feedback, problems: [] } };
  }
  const diff = await tree.diff({ changed, created: changes.created.filter((p) => changed.includes(p)) });
  work.lastDiff = diff;
  await refreshIndex(deps);
  return { changed, diff };
}

/** Aider changed files: the next attempt's context and later items search an up-to-date index (never fatal). */
async function refreshIndex(deps: Pick<ImplementDeps, 'reporter' | 'refreshIndex' | 'timing'>): Promise<void> {
  if (!deps.refreshIndex) return;
  const started = performance.now();
  try {
    await deps.refreshIndex();
  } catch (error) {
    deps.reporter.warn(`The index was not refreshed: ${(error as Error).message}`);
  }
  if (deps.timing) deps.timing.indexMs += performance.now() - started;
}

/**
 * Paths an attempt must never touch: secret files it changed or tried to edit, paths outside the
 * repository, and links whose target outside the repository changed.
 */
function forbiddenTouches(
  root: string,
  planRel: string,
  editTargets: string[],
  changes: { changed: string[]; escaped: string[] },
): string[] {
  const out = new Set<string>();
  for (const p of changes.changed) if (p !== planRel && isSecretPath(p)) out.add(`${p} (secret)`);
  for (const p of changes.escaped) out.add(`${p} (symlink out of the repository)`);
  for (const target of editTargets) {
    const reason = forbiddenEditReason(root, target);
    if (reason) out.add(reason);
  }
  return [...out];
}

/** Why a file named by the model's reply is off limits for Aider, or undefined when it is not. */
export function forbiddenEditReason(root: string, target: string): string | undefined {
  const rel = relPosix(root, path.resolve(root, target));
  if (rel === '..' || rel.startsWith('../') || path.isAbsolute(rel)) return `${target} (outside the repository)`;
  if (isSecretPath(rel)) return `${rel} (secret)`;
  if (resolvesOutsideRepo(root, rel)) return `${rel} (symlink out of the repository)`;
  return undefined;
}

/**
 * The coder model's provider was unreachable or failing (connection refused, 5xx, timeouts) when
 * Aider gave up or was stopped: exit 7 with the item left open, not a verdict on the item.
 */
function providerFailure(
  run: AiderRunResult,
  item: PlanItem,
  transcript: string,
): { feedback: string; error: AppError } | undefined {
  if (!run.providerGaveUp && !run.summary.lastCallFailed) return undefined;
  const reason =
    [...run.summary.providerErrors].reverse().find(isTransientProviderError) ?? 'the provider kept failing';
  return {
    feedback: `provider failed: ${reason}`,
    error: new AppError(
      'provider_failed',
      `The coder model's provider failed while Aider worked on ${item.id} (${reason}); the tree was restored and ${item.id} stays open.`,
      `Check that the provider (or the server at its base URL) is reachable, then run \`ai-dev-bot implement ${item.id}\` again. Transcript: ${transcript}`,
    ),
  };
}

/**
 * Runs that another attempt cannot fix: a timeout, a non-zero exit (setup or argument errors) or a
 * provider error such as a bad key (Aider exits 0 after those, so its output is read).
 */
function aiderFailure(
  run: AiderRunResult,
  item: PlanItem,
  config: Config,
  transcript: string,
): { feedback: string; error: AppError } | undefined {
  if (run.timedOut) {
    return {
      feedback: `Aider did not finish within ${config.aider.timeoutSec} s`,
      error: new AppError(
        'aider_failed',
        `Aider did not finish ${item.id} within aider.timeoutSec = ${config.aider.timeoutSec} s and was stopped; the tree was restored.`,
        `Raise aider.timeoutSec in ai-dev-bot.config.json, or split the item. Transcript: ${transcript}`,
      ),
    };
  }
  const fatal = run.summary.providerErrors.find(isFatalProviderError);
  if (run.exitCode === 0 && !fatal) return undefined;
  const reason = fatal ?? `exit code ${run.exitCode}`;
  return {
    feedback: `Aider failed: ${reason}`,
    error: new AppError(
      'aider_failed',
      `Aider failed on ${item.id} (${reason}); the tree was restored.\n${tail(run.output, 1500)}`,
      `See the transcript ${transcript}.`,
    ),
  };
}
