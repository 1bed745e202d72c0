import { refreshIndex, type IndexProgress, type IndexSummary } from '../../core/index/indexer.js';
import type { CommandContext } from '../context.js';
import { indexProgressEvents, plainIndexProgress } from '../progressLine.js';

export async function runIndex(ctx: CommandContext, opts: { full?: boolean }): Promise<void> {
  const rt = ctx.runtime();
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
    const model = await rt.embeddingModel();
    summary = await refreshIndex(rt.ws, rt.config, { model, reporter: ctx.out, onProgress }, { full: opts.full });
  } finally {
    stopView?.();
    await rt.close();
  }
  for (const line of describeSkipped(summary)) ctx.out.debug(line);
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

/** Paths listed per reason in --verbose; beyond this a reason shows "… N more". */
const SKIPPED_PATHS_SHOWN = 50;

/** --verbose lines: which files were skipped and why, and where credentials were masked. */
function describeSkipped(summary: IndexSummary): string[] {
  const lines: string[] = [];
  const counts = Object.entries(summary.skipped).map(([reason, n]) => `${n} ${reason}`);
  if (counts.length > 0) lines.push(`skipped files: ${counts.join(', ')}`);
  const byReason = new Map<string, string[]>();
  for (const { path, reason } of summary.skippedFiles) byReason.set(reason, [...(byReason.get(reason) ?? []), path]);
  for (const [reason, paths] of byReason) {
    const shown = paths.slice(0, SKIPPED_PATHS_SHOWN).map((p) => `  skipped (${reason}): ${p}`);
    lines.push(...shown);
    if (paths.length > shown.length) lines.push(`  skipped (${reason}): … ${paths.length - shown.length} more`);
  }
  for (const r of summary.redactions) lines.push(`redacted a secret: ${r.path}:${r.line} (${r.rule})`);
  return lines;
}
