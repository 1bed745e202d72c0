/** One chunk found by vector and/or keyword search, with what each ranking said about it. */
export interface Candidate {
  label: number;
  path: string;
  /** 1-based rank in the vector list, if it was there. */
  vectorRank?: number;
  /** Cosine similarity to the query. */
  similarity?: number;
  /** 1-based rank in the keyword (BM25) list, if it was there. */
  keywordRank?: number;
  /** BM25 relevance, larger is better (SQLite's bm25() negated). */
  bm25?: number;
}

export interface FusedCandidate extends Candidate {
  /** Final ranking score (larger is better). */
  score: number;
}

export interface FusionParams {
  /** Weight of the vector evidence; the keyword evidence weighs 1 - vectorWeight. */
  vectorWeight: number;
  /** 'rrf': reciprocal ranks; 'score': each list's scores scaled to [0, 1] by its best hit. */
  method: 'rrf' | 'score';
  rrfK: number;
  /** Share of a file's second and third best chunk scores added to its best chunk (file evidence). */
  fileBoost: number;
  /** Factor applied per earlier chunk of the same file, so one file does not crowd out others. */
  sameFileDecay: number;
  /**
   * Factor on the score of type-declaration files (`*.d.ts`, `types.*`): they restate every
   * option's doc comment, so they match behaviour queries whose answer is the implementation.
   */
  declarationWeight: number;
}

export const DEFAULT_FUSION: FusionParams = {
  vectorWeight: 0.5,
  method: 'rrf',
  rrfK: 60,
  fileBoost: 0,
  sameFileDecay: 1,
  declarationWeight: 1,
};

const DECLARATION_FILE = /(?:\.d\.[cm]?ts|(?:^|\/)(?:types|typings|typing)\.[a-z]+)$/;

/** Whether a path is a type-declaration file rather than an implementation. */
export function isDeclarationFile(p: string): boolean {
  return DECLARATION_FILE.test(p);
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

function chunkScore(c: Candidate, p: FusionParams, bestSimilarity: number, bestBm25: number): number {
  const wv = p.vectorWeight;
  const wk = 1 - wv;
  if (p.method === 'rrf') {
    const v = c.vectorRank ? 1 / (p.rrfK + c.vectorRank) : 0;
    const k = c.keywordRank ? 1 / (p.rrfK + c.keywordRank) : 0;
    return 2 * (wv * v + wk * k);
  }
  // Scaled by the best hit of each list: a weak list cannot look strong just because it ranks.
  const v = c.similarity !== undefined && bestSimilarity > 0 ? Math.max(0, c.similarity) / bestSimilarity : 0;
  const k = c.bm25 !== undefined && bestBm25 > 0 ? c.bm25 / bestBm25 : 0;
  return wv * v + wk * k;
}

/**
 * Fuses vector and keyword candidates into one chunk ranking. Beyond per-chunk fusion, a file
 * whose several chunks match is lifted (fileBoost), and each further chunk of a file already
 * ranked is damped (sameFileDecay), so near-duplicate chunks do not push other files out.
 */
export function fuseCandidates(candidates: Candidate[], params: FusionParams = DEFAULT_FUSION): FusedCandidate[] {
  const bestSimilarity = Math.max(0, ...candidates.map((c) => c.similarity ?? 0));
  const bestBm25 = Math.max(0, ...candidates.map((c) => c.bm25 ?? 0));
  const scored = candidates
    .map((c) => {
      const weight = params.declarationWeight !== 1 && isDeclarationFile(c.path) ? params.declarationWeight : 1;
      return { ...c, score: weight * chunkScore(c, params, bestSimilarity, bestBm25) };
    })
    .sort((a, b) => b.score - a.score);
  if (params.fileBoost > 0) {
    const byFile = new Map<string, number[]>();
    for (const c of scored) {
      const list = byFile.get(c.path) ?? [];
      list.push(c.score);
      byFile.set(c.path, list);
    }
    for (const c of scored) {
      const [, second = 0, third = 0] = byFile.get(c.path)!;
      c.score += params.fileBoost * (second + third);
    }
    scored.sort((a, b) => b.score - a.score);
  }
  if (params.sameFileDecay < 1) {
    const seen = new Map<string, number>();
    for (const c of scored) {
      const n = seen.get(c.path) ?? 0;
      c.score *= params.sameFileDecay ** n;
      seen.set(c.path, n + 1);
    }
    scored.sort((a, b) => b.score - a.score);
  }
  return scored;
}
