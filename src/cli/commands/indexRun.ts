import { refreshIndex, type IndexProgress } from '../../core/index/indexer.js';
import { createModelLoader } from '../../core/index/model/loader.js';
import type { CommandContext } from '../context.js';
import { indexProgressEvents, plainIndexProgress } from '../progressLine.js';

export async function runIndex(ctx: CommandContext, opts: { full?: boolean }): Promise<void> {
  const ws = ctx.workspace();
  const config = ctx.config();
  const model = createModelLoader(config.embedding);
  let onProgress: ((p: IndexProgress) => void) | undefined;
  let stopView: (() => void) | undefined;
  if (ctx.out.events) {
    onProgress = indexProgressEvents((event) => ctx.out.event(event));
  } else if (ctx.out.interactive) {
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
    const rate =
      summary.seconds > 0 && summary.chunksEmbedded > 0
        ? ` (${(summary.chunksEmbedded / summary.seconds).toFixed(0)} chunks/s)`
        : '';
    return (
      `Indexed ${summary.filesScanned} files: ${summary.filesChanged} changed, ${summary.filesRemoved} removed; ` +
      `${summary.chunksEmbedded} chunks embedded${rate}, ${summary.chunksReused} reused, ${summary.chunksTotal} in the index ` +
      `(${summary.seconds.toFixed(2)} s).`
    );
  });
}
