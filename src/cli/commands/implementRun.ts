import { AIDER_REPO_FILES, assertTrustedDestination } from '../../core/repoTrust.js';
import { AppError, ExitCode, usageError } from '../../core/errors.js';
import { buildAiderInvocation } from '../../core/implement/aiderInvocation.js';
import { AIDER_PINNED_VERSION, locateAider } from '../../core/implement/aiderLocator.js';
import { runAiderProcess } from '../../core/implement/aiderRunner.js';
import { runChecks } from '../../core/implement/checks.js';
import { excludeFromGit, gitWorkTree } from '../../core/implement/gitTree.js';
import { aiderStateDir } from '../../core/implement/aiderAttempt.js';
import { implementItem, type ImplementDeps, type ItemOutcome } from '../../core/implement/implementItem.js';
import { assertTreeReady } from '../../core/implement/preconditions.js';
import { recoverInterruptedWork, type RecoveredWork } from '../../core/implement/recovery.js';
import { RunsStore } from '../../core/implement/runsStore.js';
import { openUserLedger } from '../../core/ledger/open.js';
import { formatCredits, formatUsd, milliToCredits } from '../../core/ledger/money.js';
import { chooseModel, createProvider } from '../../core/llm/providers.js';
import { findItem, nextOpenItem, type PlanItem } from '../../core/plan/planFile.js';
import { loadPlan, lockPlanFile, planLocation } from '../../core/plan/planStore.js';
import type { CommandContext } from '../context.js';
import { askYesNo } from '../prompt.js';
import {
  aiderVersionCacheFile,
  indexHooks,
  meteredReviewCall,
  outcomeJson,
  projectAiderFallbacks,
} from './implementSupport.js';
import { commandMeter, parseMaxCost } from './ledgerSupport.js';

export interface ImplementFlags {
  retries?: string;
  maxCost?: string;
  allowDirty?: boolean;
  keepGoing?: boolean;
  provider?: string;
  model?: string;
}

function parseRetries(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 10)
    throw usageError(`--retries must be an integer from 0 to 10, got "${value}".`);
  return n;
}

/** Ctrl-C / SIGTERM abort the work (Aider is killed, the tree restored) instead of killing us mid-way. */
function interruptSignal(ctx: CommandContext): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (!controller.signal.aborted) ctx.out.warn(`${name}: stopping Aider and restoring the working tree…`);
    controller.abort();
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}

function exitCodeOf(o: ItemOutcome): number {
  if (o.error) return o.error.exitCode;
  return o.outcome === 'approved' ? ExitCode.ok : ExitCode.internal;
}

function outcomeLine(o: ItemOutcome): string {
  const cost = `${formatCredits(o.creditsMilli)} credits (${formatUsd(o.costNano)})`;
  switch (o.outcome) {
    case 'approved':
      return `[x] ${o.item.id} ${o.item.title}: approved after ${o.attempts.length} attempt${o.attempts.length === 1 ? '' : 's'}, committed ${o.commit?.slice(0, 12)}; ${cost}.`;
    case 'rejected':
      return `[!] ${o.item.id} ${o.item.title}: rejected after ${o.attempts.length} attempt${o.attempts.length === 1 ? '' : 's'}; tree restored${o.patchFile ? `, diff saved to ${o.patchFile}` : ''}; ${cost}.`;
    default:
      return `[ ] ${o.item.id} ${o.item.title}: ${o.outcome} (${o.error?.message ?? 'error'}); ${cost}.`;
  }
}

