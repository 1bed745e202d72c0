import type { VectorEmbedder } from './model/types.js';

/** Chunks sorted by length together before batching: little padding, yet embedding starts early. */
const SORT_WINDOW_BATCHES = 16;
/** Batches handed to each of the embedder's sessions at once: one running, one waiting, so none idles. */
const IN_FLIGHT_PER_SESSION = 2;

export interface EmbedPipelineOptions {
  /** Loads the embedder on first need; its load time is reported as `loadSeconds`. */
  load: () => Promise<VectorEmbedder>;
  batchSize: number;
  /** Called on the caller's thread as each batch comes back, in the order chunks were added. */
  onVector: (hash: string, vector: Float32Array) => void;
  onProgress?: (done: number, queued: number, chunksPerSecond: number) => void;
}

/**
 * Feeds token-id rows to the embedder in length-sorted batches while the caller keeps producing
 * them. `add` waits only when enough batches are already queued (back-pressure), so with a
 * worker-thread embedder, reading and chunking overlap inference.
 */
export class EmbedPipeline {
  private window: Array<{ hash: string; ids: number[] }> = [];
  private inFlight: Array<Promise<void>> = [];
  private embedder: Promise<VectorEmbedder> | undefined;
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
    this.embedder ??= this.loadTimed();
    this.window.push({ hash, ids });
    this.queued++;
    if (this.window.length >= this.opts.batchSize * SORT_WINDOW_BATCHES) await this.dispatch();
  }

  /** Embeds what is left and waits for every batch. */
  async finish(): Promise<void> {
    await this.dispatch();
    await Promise.all(this.inFlight);
    this.inFlight = [];
    this.throwIfFailed();
  }

  private async loadTimed(): Promise<VectorEmbedder> {
    const loadStarted = performance.now();
    const embedder = await this.opts.load();
    this.loadSeconds = (performance.now() - loadStarted) / 1000;
    return embedder;
  }

  private async dispatch(): Promise<void> {
    const items = this.window.sort((a, b) => a.ids.length - b.ids.length);
    this.window = [];
    if (items.length === 0) return;
    const maxInFlight = IN_FLIGHT_PER_SESSION * ((await this.embedder!).parallelism ?? 1);
    for (let i = 0; i < items.length; i += this.opts.batchSize) {
      while (this.inFlight.length >= maxInFlight) await this.inFlight.shift();
      this.throwIfFailed();
      // Errors are kept and rethrown by add/finish: a batch nobody awaits yet must not reject unhandled.
      this.inFlight.push(
        this.embed(items.slice(i, i + this.opts.batchSize)).catch((error: unknown) => {
          this.error ??= error;
        }),
      );
    }
  }

  private async embed(batch: Array<{ hash: string; ids: number[] }>): Promise<void> {
    const embedder = await this.embedder!;
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
