import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Reporter } from '../reporter.js';
import type { Workspace } from '../workspace.js';
import { cachedLineTokenizer, chunkFile, hashText, type Chunk } from './chunk.js';
import {
  discoverFiles,
  readIndexableText,
  type DiscoveredFile,
  type SkippedFile,
  type SkipReason,
} from './discover.js';
import { redactContentSecrets } from '../secrets/secretScanner.js';
import { acquireIndexLock } from './indexLock.js';
import { changesSinceIndex, type ChangesSinceIndex } from './changesSinceIndex.js';
import type { EmbeddingModelLoader, TextTokenizer } from './model/types.js';
import { FlatVectorChanges, flatVectorsCurrent, refreshFlatVectors } from './flatVectors.js';
import { GraphFeed } from './graphFeed.js';
import { IndexStore, type FileRow, type IndexChanges } from './store.js';
import { graphFileCommitted, openVectorIndex, rebuildFromStore, VECTORS_FILE } from './vectorGraph.js';
import { commitPendingFile, fileStamp, type VectorIndex } from './vectorIndex.js';

/** Bump when chunking changes, so stored chunks are rebuilt (2: content secrets redacted). */
const CHUNKER_VERSION = '2';

export interface IndexProgress {
  phase: 'scan' | 'chunk' | 'embed' | 'write';
  filesDone: number;
  filesTotal: number;
  chunksDone: number;
  chunksTotal: number;
  chunksPerSecond: number;
  etaSeconds: number | undefined;
}

export interface IndexSummary {
  filesScanned: number;
  filesChanged: number;
  filesRemoved: number;
  chunksEmbedded: number;
  chunksReused: number;
  chunksTotal: number;
  tokensEmbedded: number;
  seconds: number;
  /** Part of `seconds` spent loading the ONNX session (0 when nothing needed embedding). */
  modelLoadSeconds: number;
  repaired: boolean;
  compacted: boolean;
  /** Files left out, by reason (secret, lockfile, vendored, generated, binary, too-large, …). */
  skipped: Record<string, number>;
  /** Which files were left out and why (unchanged files skipped by content on an earlier run too). */
  skippedFiles: SkippedFile[];
  /** Credentials masked in files read this run: where and by which rule, never the value. */
  redactions: Redaction[];
}

export interface Redaction {
  path: string;
  line: number;
  rule: string;
}

export interface IndexDeps {
  model: EmbeddingModelLoader;
  reporter: Reporter;
  onProgress?: (progress: IndexProgress) => void;
}

export interface IndexOptions {
  full?: boolean;
}

/**
 * Refreshes the index incrementally: unchanged files (same stat, or same content hash) are skipped,
 * chunks whose content hash is in the embedding cache are not embedded again, and everything a run
 * changes is committed at once (SQLite transaction + graph file swap), so a kill at any moment leaves
 * the previous index usable.
 */
