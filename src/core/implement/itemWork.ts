import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Config } from '../config.js';
import type { AppError } from '../errors.js';
import type { Meter } from '../ledger/meter.js';
import type { ModelChoice } from '../llm/providers.js';
import type { ContextHit } from '../plan/planContext.js';
import type { PlanItem } from '../plan/planFile.js';
import type { PlanLocation } from '../plan/planStore.js';
import type { Reporter } from '../reporter.js';
import type { Workspace } from '../workspace.js';
import type { AiderExecutable } from './aiderLocator.js';
import type { AiderRunner } from './aiderRunner.js';
import type { CheckResult, CheckRunner } from './checks.js';
import type { TreeSnapshot, WorkTree } from './gitTree.js';
import { chooseItemFiles, type ItemFiles } from './itemFiles.js';
import type { ReviewCall } from './review.js';
import type { RunsStore } from './runsStore.js';

/** Everything the loop touches, passed in so tests and the benchmark can drive it with real parts. */
export interface ImplementDeps {
  ws: Workspace;
  config: Config;
  plan: PlanLocation;
  reporter: Reporter;
  meter: Meter;
  runs: RunsStore;
  aider: AiderExecutable;
  runAider: AiderRunner;
  /** Git status, snapshot/restore, diff and commit of the repository's work tree. */
  tree: WorkTree;
  runChecks: CheckRunner;
  coder: ModelChoice;
  /** One metered reviewer call (task `verification`). */
  review: ReviewCall;
  /** The reviewing architect's model (for estimates and the commit trailer). */
  reviewer: ModelChoice;
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

/** One item's work in progress: what the steps share between attempts. */
export interface ItemWork {
  item: PlanItem;
  /** The `runs` row's id; also names the attempt logs and per-run files. */
  id: string;
  root: string;
  planRel: string;
  snapshot: TreeSnapshot;
  snapshotDir: string;
  files: ItemFiles;
  attemptsTotal: number;
  outcome: ItemOutcome;
  /** The attempt under way once Aider ran, and whether runs.db has it yet. */
  current: { attempt: AttemptResult; aiderMs: number; recorded: boolean } | null;
  /** The last diff an attempt produced (saved as a patch if the item ends rejected). */
  lastDiff: string;
}

/** Thrown by a step to end the item: the tree is restored, the attempt recorded with `feedback`. */
export class ItemStopped extends Error {
  constructor(
    readonly error: AppError,
    readonly feedback?: string,
  ) {
    super(error.message);
  }
}

/** Snapshots the tree, opens the `runs` row (for crash recovery) and chooses the item's files. */
export async function startItemWork(
  deps: Pick<ImplementDeps, 'ws' | 'config' | 'plan' | 'reporter' | 'search' | 'tree' | 'runs'>,
  item: PlanItem,
  options: { retries: number; command: string },
): Promise<ItemWork> {
  const id = randomUUID();
  const snapshotDir = path.join(deps.ws.stateDir, 'attempts', id);
  const snapshot = await deps.tree.snapshot(snapshotDir);
  deps.runs.startWork({ command: options.command, itemId: item.id, itemTitle: item.title, snapshotDir, id });
  return {
    item,
    id,
    root: deps.ws.root,
    planRel: deps.plan.rel,
    snapshot,
    snapshotDir,
    files: await chooseItemFiles(deps, item),
    attemptsTotal: options.retries + 1,
    outcome: {
      outcome: 'error',
      item: { id: item.id, title: item.title },
      attempts: [],
      commit: null,
      creditsMilli: 0n,
      costNano: 0n,
      restored: false,
      patchFile: null,
      error: null,
    },
    current: null,
    lastDiff: '',
  };
}

/** Adds what a call cost to the attempt and the item. */
export function charge(work: ItemWork, spent: { creditsMilli: bigint; costNano: bigint }): void {
  const attempt = work.current?.attempt;
  if (attempt) {
    attempt.creditsMilli += spent.creditsMilli;
    attempt.costNano += spent.costNano;
  }
  work.outcome.creditsMilli += spent.creditsMilli;
  work.outcome.costNano += spent.costNano;
}

/** Writes the attempt under way to runs.db (once). */
export function recordAttempt(runs: RunsStore, work: ItemWork): void {
  const current = work.current;
  if (!current || current.recorded) return;
  const { attempt } = current;
  runs.recordAttempt({
    workId: work.id,
    n: attempt.n,
    verdict: attempt.verdict,
    feedback: attempt.feedback,
    checks: attempt.checks,
    creditsMilli: attempt.creditsMilli,
    costNano: attempt.costNano,
    aiderMs: current.aiderMs,
    transcript: attempt.aider.transcript,
  });
  current.recorded = true;
}
