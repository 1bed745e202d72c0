import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Reporter } from '../reporter.js';
import type { IndexStore } from './store.js';
import { resolveCommittedFile, stampStillMatches, VectorIndex } from './vectorIndex.js';

/** The hnsw graph file in the index directory; SQLite records its checksum and stamp. */
export const VECTORS_FILE = 'vectors.hnsw';

/** Opens the graph that matches SQLite, or rebuilds it from stored vectors when missing/damaged. */
export function openVectorIndex(
  store: IndexStore,
  indexDir: string,
  dims: number,
  reporter: Reporter,
): { index: VectorIndex; repaired: boolean; missingVectorPaths: string[] } {
  const file = path.join(indexDir, VECTORS_FILE);
  const checksum = store.getMeta('hnsw_checksum');
  if (checksum) {
    const trusted = store.getMeta('hnsw_stamp');
    const current = resolveCommittedFile(file, checksum, trusted);
    if (current) {
      try {
        const loadStarted = performance.now();
        const index = VectorIndex.load(current.file, dims);
        // The graph's own count (deleted slots included): counting live chunks would scan SQLite.
        reporter.debug(
          `Loaded the vector graph (${index.slotCount} vectors) in ${Math.round(performance.now() - loadStarted)} ms.`,
        );
        if (current.stamp !== trusted) store.setMeta('hnsw_stamp', current.stamp);
        return { index, repaired: false, missingVectorPaths: [] };
      } catch (err) {
        reporter.warn(`Vector index ${file} could not be read (${(err as Error).message}).`);
      }
    }
  }
  // Counted only here: a count(*) scans an index of every chunk (~100 ms at 100k with a cold cache).
  if (store.isEmpty()) return { index: VectorIndex.create(dims), repaired: false, missingVectorPaths: [] };
  const { chunks } = store.counts();
  reporter.warn(
    `Vector index ${file} is ${existsSync(file) ? 'damaged' : 'missing'}; rebuilding it from ${chunks} stored vectors.`,
  );
  const { index, missingVectorPaths } = rebuildFromStore(store, dims, chunks);
  return { index, repaired: true, missingVectorPaths };
}

export function rebuildFromStore(store: IndexStore, dims: number, liveChunks: number) {
  const index = VectorIndex.create(dims, Math.ceil(liveChunks * 1.25) + 16);
  const missing = new Set<number>();
  for (const { label, vector } of store.liveVectors()) {
    if (vector && vector.length === dims) index.add(label, vector);
    else missing.add(label);
  }
  const missingVectorPaths = missing.size
    ? [...new Set([...store.chunksByLabel([...missing]).values()].map((c) => c.path))]
    : [];
  return { index, missingVectorPaths };
}

/** Whether the graph file is the one SQLite committed, by its recorded stamp (stat only, no read). */
export function graphFileCommitted(store: IndexStore, file: string): boolean {
  const checksum = store.getMeta('hnsw_checksum');
  return checksum !== undefined && stampStillMatches(file, checksum, store.getMeta('hnsw_stamp'));
}
