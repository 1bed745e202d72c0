import { asksAboutTypes } from './declarationFile.js';

/** One chunk found by vector and/or keyword search, with what each ranking said about it. */
export interface Candidate {
  label: number;
  /** 1-based rank in the vector list, if it was there. */
  vectorRank?: number;
  /** Cosine similarity to the query. */
  similarity?: number;
  /** 1-based rank in the keyword (BM25) list, if it was there. */
  keywordRank?: number;
  /** BM25 relevance, larger is better (SQLite's bm25() negated). */
  bm25?: number;
  /** The chunk's file holds declarations only (see declarationFile.ts). */
  declaration?: boolean;
}

export interface FusedCandidate extends Candidate {
  /** Final ranking score (larger is better). */
  score: number;
  /** The factor the fused score was multiplied by as a declaration-only file's, when it was. */
  declarationFactor?: number;
}

export interface FusionParams {
  /** RRF damping constant: larger flattens the difference between top and lower ranks. */
  rrfK: number;
  /** Share of the vector ranking (keyword gets the rest) for queries that name identifiers. */
  vectorWeight: number;
  /**
   * Share of the vector ranking for plain-language queries: their words often are not the code's
   * words, so BM25 matches them by accident more often and the embedding deserves more say.
   */
  plainVectorWeight: number;
  /**
   * Factor on the fused score of a declaration-only file's chunk when the query is not about types:
   * such files restate behaviour in words but do not implement it. 1 turns it off.
   */
  declarationWeight: number;
}

/**
 * The best by tune-query MRR of `npm run bench:retrieval -- --sweep` over four codebases
 * (scripts/bench/retrieval/); plain RRF would be rrfK 60 with both weights 0.5. Also swept and not
 * kept (no tune-MRR gain over these): crediting a file's other chunks with its best rank in each
 * list (share 0.3-1), and BM25 with identifiers in their own FTS5 column (weights 0.5-4, path 1-6).
 */
export const DEFAULT_FUSION: FusionParams = {
  rrfK: 30,
  vectorWeight: 0.5,
  plainVectorWeight: 0.7,
  declarationWeight: 0.7,
};

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
 * Whether a query names code: camelCase, snake_case, dotted or called names, `--flags`, or
 * upper-case terms (HTTP, JSON, FLASK_APP), which BM25 matches exactly.
 */
export function namesIdentifiers(query: string): boolean {
  return /[a-z][A-Z]|\w_\w|\w_(?:\s|$)|\w\.\w|\w\(|(?:^|\s)--?\w|\b[A-Z]{2,}\b/.test(query);
}

/**
 * Weighted reciprocal-rank fusion of vector and keyword candidates, best first. With equal
 * weights the score is plain RRF: the sum of 1 / (rrfK + rank) over the lists a chunk is in.
 */
export function fuseCandidates(
  candidates: Candidate[],
  query: string,
  params: FusionParams = DEFAULT_FUSION,
): FusedCandidate[] {
  const wv = namesIdentifiers(query) ? params.vectorWeight : params.plainVectorWeight;
  const part = (rank: number | undefined) => (rank === undefined ? 0 : 1 / (params.rrfK + rank));
  const damp = asksAboutTypes(query) ? 1 : params.declarationWeight;
  return candidates
    .map((c): FusedCandidate => {
      const score = 2 * (wv * part(c.vectorRank) + (1 - wv) * part(c.keywordRank));
      return c.declaration && damp !== 1 ? { ...c, score: score * damp, declarationFactor: damp } : { ...c, score };
    })
    .sort((a, b) => b.score - a.score);
}
