import { askRepository, sourceLabel } from '../../core/ask.js';
import { usageError } from '../../core/errors.js';
import { formatCredits, formatUsd, milliToCredits, nanoToUsd } from '../../core/ledger/money.js';
import type { CommandContext } from '../context.js';
import { assertInputLength } from '../../core/inputLimits.js';

export interface AskFlags {
  provider?: string;
  model?: string;
  maxCost?: bigint;
  k?: number;
}

export async function runAsk(ctx: CommandContext, words: string[], opts: AskFlags): Promise<void> {
  const question = words.join(' ').trim();
  if (!question) throw usageError('The question is empty.', 'Example: ai-dev-bot ask "where is the config loaded?"');
  assertInputLength('question', question);
  const rt = ctx.runtime({ models: { architect: opts }, maxCostNano: opts.maxCost });
  try {
    // A missing key fails here, before the model and index are loaded.
    const { choice, provider, meter } = await rt.model('architect');
    const searcher = await rt.searcher({ needVectors: true });
    const result = await askRepository({
      question,
      k: opts.k ?? rt.config.search.k,
      searcher,
      provider,
      meter,
      maxOutputTokens: choice.maxOutputTokens,
      reporter: ctx.out,
    });
    const { response } = result;
    const balance = meter.ledger.balanceMilli();
    ctx.out.result(
      {
        answer: result.answer,
        sources: result.sources,
        usage: {
          inputTokens: response.inputTokens,
          outputTokens: response.outputTokens,
          credits: milliToCredits(response.creditsMilli),
          usd: nanoToUsd(response.costNano),
        },
        provider: choice.provider,
        model: choice.model,
        balance: milliToCredits(balance),
      },
      () =>
        [
          result.answer,
          '',
          'Sources:',
          ...result.sources.map((s) => `  ${s.cited ? '*' : ' '} ${sourceLabel(s)}`),
          '',
          `${choice.provider}/${choice.model}: ${response.inputTokens} in + ${response.outputTokens} out tokens, ` +
            `${formatCredits(response.creditsMilli)} credits (${formatUsd(response.costNano)}). Balance: ${formatCredits(balance)} credits.`,
        ].join('\n'),
    );
  } finally {
    await rt.close();
  }
}
