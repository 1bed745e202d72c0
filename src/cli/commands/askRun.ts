import { askRepository, sourceLabel } from '../../core/ask.js';
import { usageError } from '../../core/errors.js';
import { commandModelLoader } from '../modelLoader.js';
import { IndexSearcher } from '../../core/index/search.js';
import { openUserLedger } from '../../core/ledger/open.js';
import { formatCredits, formatUsd, milliToCredits, nanoToUsd } from '../../core/ledger/money.js';
import { chooseModel, createProvider } from '../../core/llm/providers.js';
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
  const choice = chooseModel(config, 'architect', {
    ...(opts.provider ? { provider: opts.provider } : {}),
    ...(opts.model ? { model: opts.model } : {}),
  });
  // A missing key fails here, before the model and index are loaded.
  const provider = createProvider(choice, config, process.env, { reporter: ctx.out });
  const ledger = await openUserLedger(config);
  const model = commandModelLoader(ctx.out, config);
  let searcher: IndexSearcher | undefined;
  try {
    searcher = IndexSearcher.open(ws, model, ctx.out, { needVectors: true });
    const meter = commandMeter(ctx, ws, config, ledger, maxCost);
    const result = await askRepository({
      question,
      k,
      searcher,
      provider,
      meter,
      maxOutputTokens: choice.maxOutputTokens,
      reporter: ctx.out,
    });
    const { response } = result;
    const balance = ledger.balanceMilli();
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
    searcher?.close();
    await model.close();
    ledger.close();
  }
}
