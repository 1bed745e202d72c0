import type { Command } from 'commander';
import type { CommandRunner } from '../main.js';

export function registerStatus(program: Command, run: CommandRunner): void {
  program
    .command('status')
    .description('plan progress, credits, index freshness and sync state at a glance')
    .addHelpText(
      'after',
      `
Reads only local state: no LLM call, no embedding. "stale" counts files added, changed or removed
since the last \`ai-dev-bot index\`.

Examples:
  $ ai-dev-bot status
  $ ai-dev-bot status --json | jq .credits.balance`,
    )
    .action(async (_opts, cmd: Command) => {
      await run(cmd, async (ctx) => {
        const { runStatus } = await import('./statusRun.js');
        await runStatus(ctx);
      });
    });
}
