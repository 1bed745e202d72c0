import type { Config } from '../core/config.js';
import { stderrProgress, type ProgressFactory } from '../core/index/model/fetchModel.js';
import { createModelLoader } from '../core/index/model/loader.js';
import type { EmbeddingModelLoader } from '../core/index/model/types.js';
import type { Output } from './output.js';

const noProgress: ProgressFactory = () => ({ update() {}, done() {} });

/**
 * The embedding model for a command, fetched on first need: its steps as info lines, a bar on a
 * TTY or a plain line every few seconds otherwise, all on stderr (stdout stays the result's).
 */
export function commandModelLoader(out: Output, config: Config): EmbeddingModelLoader {
  return createModelLoader({
    precision: config.embedding.precision,
    ...(config.embedding.threads !== undefined ? { threads: config.embedding.threads } : {}),
    disabledOptimizers: config.embedding.disabledOptimizers,
    inferenceWorker: config.embedding.inferenceWorker,
    autoFetch: config.embedding.autoFetch,
    log: (line) => out.info(`fetch-model: ${line}`),
    progress: out.quiet ? noProgress : stderrProgress(),
  });
}
