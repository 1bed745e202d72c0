import { AppError, usageError } from '../errors.js';
import type { Meter } from '../ledger/meter.js';
import type { LlmProvider } from '../llm/types.js';
import { findItem, nextOpenItem, type PlanItem } from '../plan/planFile.js';
import { loadPlan, lockPlanFile, planLocation, type PlanLocation } from '../plan/planStore.js';
import { AIDER_REPO_FILES, assertTrustedDestination } from '../repoTrust.js';
import type { Runtime } from '../runtime.js';
import { assertCoderReachable } from './aiderInvocation.js';
import {
  AIDER_PINNED_VERSION,
  aiderVersionCacheFile,
  locateAider,
  projectAiderFallbacks,
  type AiderExecutable,
} from './aiderLocator.js';
import { runAiderProcess, type AiderRunner } from './aiderRunner.js';
import { runChecks } from './checks.js';
import { excludeFromGit, gitWorkTree, type WorkTree } from './gitTree.js';
import { aiderStateDir } from './aiderAttempt.js';
import { implementItem, type AttemptTiming, type ImplementDeps, type ItemOutcome } from './implementItem.js';
import { assertTreeReady } from './preconditions.js';
import { recoverInterruptedWork, type RecoveredWork } from './recovery.js';
import type { ReviewCall } from './review.js';
import { RunsStore } from './runsStore.js';

export type ImplementMode = 'next' | 'all' | 'id';

export interface ImplementPlanOptions {
  /** `next`, `all`, or an item ID such as P1.2. */
  target: string;
  /** Attempts after a rejection (default: config implement.retries). */
  retries?: number | undefined;
  /** Accept uncommitted changes in files the item does not touch. */
  allowDirty?: boolean | undefined;
  /** With `all`: go on to the next item after a rejection. */
  keepGoing?: boolean | undefined;
  /** Asked once, after every check and before anything runs or is charged; false cancels (exit 130). */
  confirm(question: string): Promise<boolean>;
  /** Aborted on Ctrl-C / SIGTERM: Aider is stopped and the tree restored. */
  signal: AbortSignal;
  /** Each item's outcome as soon as it is known. */
  onItemDone?: (outcome: ItemOutcome) => void;
  /** The benchmark's probes: a timed Aider runner and work tree, attempt timings. */
  probes?: { runAider?: AiderRunner; tree?: (tree: WorkTree) => WorkTree; timing?: AttemptTiming };
}

export interface ImplementPlanResult {
  mode: ImplementMode;
  plan: PlanLocation;
  /** Work a killed earlier run left behind, undone first. */
  recovered: RecoveredWork[];
  /** One per item worked on; empty when there was nothing to do. */
  outcomes: ItemOutcome[];
  /** The outcome that decides the exit code: the first stop or error, else the first rejection, else the last. */
  decisive: ItemOutcome | undefined;
  creditsMilli: bigint;
  costNano: bigint;
  /** The ledger balance after the run (milli-credits); 0 when nothing ran. */
  balanceMilli: bigint;
}

/**
 * `implement next|<ID>|all`: undo what a killed run left, pick the items, check the tree, Aider
 * and the keys, confirm, then implement item after item (each: Aider, checks, review, commit or
 * restore) until one is not approved (or, with `keepGoing`, not rejected) or none is left.
 */
