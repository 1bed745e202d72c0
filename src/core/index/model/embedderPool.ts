import type { VectorEmbedder } from './types.js';

/** An embedder that can be closed, as each pool member (a worker thread) is. */
export type ClosableEmbedder = VectorEmbedder & { close(): Promise<void> };

/**
 * Several inference sessions behind one embedder, each batch sent to the member with the fewest
 * rows waiting. On 2 cores, two single-threaded sessions embed more chunks a second than one session
 * with two threads: 1.06–1.10× on 1,200 chunks, 1.02× on `bench:index`'s small corpus (raw, batch 8).
 */
export class EmbedderPool implements VectorEmbedder {
  private readonly waitingRows: number[];

  constructor(private readonly members: readonly ClosableEmbedder[]) {
    if (members.length === 0) throw new Error('EmbedderPool needs at least one embedder');
    this.waitingRows = members.map(() => 0);
  }

  get dims(): number {
    return this.members[0]!.dims;
  }

  get batchRows(): number | undefined {
    return this.members[0]!.batchRows;
  }

  /** Batches that run at once: one a member. */
  get parallelism(): number {
    return this.members.length;
  }

  async embedIds(batch: number[][]): Promise<Float32Array[]> {
    let pick = 0;
    for (let i = 1; i < this.members.length; i++) if (this.waitingRows[i]! < this.waitingRows[pick]!) pick = i;
    this.waitingRows[pick]! += batch.length;
    try {
      return await this.members[pick]!.embedIds(batch);
    } finally {
      this.waitingRows[pick]! -= batch.length;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.members.map((member) => member.close()));
  }
}
