import { describe, expect, it } from 'vitest';
import { chunkFile, cachedLineTokenizer } from '../src/core/index/chunk.js';

/** One token per whitespace-separated word: enough to test the chunker's arithmetic. */
const wordTokenizer = (line: string) =>
  line
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => w.length);

function lines(n: number, make: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => make(i)).join('\n');
}

describe('chunkFile', () => {
  it('keeps every chunk within the token budget and covers every non-blank line', () => {
    const text = lines(300, (i) => (i % 7 === 0 ? '' : `word${i} `.repeat((i % 5) + 1)));
    const chunks = chunkFile(text, wordTokenizer, { budget: 40 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) expect(c.tokenIds.length).toBeLessThanOrEqual(40);
    const covered = new Set<number>();
    for (const c of chunks) for (let l = c.startLine; l <= c.endLine; l++) covered.add(l);
    text.split('\n').forEach((line, i) => {
      if (line.trim()) expect(covered.has(i + 1)).toBe(true);
    });
  });

  it('reports 1-based inclusive line numbers matching the text', () => {
    const text = 'a b\nc d\n\ne f\n';
    const [chunk] = chunkFile(text, wordTokenizer, { budget: 100 });
    expect(chunk).toMatchObject({ startLine: 1, endLine: 4, text: 'a b\nc d\n\ne f' });
  });

  it('prefers to cut before a top-level declaration', () => {
    const fn = (name: string) => [`function ${name}() {`, ...Array.from({ length: 6 }, () => '  x y z'), '}', ''];
    const text = [...fn('alpha'), ...fn('beta'), ...fn('gamma')].join('\n');
    // Each function is 2 + 6*3 + 1 = 21 tokens; a budget of 50 fits two but the cut must land on a boundary.
    const chunks = chunkFile(text, wordTokenizer, { budget: 50 });
    for (const c of chunks) expect(c.text.split('\n')[0]).toMatch(/^function /);
    expect(chunks.map((c) => c.startLine)).toEqual([1, 19]);
  });

  it('overlaps a few lines when it must cut inside a block', () => {
    const text = ['class Big {', ...Array.from({ length: 40 }, (_, i) => `  line ${i} a b`), '}'].join('\n');
    const chunks = chunkFile(text, wordTokenizer, { budget: 30, overlapLines: 2 });
    expect(chunks.length).toBeGreaterThan(2);
    for (let i = 1; i < chunks.length; i++) {
      expect(chunks[i]!.startLine).toBe(chunks[i - 1]!.endLine - 1);
    }
  });

  it('gives an over-long single line its own truncated chunk', () => {
    const text = `short line\n${'tok '.repeat(500)}\nanother short line`;
    const chunks = chunkFile(text, wordTokenizer, { budget: 64 });
    const long = chunks.find((c) => c.startLine === 2)!;
    expect(long.endLine).toBe(2);
    expect(long.tokenIds).toHaveLength(64);
    expect(long.text.length).toBeGreaterThan(1500);
  });

  it('hashes by content, so identical code in two files shares a hash', () => {
    const a = chunkFile('const x = 1;\nconst y = 2;', wordTokenizer, { budget: 50 });
    const b = chunkFile('const x = 1;\nconst y = 2;\n', wordTokenizer, { budget: 50 });
    expect(a[0]!.hash).toBe(b[0]!.hash);
    expect(chunkFile('const x = 3;', wordTokenizer, { budget: 50 })[0]!.hash).not.toBe(a[0]!.hash);
  });

  it('memoises line tokenisation by trimmed text', () => {
    let calls = 0;
    const tok = cachedLineTokenizer((line) => {
      calls++;
      return wordTokenizer(line);
    });
    tok('  return x;');
    tok('return x;   ');
    expect(calls).toBe(1);
  });
});
