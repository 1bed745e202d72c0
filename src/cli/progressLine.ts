import type { IndexProgress } from '../core/index/indexer.js';
import type { RunEvent } from '../core/reporter.js';

/** Progress for `index --events`: every phase change, and within a phase at most every `everyMs`. */
export function indexProgressEvents(
  emit: (event: RunEvent) => void,
  everyMs = 1000,
): (progress: IndexProgress) => void {
  let last = 0;
  let lastPhase = '';
  return (p) => {
    const now = Date.now();
    if (p.phase === lastPhase && now - last < everyMs) return;
    last = now;
    lastPhase = p.phase;
    emit({
      type: 'index_progress',
      phase: p.phase,
      filesDone: p.filesDone,
      filesTotal: p.filesTotal,
      chunksDone: p.chunksDone,
      chunksTotal: p.chunksTotal,
    });
  };
}

/** Progress for logs and CI: a plain stderr line at most every few seconds. */
export function plainIndexProgress(write: (line: string) => void, everyMs = 3000): (progress: IndexProgress) => void {
  let last = 0;
  let lastPhase = '';
  return (progress) => {
    const now = Date.now();
    if (progress.phase === lastPhase && now - last < everyMs) return;
    last = now;
    lastPhase = progress.phase;
    if (progress.phase === 'embed') {
      const eta = progress.etaSeconds === undefined ? '' : `, ETA ${Math.ceil(progress.etaSeconds)}s`;
      write(
        `embedding ${progress.chunksDone}/${progress.chunksTotal} chunks (${progress.chunksPerSecond.toFixed(0)} chunks/s${eta})`,
      );
    } else if (progress.phase === 'chunk') {
      write(`chunking ${progress.filesDone}/${progress.filesTotal} files`);
    } else if (progress.phase === 'scan') {
      write('scanning files');
    } else {
      write('writing index');
    }
  };
}
