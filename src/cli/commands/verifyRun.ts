import { ExitCode, usageError } from '../../core/errors.js';
import { runChecks } from '../../core/implement/checks.js';
import { gitWorkTree } from '../../core/implement/gitTree.js';
import { aiderStateDir } from '../../core/implement/aiderAttempt.js';
import { verifyWorkingTree } from '../../core/implement/verifyDiff.js';
import { recoverInterruptedWork } from '../../core/implement/recovery.js';
import { RunsStore } from '../../core/implement/runsStore.js';
import { openUserLedger } from '../../core/ledger/open.js';
import { formatCredits, formatUsd, milliToCredits, nanoToUsd } from '../../core/ledger/money.js';
import { chooseModel, createProvider } from '../../core/llm/providers.js';
import { findItem, nextOpenItem } from '../../core/plan/planFile.js';
import { loadPlan, planLocation } from '../../core/plan/planStore.js';
import type { CommandContext } from '../context.js';
import { checksJson, meteredReviewCall } from './implementSupport.js';
import { commandMeter, parseMaxCost } from './ledgerSupport.js';

export interface VerifyFlags {
  maxCost?: string;
  provider?: string;
  model?: string;
}

export async function runVerify(ctx: CommandContext, id: string | undefined, opts: VerifyFlags): Promise<void> {
  const ws = ctx.workspace();
  const config = ctx.config();
  const maxCost = parseMaxCost(opts.maxCost);
  const location = planLocation(ws, config);
  const { plan } = loadPlan(location);
  const item = id ? findItem(plan, id) : (nextOpenItem(plan) ?? nextOpenItem(plan, { includeRejected: true }));
  if (!item) {
    if (id) throw usageError(`No item ${id} in ${location.rel}.`, 'Run `ai-dev-bot plan show` to list the item IDs.');
    throw usageError(`No open item in ${location.rel} to verify against.`, 'Name one: ai-dev-bot verify <ID>.');
  }
  // A crashed implement's leftovers are not a human's change: undo them first.
  const runs = RunsStore.open(ws.runsDb);
  try {
    await recoverInterruptedWork(gitWorkTree(ws.root), runs, ctx.out, aiderStateDir(ws));
  } finally {
    runs.close();
  }
  const choice = chooseModel(config, 'architect', {
    ...(opts.provider ? { provider: opts.provider } : {}),
    ...(opts.model ? { model: opts.model } : {}),
  });
  const provider = createProvider(choice, config, process.env, { reporter: ctx.out });
  const ledger = await openUserLedger(config);
  try {
    const meter = commandMeter(ctx, ws, config, ledger, maxCost);
    const before = meter.budget.spentNano;
    const beforeCredits = meter.budget.creditsMilli;
    const result = await verifyWorkingTree({
      tree: gitWorkTree(ws.root),
      runChecks,
      planRel: location.rel,
      item,
      checkCommand: config.verify.command,
      checkTimeoutMs: config.verify.timeoutSec * 1000,
      review: meteredReviewCall(meter, provider),
      reviewMaxOutputTokens: choice.maxOutputTokens,
      reporter: ctx.out,
    });
    const costNano = meter.budget.spentNano - before;
    const creditsMilli = meter.budget.creditsMilli - beforeCredits;
    const itemJson = { id: item.id, title: item.title };
    if (!result.review) {
      ctx.out.result(
        {
          outcome: 'nothing-to-do',
          item: itemJson,
          verdict: null,
          feedback: null,
          problems: [],
          checks: null,
          changedFiles: [],
          credits: 0,
          usd: 0,
        },
        'Nothing to verify: the working tree has no uncommitted changes (the plan file aside).',
      );
      process.exitCode = ExitCode.nothingToDo;
      return;
    }
    const approved = result.review.status === 'APPROVED';
    ctx.out.result(
      {
        outcome: approved ? 'approved' : 'rejected',
        item: itemJson,
        verdict: result.review.status,
        feedback: result.review.feedback,
        problems: result.review.problems,
        checks: checksJson(result.checks),
        changedFiles: result.changedFiles,
        credits: milliToCredits(creditsMilli),
        usd: nanoToUsd(costNano),
      },
      () =>
        [
          `${result.review!.status} for ${item.id} ${item.title} (${result.changedFiles.length} changed file${result.changedFiles.length === 1 ? '' : 's'})`,
          result.review!.feedback,
          ...result.review!.problems.map((p) => `  - ${p}`),
          `Cost: ${formatCredits(creditsMilli)} credits (${formatUsd(costNano)}).`,
        ].join('\n'),
    );
    process.exitCode = approved ? ExitCode.ok : ExitCode.rejected;
  } finally {
    ledger.close();
  }
}
