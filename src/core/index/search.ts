import type { Workspace } from '../workspace.js';
import { AppError } from '../errors.js';
import type { Reporter } from '../reporter.js';
import type { EmbeddingModelLoader } from './model/types.js';
import { IndexStore } from './store.js';
import { openVectorIndex } from './vectorGraph.js';
import { currentFlatVectors, type FlatVectors } from './flatVectors.js';
import { Int8Scan } from './int8Scan.js';
import type { VectorHit } from './vectorIndex.js';
import { existsSync } from 'node:fs';
import { DEFAULT_FUSION, fuseCandidates, type Candidate, type FusedCandidate, type FusionParams } from './fusion.js';
import path from 'node:path';

/** Longest text a search embeds and turns into keyword terms (see `search`). */
const MAX_SEARCH_TEXT_CHARS = 8_000;

export type SearchMode = 'hybrid' | 'vector' | 'keyword';

export { reciprocalRankFusion, RRF_K } from './fusion.js';

/** Why a result ranks where it does: what each ranking said about it. */
export interface SearchExplanation {
  /** 1-based rank among the vector hits, if the chunk was one. */
  vectorRank?: number;
  similarity?: number;
  /** 1-based rank among the keyword (BM25) hits, if the chunk was one. */
  keywordRank?: number;
  /** BM25 relevance (larger is better). */
  bm25?: number;
  /** Hybrid only: the factor on the fused score for a declaration-only file (see declarationFile.ts). */
  declarationFactor?: number;
}

export interface SearchResult {
  path: string;
  startLine: number;
  endLine: number;
  /** Fused score in hybrid mode, cosine similarity in vector mode, BM25 relevance in keyword mode. */
  score: number;
  text: string;
  explain: SearchExplanation;
}

export interface SearchOptions {
  /** A query embedding computed earlier (skips embedding the query again). */
  queryVector?: Float32Array;
  /** Hybrid fusion parameters; the tuned defaults unless a benchmark passes others. */
  fusion?: FusionParams;
}

/**
 * A loaded index for repeated queries: SQLite metadata, the graph, and the query embedder.
 * `search` opens one per command; `ask`/`plan` reuse one across queries.
 */
export class IndexSearcher {
  private graph: ReturnType<typeof openVectorIndex>['index'] | undefined;
  /** The onnxruntime session that scans the flat file, created on the first flat search. */
  private scan: Promise<Int8Scan> | undefined;

  private constructor(
    private readonly ws: Workspace,
    private readonly store: IndexStore,
    private readonly model: EmbeddingModelLoader,
    private readonly reporter: Reporter,
    /** The flat int8 vectors, being read while the model loads (one-query searches only). */
    private readonly flat: Promise<FlatVectors | undefined> | undefined,
  ) {}

  /**
   * `fewQueries`: a command that searches once or twice (`search`) scans the flat int8 vector file
   * instead of loading the hnsw graph, which costs more than the scan at 100k chunks; the
   * graph is the fallback when that file is missing or stale.
   */
  static open(
    ws: Workspace,
    model: EmbeddingModelLoader,
    reporter: Reporter,
    options: { needVectors: boolean; fewQueries?: boolean },
  ): IndexSearcher {
    if (!existsSync(path.join(ws.indexDir, 'index.db'))) {
      throw new AppError('index_missing', `No index in ${ws.root} yet.`, 'Run `ai-dev-bot index` first.');
    }
    const store = IndexStore.open(ws.indexDir);
    if (store.isEmpty()) {
      store.close();
      throw new AppError(
        'index_missing',
        `The index of ${ws.root} is empty.`,
        'Run `ai-dev-bot index` (it indexes tracked and untracked, non-ignored text files).',
      );
    }
    const flat =
      options.needVectors && options.fewQueries ? currentFlatVectors(store, ws.indexDir, model.dims) : undefined;
    const searcher = new IndexSearcher(ws, store, model, reporter, flat);
    if (options.needVectors && !flat) searcher.loadGraph();
    return searcher;
  }

