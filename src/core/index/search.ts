import type { Workspace } from '../workspace.js';
import { AppError, ExitCode } from '../errors.js';
import type { Reporter } from '../reporter.js';
import type { EmbeddingModelLoader } from './model/types.js';
import { IndexStore } from './store.js';
import { openVectorIndex } from './indexer.js';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** Longest text a search embeds and turns into keyword terms (see `search`). */
const MAX_SEARCH_TEXT_CHARS = 8_000;

export type SearchMode = 'hybrid' | 'vector' | 'keyword';

export interface SearchResult {
  path: string;
  startLine: number;
  endLine: number;
  /** RRF score in hybrid mode, cosine similarity in vector mode, rank-derived in keyword mode. */
  score: number;
  text: string;
}

/** Standard RRF constant (Cormack et al.): damps the weight of the very top ranks. */
export const RRF_K = 60;

/** Reciprocal-rank fusion of ranked label lists; ties keep the order of first appearance. */
export function reciprocalRankFusion(rankings: number[][], k = RRF_K): Array<{ label: number; score: number }> {
  const scores = new Map<number, number>();
  for (const ranking of rankings) {
    ranking.forEach((label, rank) => scores.set(label, (scores.get(label) ?? 0) + 1 / (k + rank + 1)));
  }
  return [...scores.entries()].map(([label, score]) => ({ label, score })).sort((a, b) => b.score - a.score);
}

/**
 * A loaded index for repeated queries: SQLite metadata, the graph, and the query embedder.
 * `search` opens one per command; `ask`/`plan` reuse one across queries.
 */
export class IndexSearcher {
  private constructor(
    private readonly store: IndexStore,
    private readonly graph: ReturnType<typeof openVectorIndex>['index'] | undefined,
    private readonly model: EmbeddingModelLoader,
  ) {}

  static open(
    ws: Workspace,
    model: EmbeddingModelLoader,
    reporter: Reporter,
    options: { needVectors: boolean },
  ): IndexSearcher {
    if (!existsSync(path.join(ws.indexDir, 'index.db'))) {
      throw new AppError(
        'index_missing',
        ExitCode.usage,
        `No index in ${ws.root} yet.`,
        'Run `ai-dev-bot index` first.',
      );
    }
    const store = IndexStore.open(ws.indexDir);
    if (store.counts().chunks === 0) {
      store.close();
      throw new AppError(
        'index_missing',
        ExitCode.usage,
        `The index of ${ws.root} is empty.`,
        'Run `ai-dev-bot index` (it indexes tracked and untracked, non-ignored text files).',
      );
    }
    const graph = options.needVectors ? openVectorIndex(store, ws.indexDir, model.dims, reporter).index : undefined;
    return new IndexSearcher(store, graph, model);
  }

  close(): void {
    this.store.close();
  }

  async search(query: string, k: number, mode: SearchMode, queryVector?: Float32Array): Promise<SearchResult[]> {
    // Internal callers pass a goal or a plan item (a hand-edited plan can hold anything): the model
    // reads 256 tokens, and more than this many characters only adds keyword terms and tokenizer work.
    query = query.slice(0, MAX_SEARCH_TEXT_CHARS);
    const pool = Math.max(50, k * 5);
    const rankings: number[][] = [];
    const similarity = new Map<number, number>();
    if (mode !== 'keyword') {
      if (!this.graph) throw new AppError('internal', ExitCode.internal, 'Vector search needs the graph loaded.');
      const vector = queryVector ?? (await this.embedQuery(query));
      const hits = this.graph.search(vector, pool);
      for (const hit of hits) similarity.set(hit.label, hit.similarity);
      rankings.push(hits.map((h) => h.label));
    }
    if (mode !== 'vector') rankings.push(this.store.keywordSearch(query, pool));
    const fused =
      mode === 'vector'
        ? rankings[0]!.map((label) => ({ label, score: similarity.get(label)! }))
        : reciprocalRankFusion(rankings);
    // Labels the graph still holds but SQLite dropped (a concurrent refresh) are skipped.
    const rows = this.store.chunksByLabel(fused.slice(0, k * 2).map((f) => f.label));
    const results: SearchResult[] = [];
    for (const { label, score } of fused) {
      const row = rows.get(label);
      if (!row) continue;
      results.push({ path: row.path, startLine: row.startLine, endLine: row.endLine, score, text: row.text });
      if (results.length >= k) break;
    }
    return results;
  }

  async embedQuery(query: string): Promise<Float32Array> {
    const [tokenizer, embedder] = await Promise.all([this.model.tokenizer(), this.model.embedder()]);
    const ids = tokenizer.tokenize(query).slice(0, this.model.maxTokens - 2);
    const [vector] = await embedder.embedIds([[tokenizer.clsId, ...ids, tokenizer.sepId]]);
    return vector!;
  }
}
