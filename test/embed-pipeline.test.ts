import { describe, expect, it } from 'vitest';
import { EmbedPipeline } from '../src/core/index/embedPipeline.js';
import type { VectorEmbedder } from '../src/core/index/model/types.js';

/**
 * A scheduling double for the inference sessions: it records each batch and how many ran at once,
 * and finishes a batch only when the test (or `autoFinish`) lets it. The pipeline's own logic —
 * windows, sorting, back-pressure, errors — is what these tests exercise; the real model's
 * batching is covered by model-embedder and inference-worker tests.
 */
class RecordingEmbedder implements VectorEmbedder {
  readonly dims = 2;
  batchRows: number | undefined;
  batches: number[][][] = [];
  running = 0;
  maxRunning = 0;
  private pending: Array<() => void> = [];
  constructor(
    readonly parallelism: number,
    private readonly autoFinish = true,
    private readonly failOnBatch = -1,
  ) {}

  async embedIds(batch: number[][]): Promise<Float32Array[]> {
    const n = this.batches.push(batch);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    await new Promise<void>((resolve) => (this.autoFinish ? setImmediate(resolve) : this.pending.push(resolve)));
    this.running--;
    if (n - 1 === this.failOnBatch) throw new Error('inference failed on batch');
    return batch.map((row) => new Float32Array([row.length, row[1] ?? 0]));
  }

  release(): void {
    for (const resolve of this.pending.splice(0)) resolve();
  }
}

const row = (id: number, length: number) => [101, id, ...Array<number>(length - 3).fill(7), 102];

describe('EmbedPipeline', () => {
  it('embeds every row once, in length-sorted batches per window, vectors to the right hash', async () => {
    const embedder = new RecordingEmbedder(2);
    const got = new Map<string, Float32Array>();
    const pipeline = new EmbedPipeline({
      load: async () => embedder,
      batchSize: 4,
      windowChunks: 16,
      onVector: (hash, v) => got.set(hash, v),
    });
    const lengths = Array.from({ length: 50 }, (_, i) => 3 + ((i * 37) % 29));
    for (const [i, length] of lengths.entries()) await pipeline.add(`h${i}`, row(i, length));
    await pipeline.finish();

    expect(got.size).toBe(50);
    for (const [i, length] of lengths.entries()) expect([...got.get(`h${i}`)!]).toEqual([length, i]);
    expect(pipeline.tokens).toBe(lengths.reduce((a, b) => a + b, 0));
    expect(embedder.batches.flat()).toHaveLength(50);
    // Within each window of 16 rows the batches come out shortest first, so little padding.
    for (let w = 0; w < 3; w++) {
      const rows = embedder.batches.slice(4 * w, 4 * w + 4).flat();
      const seen = rows.map((r) => r.length);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(rows.map((r) => r[1]).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 16 }, (_, k) => 16 * w + k));
    }
    expect(embedder.maxRunning).toBeLessThanOrEqual(8); // 16 rows a session of 2 ahead
  });

  // 16 rows a session ahead, and never fewer than two batches: one running, one waiting.
  it.each([
    [8, 4],
    [1, 32],
  ])(
    'at batch %i keeps %i batches in flight on 2 sessions, and holds the producer back a window ahead',
    async (batchSize, inFlight) => {
      const embedder = new RecordingEmbedder(2, false);
      const pipeline = new EmbedPipeline({
        load: async () => embedder,
        batchSize,
        windowChunks: 64,
        onVector: () => {},
      });
      let added = 0;
      const producing = (async () => {
        for (let i = 0; i < 400; i++) {
          await pipeline.add(`h${i}`, row(i, 5));
          added++;
        }
      })();
      // Nothing finishes: the producer stops after a bounded run-ahead instead of queueing all 400 rows.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(embedder.batches).toHaveLength(inFlight);
      expect(embedder.running).toBe(inFlight);
      expect(added).toBeLessThan(400);
      expect(added).toBeGreaterThanOrEqual(64);
      const stalledAt = added;
      // Once fewer than a window of batches wait unstarted, the producer goes on.
      for (let i = 0; i < 3; i++) {
        embedder.release();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(added).toBeGreaterThan(stalledAt);
      const releasing = setInterval(() => embedder.release(), 1);
      await producing;
      await pipeline.finish();
      clearInterval(releasing);
      expect(pipeline.done).toBe(400);
      expect(embedder.maxRunning).toBe(inFlight);
    },
  );

  it('starts embedding only once the model is loaded, and reports its load time', async () => {
    const embedder = new RecordingEmbedder(1);
    let loaded!: (e: VectorEmbedder) => void;
    const pipeline = new EmbedPipeline({
      load: () => new Promise<VectorEmbedder>((resolve) => (loaded = resolve)),
      batchSize: 2,
      windowChunks: 4,
      onVector: () => {},
    });
    for (let i = 0; i < 3; i++) await pipeline.add(`h${i}`, row(i, 4));
    const fourth = pipeline.add('h3', row(3, 4));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(embedder.batches).toHaveLength(0);
    loaded(embedder);
    await fourth;
    await pipeline.finish();
    expect(embedder.batches).toHaveLength(2);
    expect(pipeline.loadSeconds).toBeGreaterThanOrEqual(0.02);
  });

  it('reports a failed batch at the next add or at finish, and starts no further batches', async () => {
    const embedder = new RecordingEmbedder(1, true, 1);
    const pipeline = new EmbedPipeline({
      load: async () => embedder,
      batchSize: 2,
      windowChunks: 4,
      onVector: () => {},
    });
    const run = async () => {
      for (let i = 0; i < 40; i++) await pipeline.add(`h${i}`, row(i, 4));
      await pipeline.finish();
    };
    await expect(run()).rejects.toThrow('inference failed on batch');
    const started = embedder.batches.length;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(embedder.batches.length).toBe(started);
    expect(started).toBeLessThan(20);
  });

  it('cuts batches of the embedder’s own size unless told one', async () => {
    for (const [told, own, expected] of [
      [undefined, 1, 1],
      [undefined, 3, 3],
      [undefined, undefined, 8],
      [5, 1, 5],
    ] as const) {
      const embedder = new RecordingEmbedder(2);
      embedder.batchRows = own;
      const pipeline = new EmbedPipeline({ load: async () => embedder, batchSize: told, onVector: () => {} });
      for (let i = 0; i < 30; i++) await pipeline.add(`h${i}`, row(i, 4 + (i % 5)));
      await pipeline.finish();
      expect(embedder.batches.map((b) => b.length).slice(0, -1)).toEqual(
        Array<number>(Math.ceil(30 / expected) - 1).fill(expected),
      );
      expect(pipeline.done).toBe(30);
    }
  });

  it('reports a model that fails to load, without an unhandled rejection', async () => {
    const pipeline = new EmbedPipeline({
      load: async () => {
        throw new Error('model missing');
      },
      batchSize: 2,
      windowChunks: 4,
      onVector: () => {},
    });
    await pipeline.add('h0', row(0, 4));
    await expect(pipeline.finish()).rejects.toThrow('model missing');
  });
});
