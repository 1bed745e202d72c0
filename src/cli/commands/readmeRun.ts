import { AppError } from '../../core/errors.js';
import type { MeteredResponse } from '../../core/ledger/meter.js';
import { formatCredits, formatUsd, milliToCredits, nanoToUsd } from '../../core/ledger/money.js';
import type { LlmRequest } from '../../core/llm/types.js';
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
  const responses: MeteredResponse[] = [];
  try {
    // A missing key fails here, before anything is read or sent.
    const { choice, provider, meter } = await rt.model('architect');
    const index = await rt.indexHooks();
    const call = async (request: LlmRequest) => {
      const response = await meter.call(provider, request, { task: 'readme' });
      responses.push(response);
      return response;
    };
    const result = await writeReadme(
      {
        ws,
        plan: planLocation(ws, config),
        write: call,
        review: call,
        ...(index.search ? { search: index.search } : {}),
        maxOutputTokens: choice.maxOutputTokens,
        reporter: ctx.out,
      },
      { force: Boolean(opts.force), dryRun: Boolean(opts.dryRun) },
    );
    const creditsMilli = responses.reduce((n, r) => n + r.creditsMilli, 0n);
    const costNano = responses.reduce((n, r) => n + r.costNano, 0n);
    const usage = {
      calls: responses.length,
      inputTokens: responses.reduce((n, r) => n + r.inputTokens, 0),
      outputTokens: responses.reduce((n, r) => n + r.outputTokens, 0),
      credits: milliToCredits(creditsMilli),
      usd: nanoToUsd(costNano),
    };
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
