import { Option, type Command } from 'commander';
import type { CommandRunner } from '../context.js';
import { usdFlag } from '../flagParsers.js';
import type { VerifyFlags } from './verifyRun.js';

export function registerVerify(program: Command, run: CommandRunner): void {
  program
    .command('verify')
    .description("run the checks and the architect's review on the current uncommitted diff (metered)")
    .argument('[id]', 'the plan item to judge the diff against (default: the next open item)')
    .addOption(
      new Option('--max-cost <usd>', 'refuse the review call if it could cost more than this (USD)').argParser(
        usdFlag('--max-cost'),
      ),
    )
    .option('--provider <id>', "reviewer's provider (default: config llm.architect.provider)")
    .option('--model <name>', "reviewer's model (default: config llm.architect.model)")
    .addHelpText(
      'after',
      `
Reviews whatever is uncommitted in the working tree (also changes a human made) against the item's
verification criteria: config verify.command runs first, then the architect answers APPROVED or
REJECTED with feedback. Nothing is committed and the plan file is not changed.

Exit codes: 0 approved, 4 rejected, 5 nothing to verify (no changes), 2 no plan / unknown item,
3 out of credits, 7 reviewer failed.

JSON (--json): outcome (approved|rejected|nothing-to-do), item {id, title}, verdict, feedback,
problems[], checks, changedFiles[], credits, usd.

Examples:
  $ ai-dev-bot verify
  $ ai-dev-bot verify P1.2 --json`,
    )
    .action(async (id: string | undefined, opts: VerifyFlags, cmd: Command) => {
      await run(cmd, async (ctx) => {
        const { runVerify } = await import('./verifyRun.js');
        await runVerify(ctx, id, opts);
      });
    });
}