export async function runImplement(ctx: CommandContext, target: string, opts: ImplementFlags): Promise<void> {
  const ws = ctx.workspace();
  const config = ctx.config();
  const retries = opts.retries === undefined ? config.implement.retries : parseRetries(opts.retries);
  const maxCost = parseMaxCost(opts.maxCost);
  const location = planLocation(ws, config);
  const mode: 'next' | 'all' | 'id' = target === 'next' ? 'next' : target === 'all' ? 'all' : 'id';

  // Held for the whole run: `plan` must not write the plan file while items are worked on.
  const unlockPlan = await lockPlanFile(ws, location, 'implement');
  const runs = RunsStore.open(ws.runsDb);
  const tree = gitWorkTree(ws.root);
  const interrupt = interruptSignal(ctx);
  let recovered: RecoveredWork[] = [];
  try {
    recovered = await recoverInterruptedWork(tree, runs, ctx.out, aiderStateDir(ws));
    const recoveredJson = recovered.map((r) => ({
      item: r.itemId,
      startedAt: r.startedAt,
      restoredFiles: r.restoredFiles,
    }));

    const pickNext = (): PlanItem | undefined => {
      const { plan } = loadPlan(location);
      if (mode !== 'id') return nextOpenItem(plan);
      const item = findItem(plan, target);
      if (!item)
        throw usageError(`No item ${target} in ${location.rel}.`, 'Run `ai-dev-bot plan show` to list the item IDs.');
      return item.status === 'done' ? undefined : item;
    };
    const first = pickNext();
    if (!first) {
      ctx.out.result(
        {
          outcome: 'nothing-to-do',
          item: null,
          attempts: [],
          commit: null,
          credits: 0,
          usd: 0,
          recovered: recoveredJson,
        },
        mode === 'id'
          ? `${target} is already done.`
          : `Nothing to do: every item in ${location.rel} is done or rejected.`,
      );
      process.exitCode = ExitCode.nothingToDo;
      return;
    }
    // Aider's repo-map cache lands in the work tree: hide it from git before judging the tree.
    excludeFromGit(ws.gitDir, '/.aider.tags.cache.v*/');
    await assertTreeReady(ws, tree, location.rel, first, Boolean(opts.allowDirty));

    // The Aider executable runs with every key in the environment: a repo file may not pick it untrusted.
    for (const setting of ['aider.bin', ...AIDER_REPO_FILES] as const)
      assertTrustedDestination(config.repoTrust, setting);
    const aider = await locateAider({
      ...(config.aider.bin ? { configured: config.aider.bin } : {}),
      fallbacks: projectAiderFallbacks(),
      versionCacheFile: aiderVersionCacheFile(),
    });
    ctx.out.debug(`Aider ${aider.version} at ${aider.bin} (${aider.source})`);
    if (!aider.version.startsWith(AIDER_PINNED_VERSION.split('.').slice(0, 2).join('.') + '.'))
      ctx.out.warn(
        `Aider ${aider.version} is untested with ai-dev-bot (tested with ${AIDER_PINNED_VERSION}); going on.`,
      );
    const coder = chooseModel(config, 'coder', {
      ...(opts.provider ? { provider: opts.provider } : {}),
      ...(opts.model ? { model: opts.model } : {}),
    });
    const dummyPaths = {
      messageFile: '',
      envFile: '',
      home: '',
      chatHistoryFile: '',
      inputHistoryFile: '',
      llmHistoryFile: '',
      analyticsLog: '',
      aiderIgnoreFile: '',
    };
    // A missing key for Aider's model fails here (exit 2), before anything runs.
    buildAiderInvocation({ coder, config, files: [], readFiles: [], allowed: [], paths: dummyPaths, env: process.env });
    const reviewerChoice = chooseModel(config, 'architect');
    const reviewer = createProvider(reviewerChoice, config, process.env, { reporter: ctx.out });

    const what =
      mode === 'all' ? `all open items, starting with ${first.id} "${first.title}"` : `${first.id} "${first.title}"`;
    const go = await askYesNo(ctx.out, Boolean(ctx.options.yes), {
      text: `Implement ${what} with Aider (${coder.provider}/${coder.model}), up to ${retries + 1} attempts each?`,
      flag: '--yes',
      // Running `implement` is the request itself: in CI it goes ahead.
      whenUnattended: 'proceed',
    });
    if (!go) throw new AppError('interrupted', 'Cancelled; nothing was changed.');

    const ledger = await openUserLedger(config);
    const index = await indexHooks(ctx, ws, config);
    const outcomes: ItemOutcome[] = [];
    let balanceMilli = 0n;
    try {
      const meter = commandMeter(ctx, ws, config, ledger, maxCost);
      const deps: ImplementDeps = {
        ws,
        config,
        plan: location,
        reporter: ctx.out,
        meter,
        runs,
        aider,
        runAider: runAiderProcess,
        tree,
        runChecks,
        coder,
        review: meteredReviewCall(meter, reviewer, interrupt.signal),
        reviewer: reviewerChoice,
        ...(index.search ? { search: index.search } : {}),
        ...(index.refresh ? { refreshIndex: index.refresh } : {}),
        signal: interrupt.signal,
        env: process.env,
      };
      let item: PlanItem | undefined = first;
      while (item) {
        if (outcomes.length > 0) await assertTreeReady(ws, tree, location.rel, item, Boolean(opts.allowDirty));
        const o = await implementItem(deps, item, { retries, command: `implement ${target}` });
        outcomes.push(o);
        if (mode === 'all') ctx.out.info(outcomeLine(o));
        if (mode !== 'all') break;
        if (o.outcome === 'rejected' && opts.keepGoing) {
          item = pickNext();
          continue;
        }
        if (o.outcome !== 'approved') break;
        item = pickNext();
      }
      balanceMilli = ledger.balanceMilli();
    } finally {
      await index.close();
      ledger.close();
    }

    const last = outcomes[outcomes.length - 1]!;
    const failed = outcomes.find((o) => o.outcome === 'stopped' || o.outcome === 'error');
    const rejected = outcomes.find((o) => o.outcome === 'rejected');
    const decisive = failed ?? rejected ?? last;
    const balance = milliToCredits(balanceMilli);
    const creditsMilli = outcomes.reduce((n, o) => n + o.creditsMilli, 0n);
    const costNano = outcomes.reduce((n, o) => n + o.costNano, 0n);
    const json = {
      ...outcomeJson(decisive),
      credits: milliToCredits(creditsMilli),
      usd: Number(costNano) / 1e9,
      balance,
      // No check command configured: the result says so (checks are null in every attempt).
      checkCommand: config.verify.command ?? null,
      recovered: recoveredJson,
      ...(mode === 'all' ? { items: outcomes.map(outcomeJson) } : {}),
    };
    ctx.out.result(json, () =>
      [
        ...outcomes.map(outcomeLine),
        ...(config.verify.command
          ? []
          : ['No check command is configured (verify.command): only the review judged the diff.']),
        `Total: ${formatCredits(creditsMilli)} credits (${formatUsd(costNano)}). Balance: ${balance} credits.`,
      ].join('\n'),
    );
    if (decisive.error && !ctx.out.json) {
      process.stderr.write(`error: ${decisive.error.message}\n`);
      if (decisive.error.hint) process.stderr.write(`hint: ${decisive.error.hint}\n`);
    }
    process.exitCode = exitCodeOf(decisive);
  } finally {
    interrupt.dispose();
    runs.close();
    unlockPlan();
  }
}
