import { describe, expect, it } from 'vitest';
import { DEFAULT_FUSION, fuseCandidates, namesIdentifiers, type Candidate } from '../src/core/index/fusion.js';
import { reciprocalRankFusion, RRF_K } from '../src/core/index/search.js';
import { ftsQuery, identifierTerms } from '../src/core/index/store.js';

describe('reciprocalRankFusion', () => {
  it('ranks an item found by both lists above items found by one', () => {
    const fused = reciprocalRankFusion([
      [1, 2, 3],
      [4, 3, 5],
    ]);
    expect(fused[0]!.label).toBe(3);
    expect(fused[0]!.score).toBeCloseTo(1 / (RRF_K + 3) + 1 / (RRF_K + 2), 12);
  });

  it('scores by rank only, and top ranks of each list tie', () => {
    const fused = reciprocalRankFusion([[10], [20]]);
    expect(fused.map((f) => f.score)).toEqual([1 / (RRF_K + 1), 1 / (RRF_K + 1)]);
  });

  it('returns nothing for empty rankings', () => {
    expect(reciprocalRankFusion([[], []])).toEqual([]);
  });
});

describe('keyword query building', () => {
  it('splits identifiers and drops stopwords; quotes terms so FTS syntax cannot break', () => {
    expect(identifierTerms('computeRetryDelay and HTTPServer')).toBe('compute Retry Delay HTTP Server');
    const q = ftsQuery('where is the retryDelay computed? "OR" NEAR(')!;
    expect(q).toContain('"retrydelay"');
    expect(q).toContain('"retry"');
    expect(q).toContain('"delay"');
    expect(q).not.toContain('"the"');
    expect(q).toContain('"near"');
    expect(ftsQuery('the is a ?')).toBeUndefined();
  });
});

describe('fuseCandidates', () => {
  // Chunk 1 is the vector list's best and keyword's 5th; chunk 2 the reverse.
  const candidates: Candidate[] = [
    { label: 1, vectorRank: 1, similarity: 0.8, keywordRank: 5, bm25: 4 },
    { label: 2, vectorRank: 5, similarity: 0.6, keywordRank: 1, bm25: 9 },
    { label: 3, keywordRank: 2, bm25: 8 },
  ];

  it('weighs both rankings equally for queries that name identifiers', () => {
    const fused = fuseCandidates(candidates, 'where is computeRetryDelay', DEFAULT_FUSION);
    const k = DEFAULT_FUSION.rrfK;
    expect(fused.find((c) => c.label === 1)!.score).toBeCloseTo(1 / (k + 1) + 1 / (k + 5), 12);
    expect(fused.find((c) => c.label === 2)!.score).toBeCloseTo(fused.find((c) => c.label === 1)!.score, 12);
    expect(fused.find((c) => c.label === 3)!.score).toBeCloseTo(1 / (k + 2), 12);
  });

  it('gives the vector ranking more say for plain-language queries', () => {
    const fused = fuseCandidates(candidates, 'where is the wait between retries worked out', DEFAULT_FUSION);
    expect(fused.map((c) => c.label)).toEqual([1, 2, 3]);
    const keywordHeavy = fuseCandidates(candidates, 'wait between retries', {
      ...DEFAULT_FUSION,
      plainVectorWeight: 0.2,
    });
    expect(keywordHeavy[0]!.label).toBe(2);
  });

  it('damps a declaration-only file unless the query is about types, and says by how much', () => {
    const withDeclaration: Candidate[] = [
      { label: 1, vectorRank: 1, keywordRank: 1, declaration: true },
      { label: 2, vectorRank: 2, keywordRank: 2 },
    ];
    const params = { ...DEFAULT_FUSION, declarationWeight: 0.7 };
    const k = params.rrfK;
    const behaviour = fuseCandidates(withDeclaration, 'retry a failed request', params);
    expect(behaviour.map((c) => c.label)).toEqual([2, 1]);
    expect(behaviour[1]).toMatchObject({ declarationFactor: 0.7 });
    expect(behaviour[1]!.score).toBeCloseTo(0.7 * 2 * (1 / (k + 1)), 12);
    expect(behaviour[0]!.declarationFactor).toBeUndefined();
    const types = fuseCandidates(withDeclaration, 'type of the retry options', params);
    expect(types.map((c) => c.label)).toEqual([1, 2]);
    expect(types[0]!.declarationFactor).toBeUndefined();
    expect(
      fuseCandidates(withDeclaration, 'retry a failed request', { ...params, declarationWeight: 1 })[0]!.label,
    ).toBe(1);
  });

  it('keeps each ranking input on the result, so results can explain themselves', () => {
    const [first] = fuseCandidates(candidates, 'plain words');
    expect(first).toMatchObject({ label: 1, vectorRank: 1, similarity: 0.8, keywordRank: 5, bm25: 4 });
  });
});

describe('namesIdentifiers', () => {
  it.each([
    ['computeRetryDelay', true],
    ['from_prefixed_env values', true],
    ['FLASK_ prefix', true],
    ['app.config lookups', true],
    ['what does render() do', true],
    ['the --version flag', true],
    ['serialize to JSON', true],
    ['tell the client to go to another URL', true],
    ['show temporary data while loading', false],
    ["open the user's text editor", false],
    ['run hooks when the client hangs up', false],
  ])('%s → %s', (query, expected) => {
    expect(namesIdentifiers(query)).toBe(expected);
  });
});
