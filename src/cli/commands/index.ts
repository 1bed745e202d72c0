import type { Command } from 'commander';
import type { CommandRunner } from '../context.js';

export function registerIndex(program: Command, run: CommandRunner): void {
  program
    .command('index')
    .description('embed the working tree into the local semantic index (incremental)')
    .option('--full', 'rebuild from scratch, re-embedding every chunk')
    .option('--events', 'NDJSON on stdout: index_progress events (each phase, then about once a second), then result')
    .addHelpText(
      'after',
      `
Indexes tracked and untracked (not ignored) text files. Skipped: secrets (.env*, *.pem, id_*, credential
stores), lockfiles, vendored and generated files, binaries, symlinks, unreadable files, files over
index.maxFileBytes (--verbose lists each skipped file and why). Credentials inside files are masked
before indexing (--verbose says where, never the value). Only new or changed files are embedded; chunks seen before come from the
embedding cache. Killing a run loses nothing: the previous index stays usable.

Examples:
  $ ai-dev-bot index
  $ ai-dev-bot index --full --json`,
    )
    .action(async (opts: { full?: boolean }, cmd: Command) => {
      await run(cmd, async (ctx) => {
        // Loaded on use, so other commands do not pay for onnxruntime, hnswlib and SQLite at start-up.
        const { runIndex } = await import('./indexRun.js');
        await runIndex(ctx, opts);
      });
    });
}
