import { usageError } from '../../core/errors.js';
import { assertInputLength } from '../../core/inputLimits.js';
import type { PriceRow } from '../../core/ledger/ledger.js';
import { openUserLedger } from '../../core/ledger/open.js';
import { parseProviderId } from '../../core/llm/providers.js';
import type { CommandContext } from '../context.js';
import { parsePricePerMtok } from '../../core/ledger/bounds.js';
import { configAnywhere } from './ledgerSupport.js';

function priceLine(p: PriceRow): string {
  return `${p.provider.padEnd(11)} ${p.model.padEnd(34)} $${String(p.inputUsdPerMtok).padStart(7)} in  $${String(p.outputUsdPerMtok).padStart(7)} out  (${p.source})`;
}

export async function listPrices(ctx: CommandContext): Promise<void> {
  const { config } = configAnywhere(ctx);
  const ledger = await openUserLedger(config);
  try {
    const prices = ledger.listPrices();
    ctx.out.result({ prices, fallback: config.ledger.fallbackPrice }, () =>
      [
        ...prices.map(priceLine),
        `Unknown models: $${config.ledger.fallbackPrice.input} in / $${config.ledger.fallbackPrice.output} out per Mtok (ledger.fallbackPrice).`,
      ].join('\n'),
    );
  } finally {
    ledger.close();
  }
}

export async function setPrice(
  ctx: CommandContext,
  providerArg: string,
  model: string,
  opts: { input: string; output: string },
): Promise<void> {
  const provider = parseProviderId(providerArg);
  if (!model.trim()) throw usageError('The model name is empty.');
  assertInputLength('model', model.trim());
  const price = {
    inputNanoPerMtok: parsePricePerMtok(opts.input, '--input'),
    outputNanoPerMtok: parsePricePerMtok(opts.output, '--output'),
  };
  const { config } = configAnywhere(ctx);
  const ledger = await openUserLedger(config);
  try {
    const row = ledger.setPrice(provider, model.trim(), price);
    ctx.out.result({ price: row }, `Set ${priceLine(row)}`);
  } finally {
    ledger.close();
  }
}
