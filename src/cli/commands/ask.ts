import { Option, type Command } from 'commander';
import type { CommandRunner } from '../context.js';
import { withArchitectModelFlags } from '../modelFlags.js';
import { integerFlag } from '../flagParsers.js';
import type { AskFlags } from './askRun.js';

export function registerAsk(program: Command, run: CommandRunner): void {
  withArchitectModelFlags(
    program
      .command('ask')
      .description('answer a question about the repository from the index and an LLM, citing sources (metered)')
      .argument('<question...>', 'the question, in plain words'),
    'refuse the call if it could cost more than this (USD of provider cost)',
  )
    .addOption(
      new Option('-k <n>', 'number of index excerpts to send (1-50, default: config search.k = 8)').argParser(
        integerFlag('-k', 1, 50),
      ),
    )
    .addHelpText(
      'after',
      `
Sends the question and the top excerpts of the index (never secret files: the index skips them)
to the architect model; the answer cites excerpts as path:start-end. Charged to the credit ledger
as task "ask"; refused with exit 3, before anything is sent, if credits or --max-cost cannot cover it.

Examples:
  $ ai-dev-bot ask "where is the retry delay computed?"
  $ ai-dev-bot ask "how are passwords hashed" --provider openrouter --model anthropic/claude-sonnet-4.5
  $ ai-dev-bot ask "what does the migrate command do" --max-cost 0.02 --json`,
    )
    .action(async (words: string[], opts: AskFlags, cmd: Command) => {
      await run(cmd, async (ctx) => {
        // Loaded on use: the ledger and HTTP clients would slow every other command's start-up.
        const { runAsk } = await import('./askRun.js');
        await runAsk(ctx, words, opts);
      });
    });
}
