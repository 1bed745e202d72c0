import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IndexStore, type IndexChanges } from '../src/core/index/store.js';

const FILES: Record<string, string[]> = {
  'src/retry.ts': ['export function computeRetryDelay(attempt: number) {', '  return 2 ** attempt * 100;', '}'],
  'src/cache.ts': ['export class LruCache {', '  evict() { this.entries.delete(this.oldest()); }', '}'],
  'src/auth.ts': ['export function hashPassword(password: string) {', '  return scrypt(password, salt);', '}'],
};

let nextLabel = 1;

/** One index run that (re)writes the given files, each as one chunk per line. */
function changes(paths: string[], drop: boolean): IndexChanges {
  return {
    dropPaths: drop ? paths : [],
    files: paths.map((p) => ({
      file: { path: p, hash: `h-${p}`, size: 1, mtimeMs: 1, chunkCount: FILES[p]!.length },
      chunks: FILES[p]!.map((text, i) => ({
        label: nextLabel++,
        path: p,
        startLine: i + 1,
        endLine: i + 1,
        hash: `${p}:${i}`,
        text,
      })),
    })),
    touched: [],
    nextLabel,
    hnswChecksum: 'x',
  };
}

function freshStore(): IndexStore {
  return IndexStore.open(mkdtempSync(path.join(os.tmpdir(), 'aidb-fts-')));
}

const QUERY = 'retry delay attempt';

function scores(store: IndexStore): number[] {
  return store.keywordSearch(QUERY, 10).map((hit) => hit.bm25);
}

describe('keyword table', () => {
  it('keeps BM25 statistics exact when files are re-indexed and the index is reset', () => {
    const fresh = freshStore();
    fresh.apply(changes(Object.keys(FILES), false), 1);
    const expected = scores(fresh);
    expect(expected.length).toBeGreaterThan(0);

    const aged = freshStore();
    aged.apply(changes(Object.keys(FILES), false), 1);
    for (let run = 2; run < 8; run++) aged.apply(changes(['src/retry.ts', 'src/cache.ts'], true), run);
    aged.reset({ clearEmbeddings: false });
    aged.apply(changes(Object.keys(FILES), false), 9);
    const actual = scores(aged);
    expect(actual).toHaveLength(expected.length);
    actual.forEach((score, i) => expect(score).toBeCloseTo(expected[i]!, 9));
    fresh.close();
    aged.close();
  });

  it('rebuilds the keyword table of a version-1 index from its chunks, without touching embeddings', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aidb-fts-v1-'));
    const db = new Database(path.join(dir, 'index.db'));
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE files (path TEXT PRIMARY KEY, hash TEXT NOT NULL, size INTEGER NOT NULL, mtime_ms REAL NOT NULL,
        chunk_count INTEGER NOT NULL, indexed_run INTEGER NOT NULL);
      CREATE TABLE chunks (label INTEGER PRIMARY KEY, path TEXT NOT NULL, start_line INTEGER NOT NULL,
        end_line INTEGER NOT NULL, hash TEXT NOT NULL, text TEXT NOT NULL);
      CREATE VIRTUAL TABLE chunks_fts USING fts5(path, body, content='', contentless_delete=1,
        tokenize='porter unicode61 remove_diacritics 2');
      CREATE TABLE embeddings (hash TEXT PRIMARY KEY, vector BLOB NOT NULL, last_used INTEGER NOT NULL);
      PRAGMA user_version = 1;
    `);
    const insertChunk = db.prepare('INSERT INTO chunks VALUES (?, ?, 1, 1, ?, ?)');
    const insertFts = db.prepare('INSERT INTO chunks_fts(rowid, path, body) VALUES (?, ?, ?)');
    let label = 100;
    for (const [p, lines] of Object.entries(FILES)) {
      for (const text of lines) {
        // A deleted generation first: its totals stay behind in a contentless_delete table.
        insertFts.run(label + 1000, p, text);
        db.prepare('DELETE FROM chunks_fts WHERE rowid = ?').run(label + 1000);
        insertChunk.run(label, p, `h${label}`, text);
        insertFts.run(label++, p, text);
      }
    }
    db.prepare('INSERT INTO embeddings VALUES (?, ?, 1)').run('h100', Buffer.alloc(16));
    db.close();

    const migrated = IndexStore.open(dir);
    expect(migrated.db.pragma('user_version', { simple: true })).toBe(3);
    expect(migrated.counts().chunks).toBe(9);
    expect(migrated.cachedVectors(['h100']).size).toBe(1);
    const hits = migrated.keywordSearch(QUERY, 10);
    expect(migrated.chunksByLabel([hits[0]!.label]).get(hits[0]!.label)?.path).toBe('src/retry.ts');
    // Split identifiers are searchable again, as in a fresh index.
    expect(migrated.keywordSearch('lru', 10).length).toBeGreaterThan(0);

    const fresh = freshStore();
    fresh.apply(changes(Object.keys(FILES), false), 1);
    scores(migrated).forEach((score, i) => expect(score).toBeCloseTo(scores(fresh)[i]!, 9));
    migrated.close();
    fresh.close();
  });
});
