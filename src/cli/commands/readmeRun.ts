import { AppError } from '../../core/errors.js';
import { formatCredits, formatUsd } from '../../core/ledger/money.js';
import { usageSummary } from '../../core/llm/budget.js';
import { planLocation } from '../../core/plan/planStore.js';
import { README_FILE, writeReadme } from '../../core/readme/writeReadme.js';
import type { CommandContext } from '../context.js';

export interface ReadmeFlags {
  force?: boolean;
  dryRun?: boolean;
  provider?: string;
  model?: string;
  maxCost?: bigint;
}

export async function runReadme(ctx: CommandContext, opts: ReadmeFlags): Promise<void> {
  const rt = ctx.runtime({ models: { architect: opts }, maxCostNano: opts.maxCost });
  const { ws, config } = rt;
  try {
    // A missing key fails here, before anything is read or sent.
    const architect = await rt.model('architect');
    const index = await rt.indexHooks();
    const result = await writeReadme(
      {
        ws,
        plan: planLocation(ws, config),
        architect,
        ...(index.search ? { search: index.search } : {}),
        reporter: ctx.out,
      },
      { force: Boolean(opts.force), dryRun: Boolean(opts.dryRun) },
    );
    const spent = architect.budget.spent();
    const { creditsMilli, costNano } = spent;
    const usage = { calls: spent.calls, ...usageSummary(spent) };
    const review = result.review
      ? { verdict: result.review.status, feedback: result.review.feedback, problems: result.review.problems }
      : null;
    const cost = `${formatCredits(creditsMilli)} credits (${formatUsd(costNano)})`;
    ctx.out.result(
      {
        outcome: result.outcome,
        file: README_FILE,
        commit: result.commit,
        backup: result.backup,
        leftOut: result.leftOut,
        review,
        readme: result.text,
        usage,
      },
      () => {
        if (result.outcome === 'dry-run') return result.text;
        if (result.outcome === 'rejected')
          return `The review rejected the new ${README_FILE}; nothing was written. ${cost}.`;
        return [
          `Wrote and committed ${README_FILE} (${result.commit?.slice(0, 12)})${result.backup ? `; the old one is saved at ${result.backup}` : ''}.`,
          ...(result.leftOut.length ? [`Left out (not supported by the code): ${result.leftOut.join(', ')}.`] : []),
          `${usage.calls} calls, ${cost}.`,
        ].join('\n');
      },
    );
    if (result.outcome === 'rejected') {
      const error = new AppError(
        'verification_rejected',
        `The review rejected the new ${README_FILE}: ${result.review?.feedback ?? ''}`,
        'Nothing was written. Run it again, or see the draft with --dry-run.',
      );
      if (!ctx.out.machine) process.stderr.write(`error: ${error.message}\nhint: ${error.hint}\n`);
      process.exitCode = error.exitCode;
    }
  } finally {
    await rt.close();
  }
}
