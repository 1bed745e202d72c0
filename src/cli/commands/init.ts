import type { Command } from 'commander';
import type { CommandRunner } from '../context.js';

export function registerInit(program: Command, run: CommandRunner): void {
  program
    .command('init')
    .description('create the .ai-dev-bot/ state dir and hide it via .git/info/exclude')
    .addHelpText(
      'after',
      '\nNothing else is written into your tree. Other commands run init on first use, so this is optional.',
    )
    .action(async (_opts, cmd: Command) => {
      await run(cmd, async (ctx) => {
        // Loaded on use: config validation (zod) would slow every command's start-up and --help.
        const { ensureStateDir, openWorkspace } = await import('../../core/workspace.js');
        const { loadConfig } = await import('../../core/config.js');
        const ws = openWorkspace(ctx.cwd);
        const { created, excludeAdded } = ensureStateDir(ws);
        // Validate config now so a bad file is reported at init, not halfway through later work.
        loadConfig({ repoRoot: ws.root });
        ctx.out.result({ root: ws.root, stateDir: ws.stateDir, created, excludeAdded }, () =>
          created
            ? `Initialised ${ws.stateDir}${excludeAdded ? ' (added to .git/info/exclude)' : ''}.`
            : `Already initialised: ${ws.stateDir}.`,
        );
      });
    });
}
