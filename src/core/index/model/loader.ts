import os from 'node:os';
import type { EmbeddingModelLoader, TextTokenizer, VectorEmbedder } from './types.js';
import type { ModelFiles } from './locateModel.js';
import { ensureModel, type EnsureModelOptions } from './ensureModel.js';
import { modelManifest } from './manifest.js';
import { loadTextTokenizer, queryRow } from './tokenizer.js';
import { locateTokenizerWorker, tokenizeInWorker } from './queryTokens.js';
import { Embedder, sessionThreads } from './embedder.js';
import { EmbedderPool, type ClosableEmbedder } from './embedderPool.js';
import { locateInferenceWorker, WorkerEmbedder } from './workerEmbedder.js';

export interface ModelLoaderOptions extends Omit<EnsureModelOptions, 'precision'> {
  precision: 'int8' | 'fp32';
  threads?: number;
  /** onnxruntime graph optimizers to skip; default `defaultDisabledOptimizers`. */
  disabledOptimizers?: readonly string[];
  /**
   * bulkEmbedder() runs inference in a worker thread, and queryIds() tokenizes a cold first query in
   * one (config `embedding.inferenceWorker`); default true.
   */
  inferenceWorker?: boolean;
  /** The tokenizer worker script; default: dist/tokenizer-worker.js next to the bundle (none from sources). */
  tokenizerWorker?: string;
  /** Inference sessions bulkEmbedder() runs side by side, one a worker (config `embedding.sessions`). */
  sessions?: number;
}

/** Two sessions where there are two cores (see EmbedderPool); the threads are split between them. */
export function bulkLayout(cores: number, threads?: number, sessions?: number): { sessions: number; threads: number } {
  const total = threads ?? cores;
  const count = Math.max(1, Math.min(sessions ?? Math.min(2, cores), total));
  return { sessions: count, threads: Math.max(1, Math.floor(total / count)) };
}

/** Starts `count` inference workers; if one fails, the others are closed and the error is thrown. */
async function startWorkers(count: number, start: () => Promise<ClosableEmbedder>): Promise<EmbedderPool> {
  const started = await Promise.allSettled(Array.from({ length: count }, start));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  const members = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (failed) {
    await Promise.all(members.map((m) => m.close()));
    throw failed.reason;
  }
  return new EmbedderPool(members);
}

/**
 * Finds the model files on first use (fetching them once when missing, see ensureModel) and
 * loads the tokenizer and the ONNX session only when first asked, once each. Commands that end
 * before they need the model never touch it.
 */
export function createModelLoader(options: ModelLoaderOptions): EmbeddingModelLoader {
  const manifest = options.manifest ?? modelManifest;
  let files: Promise<ModelFiles> | undefined;
  const located = () => (files ??= ensureModel({ ...options, manifest }));
  let tokenizer: Promise<TextTokenizer> | undefined;
  let workerTokenized = false;
  let embedder: Promise<Embedder> | undefined;
  let queryEmbedder: Promise<Embedder> | undefined;
  let bulk: Promise<EmbedderPool> | undefined;
  const embedderOptions = (threads: number) => ({ threads, disabledOptimizers: options.disabledOptimizers });
  const session = (threads: number) => located().then((found) => Embedder.create(found, embedderOptions(threads)));
  return {
    id: `${manifest.id}/${options.precision}`,
    dims: manifest.dims,
    maxTokens: manifest.maxTokens,
    tokenizer() {
      tokenizer ??= located().then(loadTextTokenizer);
      return tokenizer;
    },
    queryIds(text: string) {
      // Parsing tokenizer.json (~50 ms) and creating the ONNX session (~100 ms) both block the thread
      // they run on: a cold search runs the first in a worker (bundle only; inferenceWorker: false keeps it here).
      const script =
        tokenizer || workerTokenized || options.inferenceWorker === false
          ? undefined
          : (options.tokenizerWorker ?? locateTokenizerWorker());
      if (!script) return this.tokenizer().then((tok) => queryRow(tok, text, manifest.maxTokens));
      workerTokenized = true;
      return located().then((files) => tokenizeInWorker(script, { files, text, maxTokens: manifest.maxTokens }));
    },
    embedder(): Promise<VectorEmbedder> {
      embedder ??= session(sessionThreads(options));
      return embedder;
    },
    queryEmbedder(): Promise<VectorEmbedder> {
      queryEmbedder ??= session(1);
      return queryEmbedder;
    },
    bulkEmbedder(): Promise<VectorEmbedder> {
      // From TypeScript sources (no bundled worker script) inference stays on the calling thread.
      const script = options.inferenceWorker === false ? undefined : locateInferenceWorker();
      if (!script) return this.embedder();
      const layout = bulkLayout(os.availableParallelism(), options.threads, options.sessions);
      bulk ??= located().then((found) =>
        startWorkers(layout.sessions, () => WorkerEmbedder.start(script, found, embedderOptions(layout.threads))),
      );
      return bulk;
    },
    async close() {
      // A load that failed has nothing to release (its error already reached the caller).
      const loaded = [embedder, queryEmbedder, bulk];
      embedder = queryEmbedder = bulk = undefined;
      for (const loading of loaded) {
        if (loading)
          await loading.then(
            (session) => session.close(),
            () => undefined,
          );
      }
    },
  };
}
