import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FUSION } from '../src/core/index/fusion.js';
import { asksAboutTypes, isDeclarationOnly } from '../src/core/index/declarationFile.js';
import { IndexStore } from '../src/core/index/store.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { readFixtureTree } from './helpers/fixtures.js';
import { makeGitRepo } from './helpers/repo.js';

const TYPES_MODULE = [
  "import type { Query } from './query'",
  '/** How long unused data stays in the cache. */',
  'export interface CacheOptions {',
  '  gcTime?: number',
  '}',
  'export type QueryKey = ReadonlyArray<unknown>',
  'export declare const dataTagSymbol: unique symbol',
].join('\n');

describe('isDeclarationOnly', () => {
  it.each([
    ['types/reply.d.ts', 'export function reply(): void;', true],
    ['pkg/__init__.pyi', 'def run() -> None: ...', true],
    ['src/types.ts', TYPES_MODULE, true],
    [
      'src/utils.ts',
      `${TYPES_MODULE}\nexport function hashKey(key: QueryKey) {\n  return JSON.stringify(key)\n}`,
      false,
    ],
    ['src/client.ts', `${TYPES_MODULE}\nexport class QueryClient {}`, false],
    ['src/defaults.ts', `${TYPES_MODULE}\nexport const defaults: CacheOptions = {}`, false],
    ['src/main.ts', `${TYPES_MODULE}\nexport default createClient()`, false],
    // A barrel of re-exports declares no type of its own: left alone.
    ['src/index.ts', "export { QueryClient } from './queryClient'\nexport * from './types'", false],
    // Plain JavaScript and Python are implementations whatever they hold.
    ['lib/route.js', 'module.exports = { route }', false],
    ['src/app.py', 'class App:\n    pass', false],
  ])('%s → %s', (file, text, expected) => {
    expect(isDeclarationOnly(file, text)).toBe(expected);
  });
});

describe('asksAboutTypes', () => {
  it.each([
    ["typescript generics for the route's Body", true],
    ['type of the options object a query takes', true],
    ['the Props interface of the button', true],
    ['refetch when the browser tab becomes visible again', false],
    ['typeahead suggestions while typing', false],
  ])('%s → %s', (query, expected) => {
    expect(asksAboutTypes(query)).toBe(expected);
  });
});

const CHUNKS: Array<[string, string]> = [
  ['src/types.ts', TYPES_MODULE],
  ['types/retry.d.ts', 'export declare function retry(attempts: number): Promise<void>;'],
  ['src/retry.ts', 'export function retry(attempts: number) {\n  return wait(2 ** attempts)\n}'],
];

function declarationPaths(store: IndexStore): string[] {
  const labels = CHUNKS.map((_, i) => i + 1);
  const rows = store.chunksByLabel([...store.declarationLabels(labels)]);
  return [...rows.values()].map((r) => r.path).sort();
}

