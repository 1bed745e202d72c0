import type { Command } from 'commander';
import type { CommandRunner } from '../context.js';
import type { TrustFlags } from './trustRun.js';

export function registerTrust(program: Command, run: CommandRunner): void {
  program
    .command('trust')
    .description("trust this repository's ai-dev-bot.config.json to choose where your API keys are sent")
    .option('--revoke', 'withdraw trust from this repository')
    .option('--list', 'list the trusted repositories')
    .addHelpText(
      'after',
      `
A committed ai-dev-bot.config.json that sets a base URL (llm.gemini/openrouter/openai.baseUrl,
other than the provider's own) or aider.bin, and Aider's own .aider.conf.yml or
.aider.model.settings.yml in the repo, are refused (exit 2) where your keys would be sent, until you
trust the repository. Trust covers the files' current content: after any edit, review and trust again.
The list lives in $XDG_CONFIG_HOME/ai-dev-bot/trusted-repos.json.

Examples:
  $ ai-dev-bot trust
  $ ai-dev-bot trust --list --json
  $ ai-dev-bot trust --revoke`,
    )
    .action(async (opts: TrustFlags, cmd: Command) => {
      await run(cmd, async (ctx) => (await import('./trustRun.js')).runTrust(ctx, opts));
    });
}
