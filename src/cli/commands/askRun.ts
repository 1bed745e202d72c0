import { askRepository, sourceLabel } from '../../core/ask.js';
import { usageError } from '../../core/errors.js';
import { formatCredits, formatUsd, milliToCredits } from '../../core/ledger/money.js';
import { usageSummary } from '../../core/llm/budget.js';
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
    const model = await rt.model('architect');
    const searcher = await rt.searcher({ needVectors: true });
    const k = opts.k ?? rt.config.search.k;
    const result = await askRepository({ question, k, searcher, model, reporter: ctx.out });
    const spent = model.budget.spent();
    const balance = (await rt.ledger()).balanceMilli();
    ctx.out.result(
      {
        answer: result.answer,
        sources: result.sources,
        usage: usageSummary(spent),
        provider: model.provider,
        model: model.model,
        balance: milliToCredits(balance),
      },
      () =>
        [
          result.answer,
          '',
          'Sources:',
          ...result.sources.map((s) => `  ${s.cited ? '*' : ' '} ${sourceLabel(s)}`),
          '',
          `${model.label}: ${spent.inputTokens} in + ${spent.outputTokens} out tokens, ` +
            `${formatCredits(spent.creditsMilli)} credits (${formatUsd(spent.costNano)}). Balance: ${formatCredits(balance)} credits.`,
        ].join('\n'),
    );
  } finally {
    await rt.close();
  }
}
