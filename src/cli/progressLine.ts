import type { IndexProgress } from '../core/index/indexer.js';

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
