import type { VectorEmbedder } from './model/types.js';

/**
 * Chunks sorted by length together before batching. Padding to each batch's longest row costs
 * real inference: on bench:index's corpus (10.9k chunks, batch 8) windows of 128 chunks padded 2.3%
 * of tokens, windows of 1,024 only 0.4%. Chunking the first window takes about as long as loading
 * the model (~0.3 s), which it waits for anyway.
 */
export const SORT_WINDOW_CHUNKS = 1024;
/**
 * Rows handed to each of the embedder's sessions ahead of time (at least two batches: one running,
 * one waiting), so none idles while the caller's thread is busy chunking a large file.
 */
const IN_FLIGHT_ROWS_PER_SESSION = 16;
/** Rows per batch when neither the caller nor the embedder says. */
const DEFAULT_BATCH_ROWS = 8;

export interface EmbedPipelineOptions {
  /** Loads the embedder on first need; its load time is reported as `loadSeconds`. */
  load: () => Promise<VectorEmbedder>;
  /** Rows per batch; by default the embedder's fastest (VectorEmbedder.batchRows). */
  batchSize?: number;
  /** Called on the caller's thread as each batch comes back. */
  onVector: (hash: string, vector: Float32Array) => void;
  onProgress?: (done: number, queued: number, chunksPerSecond: number) => void;
  /** Rows sorted together (default SORT_WINDOW_CHUNKS). */
  windowChunks?: number;
}

type Row = { hash: string; ids: number[] };

/**
 * Feeds token-id rows to the embedder in length-sorted batches while the caller keeps producing
 * them. A full window is sorted into batches that start as soon as a session has room, whether or
 * not the caller is waiting; `add` waits only while a whole window of batches is still unstarted
 * (back-pressure), so with a worker-thread embedder reading and chunking overlap inference.
 */
export class EmbedPipeline {
  private window: Row[] = [];
  /** Sorted batches not yet handed to the embedder. */
  private ready: Row[][] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private embedder: Promise<VectorEmbedder> | undefined;
  private loaded: VectorEmbedder | undefined;
  private maxInFlight = 0;
  /** Known once the embedder is loaded (`loaded`); windows are cut into batches only then. */
  private batchSize = 0;
  private error: unknown;
  private started = 0;
  queued = 0;
  done = 0;
  tokens = 0;
  loadSeconds = 0;

  constructor(private readonly opts: EmbedPipelineOptions) {}

  /** Queues one row ([CLS] … [SEP]); the model starts loading with the first. */
  async add(hash: string, ids: number[]): Promise<void> {
    this.throwIfFailed();
    if (!this.embedder) {
      this.embedder = this.loadTimed();
      // A failed load is reported by add/finish; the promise itself must not reject unobserved.
      this.embedder.catch(() => undefined);
    }
    this.window.push({ hash, ids });
    this.queued++;
    const windowChunks = this.opts.windowChunks ?? SORT_WINDOW_CHUNKS;
    if (this.window.length < windowChunks) return;
    // Before the model is loaded nothing starts; wait for it rather than queue without bound.
    if (!this.loaded) await this.embedder;
    this.seal();
    const windowBatches = Math.ceil(windowChunks / this.batchSize);
    while (this.ready.length >= windowBatches && this.inFlight.size > 0) {
      await Promise.race(this.inFlight);
      this.throwIfFailed();
    }
  }

  /** Embeds what is left and waits for every batch. */
  async finish(): Promise<void> {
    if (this.embedder) await this.embedder.catch(() => undefined);
    if (this.error === undefined) this.seal();
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    this.throwIfFailed();
  }

  private async loadTimed(): Promise<VectorEmbedder> {
    const loadStarted = performance.now();
    try {
      const embedder = await this.opts.load();
      this.loadSeconds = (performance.now() - loadStarted) / 1000;
      this.batchSize = this.opts.batchSize ?? embedder.batchRows ?? DEFAULT_BATCH_ROWS;
      const perSession = Math.max(2, Math.ceil(IN_FLIGHT_ROWS_PER_SESSION / this.batchSize));
      this.maxInFlight = perSession * (embedder.parallelism ?? 1);
      this.loaded = embedder;
      return embedder;
    } catch (error) {
      this.error ??= error;
      throw error;
    }
  }

  /** Sorts the window by length and queues it as batches (the embedder is loaded by now). */
  private seal(): void {
    if (!this.loaded) return; // nothing was added, or the load failed
    const rows = this.window.sort((a, b) => a.ids.length - b.ids.length);
    this.window = [];
    for (let i = 0; i < rows.length; i += this.batchSize) this.ready.push(rows.slice(i, i + this.batchSize));
    this.launch(this.loaded);
  }

  /** Starts queued batches while a session has room; each one finishing starts the next. */
  private launch(embedder: VectorEmbedder): void {
    while (this.error === undefined && this.inFlight.size < this.maxInFlight && this.ready.length > 0) {
      const batch = this.ready.shift()!;
      // Errors are kept and rethrown by add/finish: a batch nobody awaits must not reject unhandled.
      const running: Promise<void> = this.embed(embedder, batch)
        .catch((error: unknown) => {
          this.error ??= error;
        })
        .finally(() => {
          this.inFlight.delete(running);
          this.launch(embedder);
        });
      this.inFlight.add(running);
    }
  }

  private async embed(embedder: VectorEmbedder, batch: Row[]): Promise<void> {
    this.started ||= performance.now();
    const vectors = await embedder.embedIds(batch.map((item) => item.ids));
    batch.forEach((item, i) => {
      this.opts.onVector(item.hash, vectors[i]!);
      this.tokens += item.ids.length;
    });
    this.done += batch.length;
    this.opts.onProgress?.(this.done, this.queued, this.chunksPerSecond);
  }

  get chunksPerSecond(): number {
    const elapsed = this.started ? (performance.now() - this.started) / 1000 : 0;
    return elapsed > 0 ? this.done / elapsed : 0;
  }

  private throwIfFailed(): void {
    if (this.error !== undefined) throw this.error;
  }
}