describe('declaration flags in the index store', () => {
  it('marks declaration-only files when they are indexed, and unmarks one that gains code', () => {
    const store = IndexStore.open(mkdtempSync(path.join(os.tmpdir(), 'aidb-decl-')));
    const file = (p: string) => ({ path: p, hash: `h-${p}`, size: 1, mtimeMs: 1, chunkCount: 1 });
    store.apply(
      {
        dropPaths: [],
        files: CHUNKS.map(([p, text], i) => ({
          file: file(p),
          chunks: [{ label: i + 1, path: p, startLine: 1, endLine: 3, hash: `c${i}`, text }],
        })),
        touched: [],
        nextLabel: 4,
        hnswChecksum: 'x',
      },
      1,
    );
    expect(declarationPaths(store)).toEqual(['src/types.ts', 'types/retry.d.ts']);

    const text = `${TYPES_MODULE}\nexport const defaults = {}`;
    store.apply(
      {
        dropPaths: ['src/types.ts'],
        files: [
          {
            file: file('src/types.ts'),
            chunks: [{ label: 1, path: 'src/types.ts', startLine: 1, endLine: 8, hash: 'c9', text }],
          },
        ],
        touched: [file('types/retry.d.ts')],
        nextLabel: 4,
        hnswChecksum: 'y',
      },
      2,
    );
    expect(declarationPaths(store)).toEqual(['types/retry.d.ts']);
    store.close();
  });

  it('flags the files of a version-2 index from its stored chunks when it is opened (no re-embedding)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aidb-decl-v2-'));
    const db = new Database(path.join(dir, 'index.db'));
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE files (path TEXT PRIMARY KEY, hash TEXT NOT NULL, size INTEGER NOT NULL, mtime_ms REAL NOT NULL,
        chunk_count INTEGER NOT NULL, indexed_run INTEGER NOT NULL);
      CREATE TABLE chunks (label INTEGER PRIMARY KEY, path TEXT NOT NULL, start_line INTEGER NOT NULL,
        end_line INTEGER NOT NULL, hash TEXT NOT NULL, text TEXT NOT NULL);
      CREATE VIRTUAL TABLE chunks_fts USING fts5(path, body, tokenize='porter unicode61 remove_diacritics 2');
      CREATE TABLE embeddings (hash TEXT PRIMARY KEY, vector BLOB NOT NULL, last_used INTEGER NOT NULL);
      PRAGMA user_version = 2;
    `);
    CHUNKS.forEach(([p, text], i) => {
      db.prepare('INSERT INTO files VALUES (?, ?, 1, 1, 1, 1)').run(p, `h${i}`);
      db.prepare('INSERT INTO chunks VALUES (?, ?, 1, 3, ?, ?)').run(i + 1, p, `c${i}`, text);
      db.prepare('INSERT INTO chunks_fts(rowid, path, body) VALUES (?, ?, ?)').run(i + 1, p, text);
    });
    db.prepare('INSERT INTO embeddings VALUES (?, ?, 1)').run('c0', Buffer.alloc(16));
    db.close();

    const store = IndexStore.open(dir);
    expect(store.db.pragma('user_version', { simple: true })).toBe(3);
    expect(declarationPaths(store)).toEqual(['src/types.ts', 'types/retry.d.ts']);
    expect(store.cachedVectors(['c0']).size).toBe(1);
    expect(store.keywordSearch('retry attempts', 10).length).toBe(2);
    store.close();
  });
});

const RETRY_DECLARATIONS = `/** Options of the retrying HTTP client. */
export interface RetryOptions {
  /** How many times a failed request is tried again before the error is thrown. */
  retries: number;
  /** The wait before the first retry; each later wait doubles, with random jitter, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Waits longer after each failed attempt (exponential backoff with jitter) and tries the request again. */
export declare function withRetries<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T>;
`;

describe('search damps declaration files through bin/ (real model, hnswlib, SQLite)', () => {
  const env = cliEnv();
  let root: string;
  interface ExplainedHit {
    path: string;
    score: number;
    explain: { vectorRank?: number; keywordRank?: number; declarationFactor?: number };
  }
  const search = (query: string): ExplainedHit[] => {
    const res = runCli(['search', query, '--explain', '--json', '-k', '5'], { cwd: root, env });
    expect(res.code, res.stderr).toBe(0);
    return res.json.results as ExplainedHit[];
  };
  const fused = (hit: ExplainedHit, vectorShare: number) => {
    const part = (rank: number | undefined) => (rank === undefined ? 0 : 1 / (DEFAULT_FUSION.rrfK + rank));
    return 2 * (vectorShare * part(hit.explain.vectorRank) + (1 - vectorShare) * part(hit.explain.keywordRank));
  };

  beforeAll(() => {
    const sample = readFixtureTree('sample-repo');
    root = makeGitRepo({
      'src/http/retry.ts': sample['src/http/retry.ts']!,
      'src/cache/lru.ts': sample['src/cache/lru.ts']!,
      'types/retry.d.ts': RETRY_DECLARATIONS,
    });
    const res = runCli(['index', '--json'], { cwd: root, env });
    expect(res.code, res.stderr).toBe(0);
  });

  it('ranks the implementation above the declarations that describe it, and says why', () => {
    const hits = search('wait longer after each failed attempt before trying the request again');
    expect(hits[0]!.path).toBe('src/http/retry.ts');
    const declaration = hits.find((h) => h.path === 'types/retry.d.ts')!;
    expect(declaration.explain.declarationFactor).toBe(DEFAULT_FUSION.declarationWeight);
    expect(declaration.score).toBeCloseTo(
      DEFAULT_FUSION.declarationWeight * fused(declaration, DEFAULT_FUSION.plainVectorWeight),
      12,
    );
    for (const hit of hits.filter((h) => h.path !== 'types/retry.d.ts')) {
      expect(hit.explain.declarationFactor).toBeUndefined();
      expect(hit.score).toBeCloseTo(fused(hit, DEFAULT_FUSION.plainVectorWeight), 12);
    }
    const human = runCli(['search', 'wait longer after each failed attempt', '--explain'], { cwd: root, env });
    expect(human.stdout).toMatch(
      /types\/retry\.d\.ts:\d+-\d+ {2}\(score [\d.]+\)\n {4}\[.* · declarations only ×0\.7 · fused/,
    );
  });

  it('leaves declaration files alone when the query asks about types', () => {
    const hits = search('type of the retry options');
    const declaration = hits.find((h) => h.path === 'types/retry.d.ts')!;
    expect(declaration.explain.declarationFactor).toBeUndefined();
    expect(declaration.score).toBeCloseTo(fused(declaration, DEFAULT_FUSION.plainVectorWeight), 12);
  });
});
