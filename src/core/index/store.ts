import Database from 'better-sqlite3';
import path from 'node:path';
import { isDeclarationOnly } from './declarationFile.js';

export interface FileRow {
  path: string;
  hash: string;
  size: number;
  mtimeMs: number;
  chunkCount: number;
}

export interface ChunkRow {
  label: number;
  path: string;
  startLine: number;
  endLine: number;
  hash: string;
  text: string;
}

export interface NewChunk {
  path: string;
  startLine: number;
  endLine: number;
  hash: string;
  text: string;
}

/** The committed result of one index run, applied in a single SQLite transaction. */
export interface IndexChanges {
  /** Files whose chunks are dropped (removed or changed). */
  dropPaths: string[];
  /** Files (re)indexed, with their new chunks and the labels allotted to them. */
  files: Array<{ file: FileRow; chunks: Array<NewChunk & { label: number }> }>;
  /** Files whose content is unchanged but whose stat changed. */
  touched: FileRow[];
  nextLabel: number;
  hnswChecksum: string;
}

/**
 * 2: the keyword table keeps its own copy of the text. Version 1 was contentless with
 * contentless_delete, whose deletes never reach BM25's row and token totals: every re-indexed file
 * inflated them (a full rebuild doubled them), so keyword ranking drifted as the index aged.
 * 3: files.declaration marks declaration-only files, which search damps (see declarationFile.ts).
 */
const SCHEMA_VERSION = 3;

