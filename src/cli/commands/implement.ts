import { Option, type Command } from 'commander';
import type { CommandRunner } from '../context.js';
import { integerFlag, usdFlag } from '../flagParsers.js';
import type { ImplementFlags } from './implementRun.js';

export function registerImplement(program: Command, run: CommandRunner): void {
  program
    .command('implement')
    .description('have Aider implement plan items, verify them (checks + architect review) and commit (metered)')
    .argument('[target]', 'next (default), an item ID such as P1.2, or all', 'next')
    .addOption(
      new Option(
        '--retries <n>',
        "attempts after a rejection, with the reviewer's feedback (default: config implement.retries = 2)",
      ).argParser(integerFlag('--retries', 0, 10)),
    )
    .addOption(
      new Option(
        '--max-cost <usd>',
        'stop before a call or Aider attempt could take the command over this cost (USD)',
      ).argParser(usdFlag('--max-cost')),
    )
    .option(
      '--events',
      'NDJSON on stdout: one event per step (attempt_started, aider_finished, checks, review, commit, charge), then result',
    )
    .option('--allow-dirty', 'accept uncommitted changes in files the item does not touch (they stay out of commits)')
    .option('--keep-going', 'with `all`: go on to the next item after a rejection')
    .option('--provider <id>', "Aider's provider: gemini, openrouter or openai (default: config llm.coder.provider)")
    .option('--model <name>', "Aider's model (default: config llm.coder.model)")
    .addHelpText(
      'after',
      `
One attempt: Aider edits the item's files (plus read-only context from the index), then the
repository's checks run (config verify.command) and the architect reviews the diff against the
item's verification criteria. APPROVED → the item is marked [x] in the plan and ONE commit holds
the code and the plan ("ai-dev-bot: P1.2 <title>"). REJECTED → Aider retries with the feedback;
after the last rejection the tree is restored exactly (the diff is kept under .ai-dev-bot/logs/)
and the item is marked [!] with the feedback. Aider's calls are charged as task "coding", the
review as "verification". Ctrl-C stops Aider and restores the tree; a run killed with kill -9 is
undone by the next run.

Exit codes: 0 approved (all: every item), 2 dirty tree / no plan / bad flag, 3 out of credits or
--max-cost (tree restored), 4 rejected after retries, 5 nothing open, 6 Aider missing, failed or
timed out (tree restored), 7 reviewer failed, 130 interrupted (tree restored).

JSON (--json): outcome (approved|rejected|stopped|nothing-to-do|error), item {id, title},
attempts[] {n, verdict, feedback, problems, checks, credits, usd, aider, changedFiles}, commit,
credits, usd, restored, patch, recovered[]; with "all" also items[] (one such object per item).

Examples:
  $ ai-dev-bot implement                     # the next open item
  $ ai-dev-bot implement P1.2 --retries 1
  $ ai-dev-bot implement all --max-cost 2 --yes
  $ ai-dev-bot implement next --json | jq .outcome`,
    )
    .action(async (target: string, opts: ImplementFlags, cmd: Command) => {
      await run(cmd, async (ctx) => {
        const { runImplement } = await import('./implementRun.js');
        await runImplement(ctx, target, opts);
      });
    });
}