  private loadGraph() {
    this.graph ??= openVectorIndex(this.store, this.ws.indexDir, this.model.dims, this.reporter).index;
    return this.graph;
  }

  /** The `pool` nearest chunks: a scan of the flat file when it is there, else from the graph. */
  private async nearest(vector: Float32Array, pool: number): Promise<VectorHit[]> {
    const flat = await this.flat;
    if (!flat) return this.loadGraph().search(vector, pool);
    this.scan ??= Int8Scan.create(flat.dims);
    return flat.nearest(vector, pool, await this.scan);
  }

  close(): void {
    this.store.close();
    // A scan session that failed to load has nothing to release (its error reached the search).
    void this.scan?.then((scan) => scan.release()).catch(() => {});
    this.scan = undefined;
  }

  async search(query: string, k: number, mode: SearchMode, options: SearchOptions = {}): Promise<SearchResult[]> {
    // Internal callers pass a goal or a plan item (a hand-edited plan can hold anything): the model
    // reads 256 tokens, and more than this many characters only adds keyword terms and tokenizer work.
    query = query.slice(0, MAX_SEARCH_TEXT_CHARS);
    const candidates = await this.candidates(query, Math.max(50, k * 5), mode, options.queryVector);
    const ranked: FusedCandidate[] =
      mode === 'hybrid'
        ? fuseCandidates(this.markDeclarations(candidates), query, options.fusion ?? DEFAULT_FUSION)
        : mode === 'vector'
          ? candidates.map((c) => ({ ...c, score: c.similarity! })).sort((a, b) => a.vectorRank! - b.vectorRank!)
          : candidates.map((c) => ({ ...c, score: c.bm25! })).sort((a, b) => a.keywordRank! - b.keywordRank!);
    // Labels the graph still holds but SQLite dropped (a concurrent refresh) are skipped.
    const rows = this.store.chunksByLabel(ranked.slice(0, k * 2).map((c) => c.label));
    return ranked
      .filter((c) => rows.has(c.label))
      .slice(0, k)
      .map((c) => {
        const row = rows.get(c.label)!;
        const { vectorRank, similarity, keywordRank, bm25, declarationFactor } = c;
        return {
          path: row.path,
          startLine: row.startLine,
          endLine: row.endLine,
          score: c.score,
          text: row.text,
          explain: { vectorRank, similarity, keywordRank, bm25, declarationFactor },
        };
      });
  }

  private markDeclarations(candidates: Candidate[]): Candidate[] {
    const declarations = this.store.declarationLabels(candidates.map((c) => c.label));
    return candidates.map((c) => (declarations.has(c.label) ? { ...c, declaration: true } : c));
  }

  /** The top `pool` chunks of each ranking the mode uses, with their rank and score in each. */
  private async candidates(
    query: string,
    pool: number,
    mode: SearchMode,
    queryVector: Float32Array | undefined,
  ): Promise<Candidate[]> {
    const byLabel = new Map<number, Candidate>();
    const candidate = (label: number) => {
      let c = byLabel.get(label);
      if (!c) byLabel.set(label, (c = { label }));
      return c;
    };
    if (mode !== 'keyword') {
      if (!this.graph && !this.flat) throw new AppError('internal', 'Vector search needs the vectors loaded.');
      const vector = queryVector ?? (await this.embedQuery(query));
      (await this.nearest(vector, pool)).forEach((hit, i) => {
        Object.assign(candidate(hit.label), { vectorRank: i + 1, similarity: hit.similarity });
      });
    }
    if (mode !== 'vector') {
      this.store.keywordSearch(query, pool).forEach((hit, i) => {
        Object.assign(candidate(hit.label), { keywordRank: i + 1, bm25: hit.bm25 });
      });
    }
    return [...byLabel.values()];
  }

  async embedQuery(query: string): Promise<Float32Array> {
    // Tokens first: on a cold start it begins a worker before the session load blocks this thread.
    const [ids, embedder] = await Promise.all([this.model.queryIds(query), this.model.queryEmbedder()]);
    const [vector] = await embedder.embedIds([ids]);
    return vector!;
  }
}
