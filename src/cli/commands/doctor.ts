import type { Command } from 'commander';
import type { CommandRunner } from '../context.js';
import type { DoctorFlags } from './doctorRun.js';

export function registerDoctor(program: Command, run: CommandRunner): void {
  program
    .command('doctor')
    .description('check the environment: node, native modules, model, Aider, keys, ledger, index, git')
    .option('--online', 'also send one cheap, unbilled request to each configured provider')
    .option('--fetch-model', 'fetch the embedding model now when it is missing (for CI caches and Dockerfiles)')
    .addHelpText(
      'after',
      `
Each line is ok, warning or error, with the fix. Exit 0 when nothing is an error, 2 otherwise.
Key values are never printed, only whether they are set.

Examples:
  $ ai-dev-bot doctor
  $ ai-dev-bot doctor --online --json
  $ ai-dev-bot doctor --fetch-model        # e.g. RUN ai-dev-bot doctor --fetch-model in a Dockerfile`,
    )
    .action(async (opts: DoctorFlags, cmd: Command) => {
      await run(cmd, async (ctx) => {
        const { runDoctorCommand } = await import('./doctorRun.js');
        await runDoctorCommand(ctx, opts);
      });
    });
}