/** Splits camelCase/PascalCase identifiers so a query for "retry delay" finds `computeRetryDelay`. */
export function identifierTerms(text: string): string {
  const words: string[] = [];
  for (const match of text.matchAll(/[A-Za-z][A-Za-z0-9]*/g)) {
    const ident = match[0];
    if (!/[a-z][A-Z]|[A-Z]{2}[a-z]/.test(ident)) continue;
    words.push(ident.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2'));
  }
  return words.join(' ');
}

/**
 * SQLite metadata of the index: files with content hashes, chunks with labels and lines, an FTS5
 * table for keyword search, and the embedding cache keyed by chunk content hash.
 */
export class IndexStore {
  readonly db: Database.Database;

  private constructor(db: Database.Database) {
    this.db = db;
  }

  static open(indexDir: string, options: { readonly?: boolean } = {}): IndexStore {
    const file = path.join(indexDir, 'index.db');
    const db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    db.pragma('busy_timeout = 5000');
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      migrate(db);
    }
    return new IndexStore(db);
  }

  close(): void {
    this.db.close();
  }

  getMeta(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    this.db
      .prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value')
      .run(key, value);
  }

  fileRows(): Map<string, FileRow> {
    const rows = this.db
      .prepare('SELECT path, hash, size, mtime_ms AS mtimeMs, chunk_count AS chunkCount FROM files')
      .all() as FileRow[];
    return new Map(rows.map((row) => [row.path, row]));
  }

  labelsForPaths(paths: string[]): number[] {
    const stmt = this.db.prepare('SELECT label FROM chunks WHERE path = ?').pluck();
    return paths.flatMap((p) => stmt.all(p) as number[]);
  }

  /** No chunk stored: one row read, where counting scans an index of every chunk. */
  isEmpty(): boolean {
    return this.db.prepare('SELECT NOT EXISTS (SELECT 1 FROM chunks)').pluck().get() === 1;
  }

  counts(): { files: number; chunks: number } {
    const files = this.db.prepare('SELECT count(*) FROM files').pluck().get() as number;
    const chunks = this.db.prepare('SELECT count(*) FROM chunks').pluck().get() as number;
    return { files, chunks };
  }

  /** Vectors already computed for these chunk hashes. */
  cachedVectors(hashes: Iterable<string>): Map<string, Float32Array> {
    const stmt = this.db.prepare('SELECT vector FROM embeddings WHERE hash = ?').pluck();
    const out = new Map<string, Float32Array>();
    for (const hash of hashes) {
      if (out.has(hash)) continue;
      const blob = stmt.get(hash) as Buffer | undefined;
      if (blob) out.set(hash, blobToVector(blob));
    }
    return out;
  }

  /** Stores fresh embeddings right away, so work survives a kill before the run commits. */
  putVectors(entries: Array<[string, Float32Array]>, run: number): void {
    const stmt = this.db.prepare(
      'INSERT INTO embeddings(hash, vector, last_used) VALUES (?, ?, ?) ON CONFLICT(hash) DO UPDATE SET last_used = excluded.last_used',
    );
    this.db.transaction(() => {
      for (const [hash, vector] of entries) stmt.run(hash, vectorToBlob(vector), run);
    })();
  }

  /** All live chunks with their vectors (for rebuilding the graph without re-embedding). */
  *liveVectors(): Generator<{ label: number; hash: string; vector: Float32Array | undefined }> {
    const rows = this.db
      .prepare(
        'SELECT c.label AS label, c.hash AS hash, e.vector AS vector FROM chunks c LEFT JOIN embeddings e ON e.hash = c.hash',
      )
      .iterate() as IterableIterator<{ label: number; hash: string; vector: Buffer | null }>;
    for (const row of rows)
      yield { label: row.label, hash: row.hash, vector: row.vector ? blobToVector(row.vector) : undefined };
  }

  /** Applies one run's changes atomically, including the checksum of the matching graph file. */
  apply(changes: IndexChanges, run: number): void {
    const deleteChunks = this.db.prepare('DELETE FROM chunks WHERE path = ? RETURNING label').pluck();
    const deleteFts = this.db.prepare('DELETE FROM chunks_fts WHERE rowid = ?');
    const deleteFile = this.db.prepare('DELETE FROM files WHERE path = ?');
    const insertChunk = this.db.prepare(
      'INSERT INTO chunks(label, path, start_line, end_line, hash, text) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const insertFts = this.db.prepare('INSERT INTO chunks_fts(rowid, path, body) VALUES (?, ?, ?)');
    const upsertFile = this.db.prepare(
      `INSERT INTO files(path, hash, size, mtime_ms, chunk_count, indexed_run) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(path) DO UPDATE SET hash = excluded.hash, size = excluded.size, mtime_ms = excluded.mtime_ms,
         chunk_count = excluded.chunk_count, indexed_run = excluded.indexed_run`,
    );
    const touchEmbedding = this.db.prepare('UPDATE embeddings SET last_used = ? WHERE hash = ?');
    const markDeclaration = this.db.prepare('UPDATE files SET declaration = ? WHERE path = ?');
    this.db.transaction(() => {
      for (const p of changes.dropPaths) {
        for (const label of deleteChunks.all(p) as number[]) deleteFts.run(label);
        deleteFile.run(p);
      }
      for (const { file, chunks } of changes.files) {
        for (const chunk of chunks) {
          insertChunk.run(chunk.label, chunk.path, chunk.startLine, chunk.endLine, chunk.hash, chunk.text);
          insertFts.run(chunk.label, pathTerms(chunk.path), keywordBody(chunk.text));
          touchEmbedding.run(run, chunk.hash);
        }
        upsertFile.run(file.path, file.hash, file.size, file.mtimeMs, file.chunkCount, run);
        markDeclaration.run(declarationFlag(file.path, chunks), file.path);
      }
      for (const file of changes.touched) {
        upsertFile.run(file.path, file.hash, file.size, file.mtimeMs, file.chunkCount, run);
      }
      this.setMeta('next_label', String(changes.nextLabel));
      this.setMeta('hnsw_checksum', changes.hnswChecksum);
      this.setMeta('last_run', String(run));
      this.setMeta('indexed_at', new Date().toISOString());
    })();
  }

  /** Drops everything but the embedding cache (which --full also clears). */
  reset(options: { clearEmbeddings: boolean }): void {
    this.db.transaction(() => {
      this.db.exec(
        "DELETE FROM chunks; DELETE FROM files; DELETE FROM chunks_fts; DELETE FROM meta WHERE key IN ('hnsw_checksum', 'next_label', 'flat_stamp')",
      );
      if (options.clearEmbeddings) this.db.exec('DELETE FROM embeddings');
    })();
  }

  /**
   * Forgets embeddings no chunk uses, oldest first, keeping a reserve so a file deleted in one run
   * and restored in a later one is not embedded again.
   */
  pruneEmbeddings(): number {
    const live = this.db.prepare('SELECT count(*) FROM chunks').pluck().get() as number;
    const unused = this.db
      .prepare('SELECT count(*) FROM embeddings WHERE hash NOT IN (SELECT hash FROM chunks)')
      .pluck()
      .get() as number;
    const keep = Math.max(2000, Math.floor(live * 0.25));
    if (unused <= keep) return 0;
    return this.db
      .prepare(
        `DELETE FROM embeddings WHERE hash IN (
           SELECT hash FROM embeddings WHERE hash NOT IN (SELECT hash FROM chunks) ORDER BY last_used ASC LIMIT ?)`,
      )
      .run(unused - keep).changes;
  }

  chunksByLabel(labels: number[]): Map<number, ChunkRow> {
    const out = new Map<number, ChunkRow>();
    if (labels.length === 0) return out;
    const rows = this.db
      .prepare(
        `SELECT label, path, start_line AS startLine, end_line AS endLine, hash, text FROM chunks
         WHERE label IN (SELECT value FROM json_each(?))`,
      )
      .all(JSON.stringify(labels)) as ChunkRow[];
    for (const row of rows) out.set(row.label, row);
    return out;
  }

  /** The labels among `labels` whose chunk is in a declaration-only file. */
  declarationLabels(labels: number[]): Set<number> {
    if (labels.length === 0) return new Set();
    const rows = this.db
      .prepare(
        `SELECT c.label FROM chunks c JOIN files f ON f.path = c.path
         WHERE f.declaration = 1 AND c.label IN (SELECT value FROM json_each(?))`,
      )
      .pluck()
      .all(JSON.stringify(labels)) as number[];
    return new Set(rows);
  }

  /** BM25 keyword search, best first; `bm25` is SQLite's score negated (larger is better). */
  keywordSearch(query: string, limit: number): Array<{ label: number; bm25: number }> {
    const match = ftsQuery(query);
    if (!match) return [];
    const rows = this.db
      .prepare(
        'SELECT rowid AS label, bm25(chunks_fts, 3.0, 1.0) AS rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?',
      )
      .all(match, limit) as Array<{ label: number; rank: number }>;
    return rows.map((r) => ({ label: r.label, bm25: -r.rank }));
  }
}

function declarationFlag(filePath: string, chunks: Array<{ text: string }>): number {
  return isDeclarationOnly(filePath, chunks.map((c) => c.text).join('\n')) ? 1 : 0;
}

/** What BM25 sees of a chunk: its text and its identifiers split into words. */
function keywordBody(text: string): string {
  return `${text}\n${identifierTerms(text)}`;
}

function pathTerms(p: string): string {
  return `${p} ${identifierTerms(p)}`;
}

/**
 * Words a question is phrased with rather than what code says: left out of the BM25 query, where
 * they would match comments and prose by accident (measured on bench:retrieval: keyword-only
 * MRR@10 0.768 -> 0.798).
 */
const STOPWORDS = new Set(
  (
    'a about after all also an and any anything are as at be before but by can could did do does doing each ' +
    'every for from get gets give goes got has have how i in into is it its just let lets like make makes ' +
    'more most much need needs not nothing now of on once only or other our out over same should so some ' +
    'such than that the then there these they thing things this those through to too under until up us ' +
    'use used uses using very was way we were what whatever when whenever where which while who why will ' +
    'with would you your'
  ).split(' '),
);

/** Turns free text into an FTS5 OR-query of quoted terms (no user syntax can break it). */
export function ftsQuery(text: string): string | undefined {
  const terms = new Set<string>();
  for (const match of text.matchAll(/[\p{L}\p{N}_]+/gu)) {
    const raw = match[0];
    for (const part of [raw, ...identifierTerms(raw).split(' ')]) {
      for (const word of part.toLowerCase().split('_')) {
        if (word.length > 1 && !STOPWORDS.has(word)) terms.add(word);
      }
    }
  }
  if (terms.size === 0) return undefined;
  return [...terms].map((t) => `"${t.replace(/"/g, '""')}"`).join(' OR ');
}

function vectorToBlob(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

function blobToVector(blob: Buffer): Float32Array {
  // Copy: the blob's memory may not be 4-byte aligned.
  const out = new Float32Array(blob.byteLength / 4);
  Buffer.from(out.buffer).set(blob);
  return out;
}

const KEYWORD_TABLE = `CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
  path, body, tokenize='porter unicode61 remove_diacritics 2'
)`;

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version >= SCHEMA_VERSION) return;
  db.transaction(() => {
    if (version === 1) db.exec('DROP TABLE IF EXISTS chunks_fts');
    if (version === 1 || version === 2) db.exec('ALTER TABLE files ADD COLUMN declaration INTEGER NOT NULL DEFAULT 0');
    db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS files (
        path TEXT PRIMARY KEY, hash TEXT NOT NULL, size INTEGER NOT NULL, mtime_ms REAL NOT NULL,
        chunk_count INTEGER NOT NULL, indexed_run INTEGER NOT NULL, declaration INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE IF NOT EXISTS chunks (
        label INTEGER PRIMARY KEY, path TEXT NOT NULL, start_line INTEGER NOT NULL, end_line INTEGER NOT NULL,
        hash TEXT NOT NULL, text TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS chunks_path ON chunks(path);
      CREATE INDEX IF NOT EXISTS chunks_hash ON chunks(hash);
      ${KEYWORD_TABLE};
      CREATE TABLE IF NOT EXISTS embeddings (hash TEXT PRIMARY KEY, vector BLOB NOT NULL, last_used INTEGER NOT NULL);
    `);
    // The keyword table is derived from the chunks: rebuilt here, with no re-embedding.
    if (version === 1) {
      const insert = db.prepare('INSERT INTO chunks_fts(rowid, path, body) VALUES (?, ?, ?)');
      const rows = db.prepare('SELECT label, path, text FROM chunks').all() as Array<{
        label: number;
        path: string;
        text: string;
      }>;
      for (const row of rows) insert.run(row.label, pathTerms(row.path), keywordBody(row.text));
    }
    // Declaration flags come from the stored chunk text: no re-chunking or re-embedding.
    if (version === 1 || version === 2) markDeclarationFiles(db);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}

function markDeclarationFiles(db: Database.Database): void {
  const mark = db.prepare('UPDATE files SET declaration = ? WHERE path = ?');
  const chunks = db.prepare('SELECT text FROM chunks WHERE path = ? ORDER BY start_line');
  for (const filePath of db.prepare('SELECT path FROM files').pluck().all() as string[]) {
    mark.run(declarationFlag(filePath, chunks.all(filePath) as Array<{ text: string }>), filePath);
  }
}
