import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { AppError, ExitCode } from '../errors.js';
import { isSecretPath } from '../index/discover.js';
import { filesHoldingCredentials } from '../secrets/credentialFiles.js';
import { formatCredits, formatUsd } from '../ledger/money.js';
import type { ExternalCall, ExternalSpend, MeteredModel } from '../llm/meteredModel.js';
import type { PlanItem } from '../plan/planFile.js';
import type { ContextHit } from '../plan/planContext.js';
import { updatePlanItemOnDisk, writeFileAtomic, type PlanLocation } from '../plan/planStore.js';
import type { Reporter } from '../reporter.js';
import type { Workspace } from '../workspace.js';
import { aiderAllowList, mentionedCredentialFiles } from './aiderAllowList.js';
import { buildAiderInvocation, type AiderPaths } from './aiderInvocation.js';
import type { AiderExecutable } from './aiderLocator.js';
import type { AiderRunner, AiderRunResult } from './aiderRunner.js';
import { isFatalProviderError, isTransientProviderError } from './aiderReport.js';
import { describeCheck, tail, type CheckResult, type CheckRunner } from './checks.js';
import { buildCoderMessage, type PreviousRejection } from './coderMessage.js';
import type { WorkTree } from './gitTree.js';
import { requestReview, type Review } from './review.js';
import { resolvesOutsideRepo } from './repoPaths.js';
import type { RunsStore } from './runsStore.js';

/** Everything the loop touches, passed in so tests and the benchmark can drive it with real parts. */
export interface ImplementDeps {
  ws: Workspace;
  config: Config;
  plan: PlanLocation;
  reporter: Reporter;
  runs: RunsStore;
  aider: AiderExecutable;
  runAider: AiderRunner;
  /** Git status, snapshot/restore, diff and commit of the repository's work tree. */
  tree: WorkTree;
  runChecks: CheckRunner;
  /** Aider's model: its spend is held before and recorded after each run. */
  coder: MeteredModel;
  /** The reviewing architect (task `verification`; also named in the commit trailer). */
  reviewer: MeteredModel;
  /** Index search for context files; absent or failing → only the item's files. */
  search?: (query: string, k: number) => Promise<ContextHit[]>;
  /** Incremental index refresh after Aider changed files; absent when there is no index. */
  refreshIndex?: () => Promise<void>;
  /** Aborted on Ctrl-C / SIGTERM. */
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
  /** Measures time spent outside our process (Aider, LLM calls, checks) for the benchmark. */
  timing?: AttemptTiming;
}

export interface AttemptTiming {
  aiderMs: number;
  reviewMs: number;
  checksMs: number;
  indexMs: number;
}

export interface AttemptResult {
  n: number;
  verdict: 'APPROVED' | 'REJECTED' | 'FAILED';
  feedback: string;
  problems: string[];
  checks: CheckResult | null;
  creditsMilli: bigint;
  costNano: bigint;
  aider: { exitCode: number | null; seconds: number; calls: number; editedFiles: string[]; transcript: string };
  changedFiles: string[];
}

export type ItemOutcomeKind = 'approved' | 'rejected' | 'stopped' | 'error';

export interface ItemOutcome {
  outcome: ItemOutcomeKind;
  item: { id: string; title: string };
  attempts: AttemptResult[];
  commit: string | null;
  creditsMilli: bigint;
  costNano: bigint;
  /** The tree was put back to its state before the item (rejection, interruption, failure). */
  restored: boolean;
  /** The last rejected diff, saved under .ai-dev-bot/logs/. */
  patchFile: string | null;
  error: AppError | null;
}

const interrupted = () =>
  new AppError('interrupted', 'Interrupted; the working tree was restored to its state before the attempt.');

function relPosix(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/');
}

/** The item's files Aider may edit: inside the repo (links included), not secret, not directories. */
export function editableFiles(ws: Workspace, item: PlanItem, planRel: string): string[] {
  const out: string[] = [];
  for (const raw of item.files) {
    const cleaned = raw.replace(/^`|`$/g, '').trim();
    if (!cleaned || /[*?[\]{}]/.test(cleaned)) continue;
    const abs = path.resolve(ws.root, cleaned);
    const rel = relPosix(ws.root, abs);
    if (rel.startsWith('..') || path.isAbsolute(rel) || rel === planRel || rel.startsWith('.ai-dev-bot/')) continue;
    if (isSecretPath(rel) || resolvesOutsideRepo(ws.root, rel)) continue;
    if (existsSync(abs) && !statSync(abs).isFile()) continue;
    if (!out.includes(rel)) out.push(rel);
  }
  return out;
}

