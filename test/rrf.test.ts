import { describe, expect, it } from 'vitest';
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
