import type { Command } from 'commander';
import type { CommandRunner } from '../context.js';
import { withArchitectModelFlags } from '../modelFlags.js';
import type { PlanFlags } from './planRun.js';

export function registerPlan(program: Command, run: CommandRunner): void {
  const plan = withArchitectModelFlags(
    program
      .command('plan')
      .description('have the architect model write a TODO plan for a goal (metered), or show the plan')
      .argument('<goal...>', 'what to build or change, in plain words')
      .option('--replace', 'replace an existing plan (the old one is archived under .ai-dev-bot/plans/)'),
  )
    .addHelpText(
      'after',
      `
Sends the goal with a trimmed file tree, the README and package manifests, the index's best
hits for the goal (run \`ai-dev-bot index\` first for them) and a symbol outline to the architect
model, which answers with small, ordered items (files, action, verification). The plan is written
to TODO.md (config plan.file). A TODO.md the tool did not write is never overwritten (exit 2).
Charged to the credit ledger as task "planning"; exit 3 before anything is sent if credits or
--max-cost cannot cover a call; exit 7 if the model's plan is invalid twice (nothing is written).

Examples:
  $ ai-dev-bot plan "add retry with backoff to the HTTP client"
  $ ai-dev-bot plan "migrate the config loader to zod" --replace --max-cost 0.50
  $ ai-dev-bot plan show
  $ ai-dev-bot plan show --json | jq '.items[] | select(.status == "open") | .id'`,
    )
    .action(async (words: string[], opts: PlanFlags, cmd: Command) => {
      await run(cmd, async (ctx) => {
        // Loaded on use: the ledger, HTTP clients and model loader would slow other commands' start-up.
        const { runPlan } = await import('./planRun.js');
        await runPlan(ctx, words, opts);
      });
    });

  plan
    .command('show')
    .description('list the plan items with their status and progress')
    .addHelpText(
      'after',
      `
Marks: [ ] open, [x] approved, [!] rejected (with the reviewer's feedback). Lines of the plan file
that cannot be read as items are reported as warnings with their line numbers.

JSON (--json): file, goal, date, model, items[] {id, title, status (open|done|rejected), files,
verification, action, feedback, line}, progress {total, done, rejected, open}, next, warnings[] {line, message}.`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      await run(cmd, async (ctx) => {
        const { runPlanShow } = await import('./planRun.js');
        await runPlanShow(ctx);
      });
    });
}
