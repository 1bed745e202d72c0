import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAT_VECTORS_FILE, FlatVectorChanges, FlatVectors, writeFlatFile } from '../src/core/index/flatVectors.js';
import { Int8Scan } from '../src/core/index/int8Scan.js';
import { shuffleWithSeed } from '../scripts/bench/support/measure.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { readFixtureTree } from './helpers/fixtures.js';
import { makeGitRepo } from './helpers/repo.js';

const DIMS = 384;

/** Deterministic unit vectors clustered around a few directions, like embeddings of related code. */
function unitVectors(count: number, seed: number): Float32Array[] {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
  const centres = Array.from({ length: 8 }, () => Float32Array.from({ length: DIMS }, rand));
  return Array.from({ length: count }, (_, i) => {
    const v = Float32Array.from(centres[i % 8]!, (c) => c + 0.6 * rand());
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
}

type Ranked = Array<{ at: string; similarity: number }>;

/** Same chunks in the same order; similarities within 0.002 (the flat path scores against int8 codes). */
function expectSameRanking(actual: Ranked, expected: Ranked) {
  expect(actual.map((h) => h.at)).toEqual(expected.map((h) => h.at));
  actual.forEach((h, i) => expect(Math.abs(h.similarity - expected[i]!.similarity)).toBeLessThan(0.002));
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, d) => sum + x * b[d]!, 0);

describe('flat int8 vector file', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aidb-flat-'));
  const file = path.join(dir, FLAT_VECTORS_FILE);
  const vectors = unitVectors(3000, 7);
  let flat: FlatVectors;
  let scan: Int8Scan;

  const read = (f: string, dims = DIMS) => FlatVectors.parse(readFileSync(f), dims);

  afterAll(() => scan.release());

  beforeAll(async () => {
    scan = await Int8Scan.create(DIMS);
    // Labels out of order, as a run adds them.
    const changes = new FlatVectorChanges(DIMS, true);
    for (const { label, vector } of shuffleWithSeed(vectors.map((vector, i) => ({ label: i + 1, vector }))))
      changes.add(label, vector);
    writeFlatFile(file, DIMS, changes.applyTo(undefined));
    flat = read(file)!;
  });

  it('holds every vector once, at a quarter of float32 size', () => {
    expect(flat.count).toBe(3000);
    expect(readFileSync(file).length).toBe(16 + 3000 * (8 + DIMS));
    expect(existsSync(`${file}.next`)).toBe(false);
  });

  it('its top k (int8 scan, then the float query against the codes) is the exact top k, similarity within 0.002', async () => {
    let found = 0;
    let worst = 0;
    const queries = unitVectors(40, 99);
    for (const query of queries) {
      const exact = vectors.map((v) => dot(query, v));
      const top = exact
        .map((similarity, i) => ({ label: i + 1, similarity }))
        .sort((a, b) => b.similarity - a.similarity)
        .slice(0, 10);
      const hits = await flat.nearest(query, 10, scan);
      expect(hits).toHaveLength(10);
      expect(hits.map((h) => h.similarity)).toEqual([...hits.map((h) => h.similarity)].sort((a, b) => b - a));
      const labels = new Set(hits.map((h) => h.label));
      found += top.filter((h) => labels.has(h.label)).length;
      for (const hit of hits) worst = Math.max(worst, Math.abs(hit.similarity - exact[hit.label - 1]!));
    }
    expect(worst).toBeLessThan(0.002);
    // Near-ties at the 10th place may swap: all but a few of the 400 exact hits are found.
    expect(found / (queries.length * 10)).toBeGreaterThanOrEqual(0.99);
  });

  it('asked for more rows than it holds, it returns every row once; an empty file returns none', async () => {
    const small = path.join(dir, 'small');
    const changes = new FlatVectorChanges(DIMS, true);
    vectors.slice(0, 5).forEach((v, i) => changes.add(i + 1, v));
    writeFlatFile(small, DIMS, changes.applyTo(undefined));
    const hits = await read(small)!.nearest(vectors[2]!, 50, scan);
    expect(hits.map((h) => h.label).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(hits[0]!.label).toBe(3);
    // A run without a current base rebuilds the file from SQLite, so it keeps no codes of its own.
    const rebuilding = new FlatVectorChanges(DIMS, false);
    vectors.slice(0, 5).forEach((v, i) => rebuilding.add(i + 1, v));
    writeFlatFile(small, DIMS, rebuilding.applyTo(undefined));
    expect(await read(small)!.nearest(vectors[2]!, 50, scan)).toEqual([]);
  });

  it('a later run patches it: dropped labels leave, added ones join, the rest is kept byte for byte', async () => {
    const changes = new FlatVectorChanges(DIMS, true);
    for (let label = 1; label <= 100; label++) changes.drop(label);
    const [fresh] = unitVectors(1, 5);
    changes.add(5000, fresh!);
    const patched = path.join(dir, 'patched');
    writeFlatFile(patched, DIMS, changes.applyTo(flat));
    const after = read(patched)!;
    expect(after.count).toBe(2901);
    expect(new Set(after.labels).has(50)).toBe(false);
    expect((await after.nearest(fresh!, 1, scan))[0]!.label).toBe(5000);
    const i = after.labels.indexOf(2000);
    const j = flat.labels.indexOf(2000);
    expect(after.codes.subarray(i * DIMS, (i + 1) * DIMS)).toEqual(flat.codes.subarray(j * DIMS, (j + 1) * DIMS));
    expect(after.scales[i]).toBe(flat.scales[j]);
  });

  it('a damaged or foreign file reads as absent, never as vectors', () => {
    writeFileSync(path.join(dir, 'cut'), readFileSync(file).subarray(0, 5000));
    expect(read(path.join(dir, 'cut'))).toBeUndefined();
    expect(read(file, 768)).toBeUndefined();
    writeFileSync(path.join(dir, 'junk'), Buffer.alloc(16 + 8 + DIMS));
    expect(read(path.join(dir, 'junk'))).toBeUndefined();
  });
});

describe('search CLI over the flat file (real model, SQLite)', () => {
  const env = cliEnv();
  let root: string;
  let flatFile: string;
  const query = ['search', 'evict the least recently used entry', '--mode', 'vector', '--explain', '--json', '-k', '8'];
  const ranking = () => {
    const res = runCli(query, { cwd: root, env });
    expect(res.code, res.stderr).toBe(0);
    return (res.json.results as Array<{ path: string; startLine: number; explain: { similarity: number } }>).map(
      (r) => ({ at: `${r.path}:${r.startLine}`, similarity: r.explain.similarity }),
    );
  };

  beforeAll(() => {
    root = makeGitRepo(readFixtureTree('sample-repo'));
    expect(runCli(['index', '--json'], { cwd: root, env }).code).toBe(0);
    flatFile = path.join(root, '.ai-dev-bot', 'index', FLAT_VECTORS_FILE);
  });

  it('ranks as the graph does, similarities within 0.002', () => {
    expect(existsSync(flatFile)).toBe(true);
    const withFlat = ranking();
    rmSync(flatFile);
    const withGraph = ranking();
    expectSameRanking(withFlat, withGraph);
    expect(withFlat[0]!.at).toMatch(/^src\/cache\/lru\.ts:/);
  });

  it('after an edit, the patched flat file still ranks as the graph does', () => {
    appendFileSync(
      path.join(root, 'src/cache/lru.ts'),
      '\n// evict the least recently used entry when the cache is full\nexport const EVICTION = "lru";\n',
    );
    expect(runCli(['index', '--json'], { cwd: root, env }).json.filesChanged).toBe(1);
    const withFlat = ranking();
    const bytes = readFileSync(flatFile);
    rmSync(flatFile);
    expectSameRanking(withFlat, ranking());
    writeFileSync(flatFile, bytes);
  });

  it('index rewrites a missing or stale flat file even when no file changed', () => {
    rmSync(flatFile, { force: true });
    expect(runCli(['index', '--json'], { cwd: root, env }).json.filesChanged).toBe(0);
    expect(existsSync(flatFile)).toBe(true);
    // A run killed after SQLite's commit but before the flat write leaves a stamp of an older run.
    const db = new Database(path.join(root, '.ai-dev-bot', 'index', 'index.db'));
    db.prepare("UPDATE meta SET value = value + 1 WHERE key = 'last_run'").run();
    db.close();
    const stale = ranking(); // the graph answers meanwhile
    expect(stale[0]!.at).toMatch(/^src\/cache\/lru\.ts:/);
    const before = readFileSync(flatFile);
    rmSync(flatFile);
    writeFileSync(flatFile, before); // same bytes, new inode: no longer the file the stamp names
    const copied = statSync(flatFile).ino;
    runCli(['index', '--json'], { cwd: root, env });
    expect(statSync(flatFile).ino).not.toBe(copied);
    expectSameRanking(ranking(), stale);
  });
});