export async function implementPlan(rt: Runtime, options: ImplementPlanOptions): Promise<ImplementPlanResult> {
  const { ws, config } = rt;
  const mode: ImplementMode = options.target === 'next' ? 'next' : options.target === 'all' ? 'all' : 'id';
  const plan = planLocation(ws, config);
  // Held for the whole run: `plan` must not write the plan file while items are worked on.
  const unlockPlan = await lockPlanFile(ws, plan, 'implement');
  const runs = RunsStore.open(ws.runsDb);
  const tree = options.probes?.tree?.(gitWorkTree(ws.root)) ?? gitWorkTree(ws.root);
  try {
    const recovered = await recoverInterruptedWork(tree, runs, rt.reporter, aiderStateDir(ws));
    const pickNext = (): PlanItem | undefined => pickItem(plan, mode, options.target);
    const first = pickNext();
    const result = { mode, plan, recovered, outcomes: [], decisive: undefined, creditsMilli: 0n, costNano: 0n };
    if (!first) return { ...result, balanceMilli: 0n };
    // Aider's repo-map cache lands in the work tree: hide it from git before judging the tree.
    excludeFromGit(ws.gitDir, '/.aider.tags.cache.v*/');
    await assertTreeReady(ws, tree, plan.rel, first, Boolean(options.allowDirty));

    const aider = await locateProjectAider(rt);
    const coder = await rt.choice('coder');
    // A missing key for Aider's model fails here (exit 2), before anything runs.
    assertCoderReachable(coder, config, rt.env);
    const reviewer = await rt.client('architect');
    const retries = options.retries ?? config.implement.retries;
    const what =
      mode === 'all' ? `all open items, starting with ${first.id} "${first.title}"` : `${first.id} "${first.title}"`;
    const question = `Implement ${what} with Aider (${coder.provider}/${coder.model}), up to ${retries + 1} attempts each?`;
    if (!(await options.confirm(question))) throw new AppError('interrupted', 'Cancelled; nothing was changed.');

    const meter = await rt.meter();
    const index = await rt.indexHooks();
    const deps: ImplementDeps = {
      ws,
      config,
      plan,
      reporter: rt.reporter,
      meter,
      runs,
      aider,
      runAider: options.probes?.runAider ?? runAiderProcess,
      tree,
      runChecks,
      coder,
      review: meteredReviewCall(meter, reviewer.provider, options.signal),
      reviewer: reviewer.choice,
      ...(index.search ? { search: index.search } : {}),
      ...(index.refresh ? { refreshIndex: index.refresh } : {}),
      signal: options.signal,
      env: rt.env,
      ...(options.probes?.timing ? { timing: options.probes.timing } : {}),
    };
    const outcomes: ItemOutcome[] = [];
    for (let item: PlanItem | undefined = first; item; item = pickNext()) {
      if (outcomes.length > 0) await assertTreeReady(ws, tree, plan.rel, item, Boolean(options.allowDirty));
      const outcome = await implementItem(deps, item, { retries, command: `implement ${options.target}` });
      outcomes.push(outcome);
      options.onItemDone?.(outcome);
      const goOn = outcome.outcome === 'approved' || (outcome.outcome === 'rejected' && options.keepGoing);
      if (mode !== 'all' || !goOn) break;
    }
    return { ...result, ...totals(outcomes), outcomes, balanceMilli: meter.ledger.balanceMilli() };
  } finally {
    runs.close();
    unlockPlan();
  }
}

/** The next item to work on: the next open one, or the named one unless it is done. */
function pickItem(plan: PlanLocation, mode: ImplementMode, target: string): PlanItem | undefined {
  const { plan: parsed } = loadPlan(plan);
  if (mode !== 'id') return nextOpenItem(parsed);
  const item = findItem(parsed, target);
  if (!item) throw usageError(`No item ${target} in ${plan.rel}.`, 'Run `ai-dev-bot plan show` to list the item IDs.');
  return item.status === 'done' ? undefined : item;
}

function totals(outcomes: ItemOutcome[]): Pick<ImplementPlanResult, 'decisive' | 'creditsMilli' | 'costNano'> {
  const failed = outcomes.find((o) => o.outcome === 'stopped' || o.outcome === 'error');
  const rejected = outcomes.find((o) => o.outcome === 'rejected');
  return {
    decisive: failed ?? rejected ?? outcomes[outcomes.length - 1],
    creditsMilli: outcomes.reduce((n, o) => n + o.creditsMilli, 0n),
    costNano: outcomes.reduce((n, o) => n + o.costNano, 0n),
  };
}

/** Aider from config, PATH or this project's .venv; a repo file may not choose it untrusted (it gets every key). */
async function locateProjectAider(rt: Runtime): Promise<AiderExecutable> {
  for (const setting of ['aider.bin', ...AIDER_REPO_FILES] as const)
    assertTrustedDestination(rt.config.repoTrust, setting);
  const aider = await locateAider({
    ...(rt.config.aider.bin ? { configured: rt.config.aider.bin } : {}),
    fallbacks: projectAiderFallbacks(),
    versionCacheFile: aiderVersionCacheFile(),
  });
  rt.reporter.debug(`Aider ${aider.version} at ${aider.bin} (${aider.source})`);
  if (!aider.version.startsWith(AIDER_PINNED_VERSION.split('.').slice(0, 2).join('.') + '.'))
    rt.reporter.warn(
      `Aider ${aider.version} is untested with ai-dev-bot (tested with ${AIDER_PINNED_VERSION}); going on.`,
    );
  return aider;
}

/** A metered reviewer call (task "verification"); the reply carries what it was charged. */
export function meteredReviewCall(meter: Meter, provider: LlmProvider, signal?: AbortSignal): ReviewCall {
  return async (request) => {
    const response = await meter.call(provider, request, { task: 'verification', ...(signal ? { signal } : {}) });
    return {
      text: response.text,
      model: response.model,
      inputTokens: response.inputTokens,
      outputTokens: response.outputTokens,
      creditsMilli: response.creditsMilli,
      costNano: response.costNano,
    };
  };
}
