import type { Command } from 'commander';
import type { CommandRunner } from '../context.js';
import { withArchitectModelFlags } from '../modelFlags.js';
import type { ReadmeFlags } from './readmeRun.js';

export function registerReadme(program: Command, run: CommandRunner): void {
  withArchitectModelFlags(
    program
      .command('readme')
      .description(
        "have the architect write the project's README.md from the plan and the code, reviewed and committed (metered)",
      )
      .option('--force', 'write it even though the plan is not complete (or there is no plan)')
      .option('--dry-run', 'print the new README; nothing is reviewed, written or committed'),
  )
    .addHelpText(
      'after',
      `
Once every plan item is done, the architect writes README.md from the plan, the manifests, the file
tree, a symbol outline and the index's best excerpts: what it is, prerequisites, install,
configuration, how to run, features, usage examples. Sections the code cannot support are left out,
not invented. The README is then reviewed like a plan item; APPROVED → the old README is backed up
under .ai-dev-bot/readme/ and the new one committed alone. Charged as task "readme".

Exit codes: 0 committed (or printed with --dry-run), 2 plan not complete (use --force) or README.md
has uncommitted changes, 3 out of credits or --max-cost, 4 review rejected (nothing written),
7 provider failed.

JSON (--json): outcome (approved|rejected|dry-run), file, commit, backup, leftOut[], review {verdict,
feedback, problems} | null, readme (the text), usage {calls, inputTokens, outputTokens, credits, usd}.

Examples:
  $ ai-dev-bot readme --dry-run
  $ ai-dev-bot readme --max-cost 0.20
  $ ai-dev-bot readme --force --json | jq .outcome`,
    )
    .action(async (opts: ReadmeFlags, cmd: Command) => {
      await run(cmd, async (ctx) => {
        const { runReadme } = await import('./readmeRun.js');
        await runReadme(ctx, opts);
      });
    });
}
