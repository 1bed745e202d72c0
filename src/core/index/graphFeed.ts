import { EmbedPipeline } from './embedPipeline.js';
import type { VectorEmbedder } from './model/types.js';
import type { IndexStore } from './store.js';

/** Fresh vectors are written to the embedding cache in groups this size (they survive a kill). */
const SAVE_EVERY = 512;

export interface GraphFeedOptions {
  /** Where vectors go under their labels (the graph, and the flat vector file's changes). */
  index: { add(label: number, vector: Float32Array): void };
  store: IndexStore;
  /** This run's number: embeddings it uses are stamped with it. */
  run: number;
  load: () => Promise<VectorEmbedder>;
  /** Rows per inference batch; unset, the embedder's fastest. */
  batchSize?: number;
  onProgress?: (done: number, queued: number, chunksPerSecond: number) => void;
}

/**
 * Puts each new chunk's vector into the graph under its label: from the embedding cache when its
 * content was embedded before, else from the embed pipeline once its batch returns. Each distinct
 * content is embedded once per run, however many labels share it.
 */
export class GraphFeed {
  private readonly pipeline: EmbedPipeline;
  /** Labels waiting for a vector that is being embedded. */
  private readonly waiting = new Map<string, number[]>();
  /** Embedded this run and not yet in the cache table. */
  private unsaved = new Map<string, Float32Array>();
  /** Labels whose vector was computed this run (the rest came from the cache). */
  embeddedLabels = 0;

  constructor(private readonly opts: GraphFeedOptions) {
    this.pipeline = new EmbedPipeline({
      load: opts.load,
      batchSize: opts.batchSize,
      onVector: (hash, vector) => this.arrived(hash, vector),
      onProgress: opts.onProgress,
    });
  }

  get chunksEmbedded(): number {
    return this.pipeline.queued;
  }

  get chunksDone(): number {
    return this.pipeline.done;
  }

  get chunksPerSecond(): number {
    return this.pipeline.chunksPerSecond;
  }

  get tokensEmbedded(): number {
    return this.pipeline.tokens;
  }

  get modelLoadSeconds(): number {
    return this.pipeline.loadSeconds;
  }

  /** One file's new chunks; `rowOf` gives the token-id row to embed when the cache lacks it. */
  async add(chunks: Array<{ label: number; hash: string }>, rowOf: (index: number) => number[]): Promise<void> {
    const { index, store } = this.opts;
    const lookUp: string[] = [];
    for (const c of chunks) if (!this.waiting.has(c.hash) && !this.unsaved.has(c.hash)) lookUp.push(c.hash);
    const cached = lookUp.length > 0 ? store.cachedVectors(lookUp) : new Map<string, Float32Array>();
    for (const [i, c] of chunks.entries()) {
      const known = this.unsaved.get(c.hash) ?? cached.get(c.hash);
      if (known) {
        index.add(c.label, known);
        continue;
      }
      const labels = this.waiting.get(c.hash);
      if (labels) {
        labels.push(c.label);
        continue;
      }
      this.waiting.set(c.hash, [c.label]);
      await this.pipeline.add(c.hash, rowOf(i));
    }
  }

  /** Waits for every vector and saves the last ones to the cache. */
  async finish(): Promise<void> {
    await this.pipeline.finish();
    this.save();
  }

  private arrived(hash: string, vector: Float32Array): void {
    const labels = this.waiting.get(hash)!;
    this.waiting.delete(hash);
    for (const label of labels) this.opts.index.add(label, vector);
    this.embeddedLabels += labels.length;
    this.unsaved.set(hash, vector);
    if (this.unsaved.size >= SAVE_EVERY) this.save();
  }

  private save(): void {
    if (this.unsaved.size === 0) return;
    this.opts.store.putVectors([...this.unsaved], this.opts.run);
    this.unsaved = new Map();
  }
}