/** Extra read-only context: files of the best index hits for the item, other than its own files. */
async function contextFiles(deps: ImplementDeps, item: PlanItem, own: string[]): Promise<string[]> {
  const limit = deps.config.implement.contextFiles;
  if (!deps.search || limit === 0) return [];
  let hits: ContextHit[];
  try {
    hits = await deps.search(`${item.title}\n${item.action}`, limit * 3);
  } catch (error) {
    deps.reporter.debug(`No index context for ${item.id}: ${(error as Error).message}`);
    return [];
  }
  const files: string[] = [];
  for (const hit of hits) {
    if (files.length >= limit) break;
    if (own.includes(hit.path) || files.includes(hit.path) || isSecretPath(hit.path)) continue;
    if (hit.path === relPosix(deps.ws.root, deps.plan.file)) continue;
    if (!existsSync(path.join(deps.ws.root, hit.path)) || resolvesOutsideRepo(deps.ws.root, hit.path)) continue;
    if (await unfitForContext(deps, hit.path)) continue;
    files.push(hit.path);
  }
  return files;
}

/**
 * Aider sends a read-only file whole, so one holding a credential (by content) is left out, as is
 * one the index would not read (a symlink, binary, generated). Said with --verbose, never the value.
 */
async function unfitForContext(deps: ImplementDeps, rel: string): Promise<boolean> {
  const unfit = await filesHoldingCredentials(deps.ws.root, [rel]);
  const findings = unfit.get(rel);
  if (!findings) return false;
  if (findings.length > 0) {
    const where = findings.map((f) => `line ${f.line} (${f.rule})`).join(', ');
    deps.reporter.debug(`Not giving ${rel} to Aider as context: it holds a credential at ${where}.`);
  }
  return true;
}

/**
 * Files holding a credential (by content) are withheld from Aider as well: its repo map quotes
 * definition lines, and under --yes-always it adds any allowed file the model asks for. The item's
 * own files stay (Aider must edit them), with a warning that they go to the model whole.
 */
async function withoutCredentialFiles(deps: ImplementDeps, allowed: string[], editable: string[]): Promise<string[]> {
  const unfit = await filesHoldingCredentials(deps.ws.root, allowed);
  const where = (rel: string) => unfit.get(rel)!.map((f) => `${rel}:${f.line} (${f.rule})`);
  const editedSecrets = editable.filter((rel) => unfit.get(rel)?.length).flatMap(where);
  if (editedSecrets.length > 0)
    deps.reporter.warn(
      `Files of this item hold credentials and go to the coder model whole: ${editedSecrets.join(', ')}`,
    );
  const withheld = new Set(allowed.filter((rel) => unfit.has(rel) && !editable.includes(rel)));
  const named = [...withheld].filter((rel) => unfit.get(rel)!.length > 0).flatMap(where);
  if (named.length > 0) deps.reporter.debug(`Withheld from Aider (credentials inside): ${named.join(', ')}`);
  return allowed.filter((rel) => !withheld.has(rel));
}

/** Rough upper bound of one Aider attempt, to reserve credits before it starts. */
export function estimateAttemptTokens(ws: Workspace, files: string[], mapTokens: number, messageChars: number) {
  let chars = messageChars + 8000; // Aider's system prompt and edit-format examples
  for (const rel of files) {
    try {
      chars += statSync(path.join(ws.root, rel)).size;
    } catch {
      // a file the attempt will create
    }
  }
  return Math.ceil(chars / 3) + mapTokens;
}

/** Aider's HOME and the per-run key files and allow-lists (removed after each run and by recovery). */
export function aiderStateDir(ws: Workspace): string {
  return path.join(ws.stateDir, 'aider');
}