export async function refreshIndex(
  ws: Workspace,
  config: Config,
  deps: IndexDeps,
  options: IndexOptions = {},
): Promise<IndexSummary> {
  const started = performance.now();
  const { model, reporter } = deps;
  const release = acquireIndexLock(ws.indexDir);
  const store = IndexStore.open(ws.indexDir);
  try {
    const run = Number(store.getMeta('last_run') ?? '0') + 1;
    const fingerprint = `${model.id}|chunker-${CHUNKER_VERSION}|window-${model.maxTokens}`;
    const storedFingerprint = store.getMeta('fingerprint');
    if (options.full || (storedFingerprint && storedFingerprint !== fingerprint)) {
      const modelChanged = storedFingerprint !== undefined && !storedFingerprint.startsWith(`${model.id}|`);
      if (!options.full)
        reporter.info('The embedding model or chunker changed since the last run; rebuilding the index.');
      store.reset({ clearEmbeddings: Boolean(options.full) || modelChanged });
    }
    store.setMeta('fingerprint', fingerprint);

    const known = store.fileRows();

    deps.onProgress?.({
      phase: 'scan',
      filesDone: 0,
      filesTotal: 0,
      chunksDone: 0,
      chunksTotal: 0,
      chunksPerSecond: 0,
      etaSeconds: undefined,
    });
    const discovered = await discoverFiles(ws.root, config.index);
    const scanned = performance.now();
    const noteSkip = (relPath: string, reason: SkipReason) => {
      discovered.skipped.set(reason, (discovered.skipped.get(reason) ?? 0) + 1);
      discovered.skippedFiles.push({ path: relPath, reason });
    };
    const { changes, graph } = changesAndGraph(store, ws.indexDir, model.dims, reporter, discovered.files, known);
    const { index, repaired, missingVectorPaths } = graph ?? {
      index: undefined,
      repaired: false,
      missingVectorPaths: [],
    };
    const { changed: candidates, removed, stillSkipped } = changes;
    // Skipped by content on an earlier run and unchanged since: still skipped, and said so.
    for (const skipped of stillSkipped) noteSkip(skipped.path, skipped.reason);
    const redactions: Redaction[] = [];

    // Read and chunk candidates; content-identical files only get their stat refreshed. New chunks
    // get their vectors from the cache or are embedded while later files are read (GraphFeed).
    let tokenizer: TextTokenizer | undefined;
    let tokenizeLine: ((line: string) => number[]) | undefined;
    const labelled: IndexChanges['files'] = [];
    const touched: FileRow[] = [];
    const dropPaths = new Set<string>([...removed, ...missingVectorPaths]);
    // The graph and the flat vector file see the same removals and additions.
    const flatChanges = new FlatVectorChanges(model.dims, flatVectorsCurrent(store, ws.indexDir));
    const removeLabels = (labels: number[]) => {
      for (const label of labels) {
        index!.remove(label);
        flatChanges.drop(label);
      }
    };
    // Old labels leave the graph before new ones enter; their slots are reused by the inserts.
    removeLabels(store.labelsForPaths([...dropPaths]));
    let nextLabel = Number(store.getMeta('next_label') ?? '1');
    let filesDone = 0;
    const progress = (phase: 'chunk' | 'embed', done = 0, queued = 0, rate = 0) =>
      deps.onProgress?.({
        phase,
        filesDone,
        filesTotal: candidates.length,
        chunksDone: done,
        chunksTotal: queued,
        chunksPerSecond: rate,
        etaSeconds: rate > 0 ? (queued - done) / rate : undefined,
      });
    const feed = new GraphFeed({
      index: {
        add: (label, vector) => {
          index!.add(label, vector);
          flatChanges.add(label, vector);
        },
      },
      store,
      run,
      load: () => model.bulkEmbedder(),
      batchSize: config.embedding.batchSize,
      onProgress: (done, queued, rate) => progress('embed', done, queued, rate),
    });
    const dropFile = (relPath: string) => {
      dropPaths.add(relPath);
      removeLabels(store.labelsForPaths([relPath]));
    };
    for (const file of candidates) {
      filesDone++;
      const read = await readIndexableText(ws.root, file.path);
      const prev = known.get(file.path);
      const stat = { path: file.path, size: file.size, mtimeMs: file.mtimeMs };
      if ('skip' in read) {
        noteSkip(file.path, read.skip);
        if (prev) dropFile(file.path);
        // Recorded with no chunks, so an unchanged generated/binary file is not read again next run;
        // a vanished, unreadable or swapped-for-a-link file is looked at again instead.
        if (!['missing', 'unreadable', 'symlink'].includes(read.skip))
          labelled.push({ file: { ...stat, hash: `skip:${read.skip}`, chunkCount: 0 }, chunks: [] });
        continue;
      }
      const text = await redactForIndex(file.path, read.text, redactions);
      const hash = hashText(text);
      if (prev && prev.hash === hash) {
        touched.push({ ...prev, size: file.size, mtimeMs: file.mtimeMs });
        continue;
      }
      if (!tokenizer) {
        tokenizer = await model.tokenizer();
        tokenizeLine = cachedLineTokenizer((line) => tokenizer!.tokenize(line));
      }
      const header = tokenizer.tokenize(file.path);
      const chunks = chunkFile(text, tokenizeLine!, { budget: model.maxTokens - 2 - header.length });
      if (prev) dropFile(file.path);
      const entry = {
        file: { ...stat, hash, chunkCount: chunks.length },
        chunks: chunks.map((c) => ({ label: nextLabel++, path: file.path, ...pick(c) })),
      };
      labelled.push(entry);
      // The embedded text is "[CLS] path chunk [SEP]", cut to the model's window.
      const { clsId, sepId } = tokenizer;
      await feed.add(entry.chunks, (i) => [
        clsId,
        ...[...header, ...chunks[i]!.tokenIds].slice(0, model.maxTokens - 2),
        sepId,
      ]);
      // Files keep coming while batches are embedded: say both (embed) once any batch returned.
      if (filesDone % 200 === 0)
        if (feed.chunksDone > 0) progress('embed', feed.chunksDone, feed.chunksEmbedded, feed.chunksPerSecond);
        else progress('chunk');
    }
    await feed.finish();
    const embedded = performance.now();

    deps.onProgress?.({
      phase: 'write',
      filesDone: candidates.length,
      filesTotal: candidates.length,
      chunksDone: feed.chunksEmbedded,
      chunksTotal: feed.chunksEmbedded,
      chunksPerSecond: 0,
      etaSeconds: 0,
    });
    const changed = labelled.length > 0 || dropPaths.size > 0 || touched.length > 0 || repaired;
    let compacted = false;
    const graphFile = path.join(ws.indexDir, VECTORS_FILE);
    if (index && (changed || !existsSync(graphFile))) {
      const checksum = index.writePending(graphFile);
      store.apply({ dropPaths: [...dropPaths], files: labelled, touched, nextLabel, hnswChecksum: checksum }, run);
      commitGraph(store, graphFile, checksum);
      compacted = compactIfSparse(store, index, ws.indexDir, model.dims, reporter);
      store.pruneEmbeddings();
    }
    refreshFlatVectors(store, ws.indexDir, flatChanges);
    const seconds = (from: number, to = performance.now()) => `${((to - from) / 1000).toFixed(2)} s`;
    reporter.debug(
      `index phases: scan ${seconds(started, scanned)}, read + chunk + embed ${seconds(scanned, embedded)}` +
        ` (model load ${feed.modelLoadSeconds.toFixed(2)} s), write ${seconds(embedded)}`,
    );
    const newChunks = labelled.reduce((n, f) => n + f.chunks.length, 0);
    return {
      filesScanned: discovered.files.length,
      filesChanged: labelled.length,
      filesRemoved: removed.length,
      chunksEmbedded: feed.chunksEmbedded,
      chunksReused: newChunks - feed.embeddedLabels,
      chunksTotal: store.counts().chunks,
      tokensEmbedded: feed.tokensEmbedded,
      seconds: (performance.now() - started) / 1000,
      modelLoadSeconds: feed.modelLoadSeconds,
      repaired,
      compacted,
      skipped: Object.fromEntries(discovered.skipped),
      skippedFiles: discovered.skippedFiles,
      redactions,
    };
  } finally {
    store.close();
    release();
  }
}

