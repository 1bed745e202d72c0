import { askRepository, sourceLabel } from '../../core/ask.js';
import { usageError } from '../../core/errors.js';
import { commandModelLoader } from '../modelLoader.js';
import { IndexSearcher } from '../../core/index/search.js';
import { openUserLedger } from '../../core/ledger/open.js';
import { formatCredits, formatUsd, milliToCredits } from '../../core/ledger/money.js';
import { usageSummary } from '../../core/llm/budget.js';
import { roleModel } from '../../core/llm/providers.js';
import type { CommandContext } from '../context.js';
import { assertInputLength } from '../../core/inputLimits.js';
import { commandMeter, parseMaxCost } from './ledgerSupport.js';

export interface AskFlags {
  provider?: string;
  model?: string;
  maxCost?: string;
  k?: string;
}

function parseK(value: string): number {
  const k = Number(value);
  if (!Number.isInteger(k) || k < 1 || k > 50) throw usageError(`-k must be an integer from 1 to 50, got "${value}".`);
  return k;
}

export async function runAsk(ctx: CommandContext, words: string[], opts: AskFlags): Promise<void> {
  const question = words.join(' ').trim();
  if (!question) throw usageError('The question is empty.', 'Example: ai-dev-bot ask "where is the config loaded?"');
  assertInputLength('question', question);
  const maxCost = parseMaxCost(opts.maxCost);
  const ws = ctx.workspace();
  const config = ctx.config();
  const k = opts.k === undefined ? config.search.k : parseK(opts.k);
  // A missing key fails here, before the model and index are loaded.
  const architect = roleModel(config, 'architect', opts, { reporter: ctx.out });
  const { choice } = architect;
  const ledger = await openUserLedger(config);
  const model = commandModelLoader(ctx.out, config);
  let searcher: IndexSearcher | undefined;
  try {
    searcher = IndexSearcher.open(ws, model, ctx.out, { needVectors: true });
    const llm = architect.metered(commandMeter(ctx, ws, config, ledger, maxCost));
    const result = await askRepository({ question, k, searcher, model: llm, reporter: ctx.out });
    const spent = llm.budget.spent();
    const balance = ledger.balanceMilli();
    ctx.out.result(
      {
        answer: result.answer,
        sources: result.sources,
        usage: usageSummary(spent),
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
          `${llm.label}: ${spent.inputTokens} in + ${spent.outputTokens} out tokens, ` +
            `${formatCredits(spent.creditsMilli)} credits (${formatUsd(spent.costNano)}). Balance: ${formatCredits(balance)} credits.`,
        ].join('\n'),
    );
  } finally {
    searcher?.close();
    await model.close();
    ledger.close();
  }
}
