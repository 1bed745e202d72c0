import { ExitCode } from '../../core/errors.js';
import { verifyPlanItem } from '../../core/implement/verifyItem.js';
import { formatCredits, formatUsd, milliToCredits, nanoToUsd } from '../../core/ledger/money.js';
import type { CommandContext } from '../context.js';
import { checksJson } from './implementSupport.js';

export interface VerifyFlags {
  maxCost?: bigint;
  provider?: string;
  model?: string;
}

export async function runVerify(ctx: CommandContext, id: string | undefined, opts: VerifyFlags): Promise<void> {
  const rt = ctx.runtime({ models: { architect: opts }, maxCostNano: opts.maxCost });
  try {
    const result = await verifyPlanItem(rt, id);
    const { item, creditsMilli, costNano } = result;
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
    await rt.close();
  }
}