/**
 * What changed since the last run, and the run's graph: opened up front when its file is not the
 * one SQLite committed (so a missing or damaged graph is repaired even when no file changed), else
 * only once a file changed, so a no-op refresh at 100k chunks skips loading it (0.18–0.24 s). Files
 * whose vectors SQLite lacks (found while rebuilding the graph) count as changed.
 */
function changesAndGraph(
  store: IndexStore,
  indexDir: string,
  dims: number,
  reporter: Reporter,
  files: DiscoveredFile[],
  known: Map<string, FileRow>,
): { changes: ChangesSinceIndex; graph: ReturnType<typeof openVectorIndex> | undefined } {
  const open = () => openVectorIndex(store, indexDir, dims, reporter);
  let graph = graphFileCommitted(store, path.join(indexDir, VECTORS_FILE)) ? undefined : open();
  const changesWithoutMissing = () => {
    for (const p of graph?.missingVectorPaths ?? []) known.delete(p);
    return changesSinceIndex(files, known);
  };
  let changes = changesWithoutMissing();
  if (!graph && (changes.changed.length > 0 || changes.removed.length > 0)) {
    graph = open();
    if (graph.missingVectorPaths.length > 0) changes = changesWithoutMissing();
  }
  return { changes, graph };
}

/**
 * Masks credentials before a file is hashed and chunked, so stored text, the BM25 index and the
 * embedded text never hold them (and search, ask and plan cannot return them).
 */
async function redactForIndex(relPath: string, text: string, redactions: Redaction[]): Promise<string> {
  const redacted = await redactContentSecrets(text, relPath);
  for (const f of redacted.findings) redactions.push({ path: relPath, line: f.line, rule: f.rule });
  return redacted.text;
}

/** What the store keeps of a chunk (its token ids are only needed to embed it). */
function pick(c: Chunk) {
  return { startLine: c.startLine, endLine: c.endLine, hash: c.hash, text: c.text };
}

/** Rebuilds the graph when deleted slots dominate, so search and the file stay lean. */
function compactIfSparse(
  store: IndexStore,
  index: VectorIndex,
  indexDir: string,
  dims: number,
  reporter: Reporter,
): boolean {
  const live = store.counts().chunks;
  const deleted = index.slotCount - live;
  if (deleted < Math.max(1000, live)) return false;
  reporter.debug(`Compacting the vector index (${deleted} deleted of ${index.slotCount} slots).`);
  const { index: fresh } = rebuildFromStore(store, dims, live);
  const file = path.join(indexDir, VECTORS_FILE);
  const checksum = fresh.writePending(file);
  store.setMeta('hnsw_checksum', checksum);
  commitGraph(store, file, checksum);
  return true;
}

/** Makes the pending graph current and records its stamp, so the next open need not hash it. */
function commitGraph(store: IndexStore, file: string, checksum: string): void {
  commitPendingFile(file);
  store.setMeta('hnsw_stamp', fileStamp(file, checksum));
}