function attemptPaths(ws: Workspace, workId: string, n: number): { paths: AiderPaths; transcript: string } {
  const base = path.join(ws.logsDir, `${workId.slice(0, 8)}-attempt${n}`);
  return {
    paths: {
      messageFile: `${base}.message.md`,
      envFile: path.join(aiderStateDir(ws), `${workId}.env`),
      home: path.join(aiderStateDir(ws), 'home'),
      chatHistoryFile: `${base}.chat.md`,
      inputHistoryFile: path.join(aiderStateDir(ws), 'input.history'),
      llmHistoryFile: `${base}.llm.log`,
      analyticsLog: `${base}.analytics.jsonl`,
      aiderIgnoreFile: path.join(aiderStateDir(ws), `${workId}.aiderignore`),
    },
    transcript: `${base}.aider.log`,
  };
}

/**
 * Runs one plan item through attempts (Aider → diff → index refresh → checks → review) until it is
 * approved (plan `[x]` + one commit) or rejected `retries + 1` times (tree restored, plan `[!]`).
 * Credits, interruptions and Aider failures stop it with the tree restored and `error` set.
 */
export async function implementItem(
  deps: ImplementDeps,
  item: PlanItem,
  options: { retries: number; command: string },
): Promise<ItemOutcome> {
  const { ws, reporter } = deps;
  const planRel = deps.plan.rel;
  const reviewerLabel = deps.reviewer.label;
  const workId = randomUUID();
  const snapshotDir = path.join(ws.stateDir, 'attempts', workId);
  const outcome: ItemOutcome = {
    outcome: 'error',
    item: { id: item.id, title: item.title },
    attempts: [],
    commit: null,
    creditsMilli: 0n,
    costNano: 0n,
    restored: false,
    patchFile: null,
    error: null,
  };
  const snapshot = await deps.tree.snapshot(snapshotDir);
  const work = deps.runs.startWork({
    command: options.command,
    itemId: item.id,
    itemTitle: item.title,
    snapshotDir,
    id: workId,
  });
  const files = editableFiles(ws, item, planRel);
  const named = item.files.map((f) => f.replace(/^`|`$/g, '').trim()).filter(Boolean);
  const secret = named.filter((f) => isSecretPath(f));
  if (secret.length > 0)
    reporter.warn(`${item.id} names secret files; they are not given to Aider: ${secret.join(', ')}`);
  const linkedOut = named.filter((f) => !secret.includes(f) && resolvesOutsideRepo(ws.root, f));
  if (linkedOut.length > 0)
    reporter.warn(
      `${item.id} names files that lead out of the repository through a symlink; they are not given to Aider: ${linkedOut.join(', ')}`,
    );
  const readFiles = await contextFiles(deps, item, files);
  if (readFiles.length > 0) reporter.debug(`Context files for ${item.id}: ${readFiles.join(', ')}`);
  // Aider may see these and nothing else (--aiderignore): not secrets, links out, the plan or our state.
  const allowed = await withoutCredentialFiles(
    deps,
    await aiderAllowList(ws.root, { editable: files, planRel }),
    files,
  );

  const restore = async (): Promise<void> => {
    const restored = await deps.tree.restore(snapshot, snapshotDir);
    outcome.restored = true;
    if (restored.length > 0)
      reporter.info(`Restored the working tree (${restored.length} file${restored.length === 1 ? '' : 's'} put back).`);
  };
  const stop = async (error: AppError, state: 'restored' | 'failed' = 'restored'): Promise<ItemOutcome> => {
    await restore();
    outcome.outcome =
      error.exitCode === ExitCode.credits || error.exitCode === ExitCode.interrupted ? 'stopped' : 'error';
    outcome.error = error;
    deps.runs.finishWork(work.id, state, `${outcome.outcome}: ${error.code}`);
    rmSync(snapshotDir, { recursive: true, force: true });
    return outcome;
  };

  let previous: PreviousRejection | undefined;
  let lastDiff = '';
  const attemptsTotal = options.retries + 1;
  try {
    for (let n = 1; n <= attemptsTotal; n++) {
      if (deps.signal.aborted) return await stop(interrupted());
      reporter.info(
        `${item.id} attempt ${n}/${attemptsTotal}: Aider (${deps.coder.provider}/${deps.coder.model}) is editing ${files.join(', ') || 'the repository'}…`,
      );
      reporter.event?.({ type: 'attempt_started', item: item.id, attempt: n, attempts: attemptsTotal });
      const planBefore = readFileSync(deps.plan.file, 'utf8');
      const message = buildCoderMessage({
        item,
        planFile: planRel,
        checkCommand: deps.config.verify.command,
        attempt: n,
        ...(previous ? { previous } : {}),
      });
      const tokens = estimateAttemptTokens(ws, [...files, ...readFiles], deps.config.aider.mapTokens, message.length);
      const aiderEstimate = deps.coder.estimate(tokens);
      // The review must be affordable too, or Aider's spend would be wasted: reserve both up front
      // (the diff is at most the item's files before and after, plus the prompt).
      const reviewEstimate = deps.reviewer.estimate(estimateAttemptTokens(ws, [...files, ...files], 0, 6000));
      const estimate = {
        costNano: aiderEstimate.costNano + reviewEstimate.costNano,
        creditsMilli: aiderEstimate.creditsMilli + reviewEstimate.creditsMilli,
      };
      let spend: ExternalSpend;
      try {
        spend = deps.coder.reserveExternal(estimate, {
          what: `attempt ${n} at ${item.id} (Aider and the review)`,
          task: 'coding',
          // Held for as long as Aider may run (its timeout), plus a minute to record the usage.
          ttlMs: deps.config.aider.timeoutSec * 1000 + 60_000,
        });
      } catch (error) {
        if (error instanceof AppError) return await stop(error);
        throw error;
      }

      const { paths, transcript } = attemptPaths(ws, work.id, n);
      // A file the request names is added by Aider whole: not one that holds a credential.
      const named = await mentionedCredentialFiles(ws.root, allowed, message, files);
      if (named.length > 0)
        reporter.debug(
          `Hidden from Aider although the request names them (they hold credentials): ${named.join(', ')}`,
        );
      const invocation = buildAiderInvocation({
        coder: deps.coder,
        config: deps.config,
        files,
        readFiles,
        allowed: allowed.filter((f) => !named.includes(f)),
        paths,
        env: deps.env,
      });
      const aiderStarted = performance.now();
      let run: AiderRunResult;
      try {
        run = await deps.runAider({
          bin: deps.aider.bin,
          cwd: ws.root,
          invocation,
          paths,
          message,
          timeoutMs: deps.config.aider.timeoutSec * 1000,
          transcriptFile: transcript,
          signal: deps.signal,
          onSpawn: (pid) => deps.runs.setAiderPid(work.id, pid),
          onOutputLine: (line) => reporter.debug(`aider: ${line}`),
          maxProviderRetries: deps.config.llm.maxRetries,
          isForbiddenEditTarget: (target) => forbiddenEditReason(ws.root, target) !== undefined,
        });
      } catch (error) {
        spend.release();
        return await stop(new AppError('aider_failed', `Aider could not be started: ${(error as Error).message}`));
      } finally {
        if (deps.timing) deps.timing.aiderMs += performance.now() - aiderStarted;
      }
      deps.runs.setAiderPid(work.id, null);
      reporter.event?.({
        type: 'aider_finished',
        item: item.id,
        attempt: n,
        exitCode: run.exitCode,
        seconds: Math.round(run.durationMs) / 1000,
        calls: run.calls.length,
        editedFiles: run.summary.appliedEdits,
      });

      // Aider's calls are spent whatever happens next: record them (our price when it gives none).
      const { creditsMilli: attemptCredits, costNano: attemptCost } = spend.record(aiderCalls(run));
      const attempt: AttemptResult = {
        n,
        verdict: 'FAILED',
        feedback: '',
        problems: [],
        checks: null,
        creditsMilli: attemptCredits,
        costNano: attemptCost,
        aider: {
          exitCode: run.exitCode,
          seconds: Math.round(run.durationMs) / 1000,
          calls: run.calls.length,
          editedFiles: run.summary.appliedEdits,
          transcript: relPosix(ws.root, transcript),
        },
        changedFiles: [],
      };
      outcome.attempts.push(attempt);
      outcome.creditsMilli += attemptCredits;
      outcome.costNano += attemptCost;
      const record = () =>
        deps.runs.recordAttempt({
          workId: work.id,
          n,
          verdict: attempt.verdict,
          feedback: attempt.feedback,
          checks: attempt.checks,
          creditsMilli: attempt.creditsMilli,
          costNano: attempt.costNano,
          aiderMs: run.durationMs,
          transcript: attempt.aider.transcript,
        });

      if (run.aborted || deps.signal.aborted) {
        attempt.feedback = 'interrupted';
        record();
        return await stop(interrupted());
      }
      // Before any other verdict, the second line of defence behind the allow-list: an attempt that
      // wrote (or tried to edit) a secret file, a path out of the repo or a file behind a link out
      // of it is stopped and undone.
      const forbidden = forbiddenTouches(
        ws.root,
        planRel,
        run.summary.editTargets,
        await deps.tree.changesSince(snapshot, snapshotDir),
      );
      if (forbidden.length > 0) {
        attempt.feedback = `Aider touched files it must not: ${forbidden.join(', ')}`;
        record();
        return await stop(
          new AppError(
            'aider_failed',
            `Aider touched files that are never given to it while working on ${item.id}: ${forbidden.join(', ')}. ` +
              'The attempt was stopped and every path it touched restored.',
            `Reword ${item.id} in ${planRel} so that it does not ask for secret files or files outside the repository. Transcript: ${attempt.aider.transcript}`,
          ),
        );
      }
      const failure =
        providerFailure(run, item, attempt.aider.transcript) ??
        aiderFailure(run, item, deps.config, attempt.aider.transcript);
      if (failure) {
        attempt.feedback = failure.feedback;
        record();
        return await stop(failure.error);
      }

      // The plan file is ours: an edit Aider made to it is undone before anything reads it.
      if (readFileSync(deps.plan.file, 'utf8') !== planBefore) {
        writeFileAtomic(deps.plan.file, planBefore);
        reporter.warn(`Aider edited ${planRel}; that edit was undone (the plan is updated by ai-dev-bot only).`);
      }
      const changes = await deps.tree.changesSince(snapshot, snapshotDir);
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
        reporter.warn(`${item.id} attempt ${n}: Aider changed no files (transcript: ${attempt.aider.transcript}).`);
        record();
        previous = { feedback: attempt.feedback, problems: [] };
        continue;
      }
      const diff = await deps.tree.diff({ changed, created: changes.created.filter((p) => changed.includes(p)) });
      lastDiff = diff;

      if (deps.refreshIndex) {
        const t = performance.now();
        try {
          await deps.refreshIndex();
        } catch (error) {
          reporter.warn(`The index was not refreshed: ${(error as Error).message}`);
        }
        if (deps.timing) deps.timing.indexMs += performance.now() - t;
      }

      let check: CheckResult | null = null;
      if (deps.config.verify.command) {
        reporter.info(`${item.id} attempt ${n}: running \`${deps.config.verify.command}\`…`);
        const t = performance.now();
        check = await deps.runChecks(deps.config.verify.command, {
          cwd: ws.root,
          timeoutMs: deps.config.verify.timeoutSec * 1000,
          signal: deps.signal,
        });
        if (deps.timing) deps.timing.checksMs += performance.now() - t;
        if (deps.signal.aborted) {
          attempt.feedback = 'interrupted';
          record();
          return await stop(interrupted());
        }
      } else if (n === 1) {
        reporter.info('No check command configured (verify.command); the review judges the diff alone.');
      }
      attempt.checks = check;
      if (check)
        reporter.event?.({
          type: 'checks',
          item: item.id,
          attempt: n,
          command: check.command,
          passed: check.passed,
          exitCode: check.exitCode,
          seconds: Math.round(check.durationMs) / 1000,
        });

      let review: Review;
      if (check && !check.passed) {
        review = {
          status: 'REJECTED',
          feedback: `The checks failed: ${describeCheck(check)}. Make them pass.`,
          problems: [],
        };
      } else {
        reporter.info(`${item.id} attempt ${n}: ${reviewerLabel} is reviewing the diff…`);
        const t = performance.now();
        try {
          const before = deps.reviewer.budget.spent();
          review = await requestReview(deps.reviewer, { item, diff, check }, { reporter, signal: deps.signal });
          const { creditsMilli, costNano } = deps.reviewer.budget.since(before);
          attempt.creditsMilli += creditsMilli;
          attempt.costNano += costNano;
          outcome.creditsMilli += creditsMilli;
          outcome.costNano += costNano;
        } catch (error) {
          attempt.feedback = `review failed: ${(error as Error).message}`;
          record();
          if (deps.signal.aborted) return await stop(interrupted());
          if (error instanceof AppError) return await stop(error);
          throw error;
        } finally {
          if (deps.timing) deps.timing.reviewMs += performance.now() - t;
        }
      }
      attempt.verdict = review.status;
      attempt.feedback = review.feedback;
      attempt.problems = review.problems;
      record();
      reporter.event?.({
        type: 'review',
        item: item.id,
        attempt: n,
        verdict: review.status,
        feedback: review.feedback,
      });

      if (review.status === 'APPROVED') {
        updatePlanItemOnDisk(deps.plan, item.id, { status: 'done', feedback: null });
        const message = commitMessage(item, outcome, check, reviewerLabel, n);
        let sha: string;
        try {
          sha = await deps.tree.commit([...changed, planRel], message, path.join(ws.stateDir, `commit-${work.id}.txt`));
        } catch (error) {
          // Approved work is not thrown away: it stays in the tree for the user to commit.
          updatePlanItemOnDisk(deps.plan, item.id, { status: 'open' });
          outcome.outcome = 'error';
          outcome.error = new AppError(
            'internal',
            `${item.id} was approved but the commit failed: ${(error as Error).message.trim()}`,
            'The approved changes are still in the working tree: fix the cause (e.g. a pre-commit hook) and commit them, or run `ai-dev-bot verify` again.',
          );
          deps.runs.finishWork(work.id, 'failed', 'approved; commit failed');
          rmSync(snapshotDir, { recursive: true, force: true });
          return outcome;
        }
        outcome.outcome = 'approved';
        outcome.commit = sha;
        reporter.event?.({ type: 'commit', item: item.id, sha });
        deps.runs.finishWork(work.id, 'approved', 'approved', sha);
        rmSync(snapshotDir, { recursive: true, force: true });
        reporter.info(`${item.id} approved after ${n} attempt${n === 1 ? '' : 's'}; committed ${sha.slice(0, 12)}.`);
        return outcome;
      }
      reporter.warn(`${item.id} attempt ${n} rejected: ${review.feedback}`);
      previous = {
        feedback: review.feedback,
        problems: review.problems,
        ...(check && !check.passed ? { checkOutput: tail(check.outputTail, 2000) } : {}),
      };
    }

    // Every attempt was rejected: keep the last diff, put the tree back, mark the item.
    const last = outcome.attempts[outcome.attempts.length - 1];
    if (lastDiff) {
      mkdirSync(ws.logsDir, { recursive: true });
      const patch = path.join(ws.logsDir, `${work.id.slice(0, 8)}-${item.id}-rejected.patch`);
      writeFileSync(patch, lastDiff);
      outcome.patchFile = relPosix(ws.root, patch);
    }
    await restore();
    const feedback = [last?.feedback || 'rejected', ...(last?.problems ?? []).map((p) => `- ${p}`)].join('\n');
    updatePlanItemOnDisk(deps.plan, item.id, { status: 'rejected', feedback });
    outcome.outcome = 'rejected';
    outcome.error = new AppError(
      'verification_rejected',
      `${item.id} was rejected after ${outcome.attempts.length} attempt${outcome.attempts.length === 1 ? '' : 's'}: ${last?.feedback ?? ''}`,
      `The tree was restored${outcome.patchFile ? ` and the last diff saved to ${outcome.patchFile}` : ''}. Edit the item in ${planRel} or run \`ai-dev-bot implement ${item.id}\` again.`,
    );
    deps.runs.finishWork(work.id, 'rejected', 'rejected');
    rmSync(snapshotDir, { recursive: true, force: true });
    return outcome;
  } catch (error) {
    // Unexpected failure: never leave a half-edited tree behind.
    try {
      await restore();
      deps.runs.finishWork(work.id, 'failed', `error: ${(error as Error).message}`);
    } catch (restoreError) {
      reporter.warn(`Restoring the tree failed too: ${(restoreError as Error).message}. Saved copies: ${snapshotDir}`);
    }
    throw error;
  }
}

/** Aider's LLM calls as reported, for the ledger (task `coding`). */
function aiderCalls(run: AiderRunResult): ExternalCall[] {
  return run.calls.map((call) => ({
    inputTokens: call.promptTokens,
    outputTokens: call.completionTokens,
    // Aider's cost when it knows the model's price; otherwise our table (or the fallback).
    ...(call.costUsd > 0 ? { costUsd: call.costUsd } : {}),
  }));
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

function commitMessage(
  item: PlanItem,
  outcome: ItemOutcome,
  check: CheckResult | null,
  reviewer: string,
  attempts: number,
): string {
  const last = outcome.attempts[outcome.attempts.length - 1];
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
