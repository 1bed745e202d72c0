import type { Command } from 'commander';
import type { CommandRunner } from '../context.js';

// Implementations load on use: the ledger (SQLite, kysely) would slow every command's start-up.
const impl = () => import('./pricingRun.js');

export function registerPricing(program: Command, run: CommandRunner): void {
  const pricing = program
    .command('pricing')
    .description('the model price table used to charge LLM calls (USD per million tokens)')
    .addHelpText(
      'after',
      `
Calls to a model without a price are charged ledger.fallbackPrice and warned about.
OpenRouter calls are charged the cost OpenRouter reports, when it reports one.

Examples:
  $ ai-dev-bot pricing
  $ ai-dev-bot pricing set gemini gemini-2.5-flash --input 0.30 --output 2.50
  $ ai-dev-bot pricing set openai llama3.1:8b --input 0 --output 0      (a local server: free)`,
    );

  pricing
    .command('list', { isDefault: true })
    .description('prices in force (the default)')
    .action(async (_opts, cmd: Command) => {
      await run(cmd, async (ctx) => (await impl()).listPrices(ctx));
    });

  pricing
    .command('set')
    .description('set the price of a model (USD per million tokens); the old price is kept as history')
    .argument('<provider>', 'gemini, openrouter or openai')
    .argument('<model>', 'model id as passed to --model, e.g. anthropic/claude-sonnet-4.5')
    .requiredOption('--input <usd>', 'USD per million input tokens')
    .requiredOption('--output <usd>', 'USD per million output tokens')
    .action(async (provider: string, model: string, opts: { input: string; output: string }, cmd: Command) => {
      await run(cmd, async (ctx) => (await impl()).setPrice(ctx, provider, model, opts));
    });
}
