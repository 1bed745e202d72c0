import type { Command } from 'commander';
import type { CommandRunner } from '../context.js';

export function registerStatus(program: Command, run: CommandRunner): void {
  program
    .command('status')
    .description('plan progress, last attempt, credits and spend, index freshness and sync state at a glance')
    .option('-w, --watch', 'a live view on the terminal, refreshed when the plan, runs or ledger change (q quits)')
    .addHelpText(
      'after',
      `
Reads only local state: no LLM call, no embedding. Shows the last implement attempt (outcome,
feedback excerpt, when), spend for this plan (since its date, this repository) and today by task
and model. "stale" counts files added, changed or removed since the last \`ai-dev-bot index\`.

JSON (--json): plan {file, goal, date, total, done, rejected, next} | null, lastAttempt {item, title,
outcome, verdict, attempts, feedback, at, commit} | null, credits {balance, spentToday}, spend {today[],
plan {since, total, rows[]} | null} (rows: task, provider, model, calls, credits, usd), index {files,
chunks, stale, indexedAt} | null, sync {lastSyncAt, unsynced}.

Examples:
  $ ai-dev-bot status
  $ ai-dev-bot status --watch
  $ ai-dev-bot status --json | jq .credits.balance`,
    )
    .action(async (opts: { watch?: boolean }, cmd: Command) => {
      await run(cmd, async (ctx) => {
        const { runStatus } = await import('./statusRun.js');
        await runStatus(ctx, opts);
      });
    });
}
