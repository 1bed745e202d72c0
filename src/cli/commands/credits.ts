import { Option, type Command } from 'commander';
import type { CommandRunner } from '../context.js';
import { integerFlag } from '../flagParsers.js';

// Implementations load on use: the ledger (SQLite, kysely) would slow every command's start-up.
const impl = () => import('./creditsRun.js');

export function registerCredits(program: Command, run: CommandRunner): void {
  const credits = program
    .command('credits')
    .description('the local credit ledger: balance, recent transactions, spend by task and model')
    .addHelpText(
      'after',
      `
1 credit = ledger.creditValueUsd ($0.01 by default) of provider cost × ledger.markup (1.5).
The ledger is per user: $AI_DEV_BOT_HOME/ledger.db (default $XDG_DATA_HOME/ai-dev-bot/ledger.db).

Examples:
  $ ai-dev-bot credits
  $ ai-dev-bot credits history --limit 50
  $ ai-dev-bot credits grant 100 --reason "monthly top-up"
  $ ai-dev-bot credits --json | jq .balance
  $ AI_DEV_BOT_SYNC_TOKEN=… ai-dev-bot credits sync      share the ledger with a team server (sync.url)`,
    );

  credits
    .command('balance', { isDefault: true })
    .description('balance, recent transactions and a spend summary (the default)')
    .action(async (_opts, cmd: Command) => {
      await run(cmd, async (ctx) => (await impl()).showBalance(ctx));
    });

  credits
    .command('history')
    .description('transactions, newest first')
    .addOption(new Option('--limit <n>', 'how many (default 20)').argParser(integerFlag('--limit', 1, 100_000)))
    .action(async (opts: { limit?: number }, cmd: Command) => {
      await run(cmd, async (ctx) => (await impl()).showHistory(ctx, opts.limit));
    });

  credits
    .command('grant')
    .description('add credits to the local ledger (recorded as a "grant" transaction)')
    .argument('<credits>', 'how many credits, e.g. 100 or 2.5')
    .option('--reason <text>', 'description stored with the transaction')
    .action(async (amount: string, opts: { reason?: string }, cmd: Command) => {
      await run(cmd, async (ctx) => (await impl()).grantCredits(ctx, amount, opts.reason));
    });

  credits
    .command('sync')
    .description('push unsynced usage to the team server (sync.url) and pull grants and team spend')
    .action(async (_opts, cmd: Command) => {
      await run(cmd, async (ctx) => (await impl()).syncCredits(ctx));
    });
}
