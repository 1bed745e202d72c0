import type { Command } from 'commander';
import { refreshIndex, type IndexProgress } from '../../core/index/indexer.js';
import { createModelLoader } from '../../core/index/model/loader.js';
import type { CommandRunner } from '../main.js';
import { plainIndexProgress } from '../progressLine.js';

export function registerIndex(program: Command, run: CommandRunner): void {
  program
    .command('index')
    .description('embed the working tree into the local semantic index (incremental)')
    .option('--full', 'rebuild from scratch, re-embedding every chunk')
    .addHelpText(
      'after',
      `
Indexes tracked and untracked (not ignored) text files. Skipped: secrets (.env*, *.pem, id_*, credential
stores), lockfiles, vendored and generated files, binaries, files over index.maxFileBytes.
Only new or changed files are embedded; chunks seen before come from the embedding cache.

Examples:
  $ ai-dev-bot index
  $ ai-dev-bot index --full --json`,
    )
    .action(async (opts: { full?: boolean }, cmd: Command) => {
      await run(cmd, async (ctx) => {
        const ws = ctx.workspace();
        const config = ctx.config();
        const model = createModelLoader({ precision: config.embedding.precision, threads: config.embedding.threads });
        let onProgress: ((p: IndexProgress) => void) | undefined;
        let stopView: (() => void) | undefined;
        if (ctx.out.interactive) {
          const { startIndexProgressView } = await import('../views/IndexProgressView.js');
          const view = startIndexProgressView();
          onProgress = view.update;
          stopView = view.stop;
        } else if (!ctx.out.quiet) {
          onProgress = plainIndexProgress((line) => ctx.out.info(line));
        }
        let summary;
        try {
          summary = await refreshIndex(ws, config, { model, reporter: ctx.out, onProgress }, { full: opts.full });
        } finally {
          stopView?.();
          await model.close();
        }
        const skipped = Object.entries(summary.skipped).map(([reason, n]) => `${n} ${reason}`);
        if (skipped.length > 0) ctx.out.debug(`skipped files: ${skipped.join(', ')}`);
        ctx.out.result(summary, () => {
          const rate = summary.seconds > 0 && summary.chunksEmbedded > 0 ? ` (${(summary.chunksEmbedded / summary.seconds).toFixed(0)} chunks/s)` : '';
          return (
            `Indexed ${summary.filesScanned} files: ${summary.filesChanged} changed, ${summary.filesRemoved} removed; ` +
            `${summary.chunksEmbedded} chunks embedded${rate}, ${summary.chunksReused} reused, ${summary.chunksTotal} in the index ` +
            `(${summary.seconds.toFixed(2)} s).`
          );
        });
      });
    });
}
