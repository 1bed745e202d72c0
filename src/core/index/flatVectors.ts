import { closeSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Int8Scan } from './int8Scan.js';
import type { IndexStore } from './store.js';
import { commitPendingFile, type VectorHit } from './vectorIndex.js';

export const FLAT_VECTORS_FILE = 'vectors.i8';
const MAGIC = 'AIDBI8v1';
const HEADER_BYTES = 16; // magic, dims (u32), count (u32)
/** Rows the int8 scan picks per hit wanted, for the float query to re-score (see `nearest`). */
const CANDIDATES_PER_HIT = 4;

/** Quantises a vector into `codes` at `offset` (v ≈ code × scale, codes in [-127, 127]); returns the scale. */
function quantizeInto(vector: Float32Array, codes: Int8Array, offset: number): number {
  let max = 0;
  for (let d = 0; d < vector.length; d++) max = Math.max(max, Math.abs(vector[d]!));
  const scale = max > 0 ? max / 127 : 1;
  for (let d = 0; d < vector.length; d++) codes[offset + d] = Math.round(vector[d]! / scale);
  return scale;
}

/**
 * Every live vector as int8 codes with one scale per vector, next to the graph: a quarter of its
 * size and read in one call, so a one-query `search` scans it exactly instead of loading the whole
 * hnsw graph (0.68 s at 100k chunks). Layout: header, labels (i32 × n), scales (f32 × n),
 * codes (i8 × n × dims). Written to `.next`, fsynced and renamed.
 */
export function writeFlatFile(
  file: string,
  dims: number,
  rows: { labels: Int32Array; scales: Float32Array; codes: Int8Array },
) {
  const n = rows.labels.length;
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(MAGIC, 0, 'latin1');
  header.writeUInt32LE(dims, 8);
  header.writeUInt32LE(n, 12);
  const fd = openSync(`${file}.next`, 'w');
  try {
    for (const part of [header, rows.labels, rows.scales, rows.codes.subarray(0, n * dims)]) writeSync(fd, part);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  commitPendingFile(file);
}

/** What a run changed, so the flat file is patched (read, filtered, appended) instead of rebuilt from SQLite. */
export class FlatVectorChanges {
  private readonly added: Array<{ label: number; scale: number; codes: Int8Array }> = [];
  private readonly dropped = new Set<number>();

  /** `baseIsCurrent`: the file matched the last committed run when this run started. */
  constructor(
    readonly dims: number,
    readonly baseIsCurrent: boolean,
  ) {}

  add(label: number, vector: Float32Array): void {
    // Without a current base the file is rebuilt from SQLite: keeping codes would only cost memory
    // (~50 MB over a 100k-chunk first run).
    if (!this.baseIsCurrent) return;
    const codes = new Int8Array(this.dims);
    this.added.push({ label, scale: quantizeInto(vector, codes, 0), codes });
  }

  drop(label: number): void {
    this.dropped.add(label);
  }

  /** The base's rows minus dropped labels, plus the added ones. */
  applyTo(base: FlatVectors | undefined) {
    const keep: number[] = [];
    if (base) for (let i = 0; i < base.labels.length; i++) if (!this.dropped.has(base.labels[i]!)) keep.push(i);
    const n = keep.length + this.added.length;
    const rows = { labels: new Int32Array(n), scales: new Float32Array(n), codes: new Int8Array(n * this.dims) };
    keep.forEach((i, r) => {
      if (!base) return;
      rows.labels[r] = base.labels[i]!;
      rows.scales[r] = base.scales[i]!;
      rows.codes.set(base.codes.subarray(i * this.dims, (i + 1) * this.dims), r * this.dims);
    });
    this.added.forEach((row, j) => {
      const r = keep.length + j;
      rows.labels[r] = row.label;
      rows.scales[r] = row.scale;
      rows.codes.set(row.codes, r * this.dims);
    });
    return rows;
  }
}

/** Whether the flat file is the one written for the last committed run. */
export function flatVectorsCurrent(store: IndexStore, indexDir: string): boolean {
  const stamp = store.getMeta('flat_stamp');
  const file = path.join(indexDir, FLAT_VECTORS_FILE);
  return stamp !== undefined && stamp === flatVectorsStamp(file, store.getMeta('last_run') ?? '0');
}

/**
 * Brings the flat file up to the last committed run: patched with this run's changes when it was
 * current at the start, else rebuilt from SQLite's live vectors (first run, or a kill left it
 * stale or missing). Search trusts the file only by its stamp in SQLite.
 */
export function refreshFlatVectors(store: IndexStore, indexDir: string, changes: FlatVectorChanges): void {
  if (flatVectorsCurrent(store, indexDir)) return;
  const file = path.join(indexDir, FLAT_VECTORS_FILE);
  const base = changes.baseIsCurrent ? readBase(file, changes.dims) : undefined;
  writeFlatFile(file, changes.dims, base ? changes.applyTo(base) : fromStore(store, changes.dims));
  store.setMeta('flat_stamp', flatVectorsStamp(file, store.getMeta('last_run') ?? '0')!);
}

function readBase(file: string, dims: number): FlatVectors | undefined {
  try {
    return FlatVectors.parse(readFileSync(file), dims);
  } catch {
    return undefined; // gone since the run started: rebuilt from SQLite instead
  }
}

function fromStore(store: IndexStore, dims: number) {
  const count = store.counts().chunks;
  const labels = new Int32Array(count);
  const scales = new Float32Array(count);
  const codes = new Int8Array(count * dims);
  let n = 0;
  for (const { label, vector } of store.liveVectors()) {
    if (!vector || vector.length !== dims || n === count) continue;
    labels[n] = label;
    scales[n] = quantizeInto(vector, codes, n * dims);
    n++;
  }
  return { labels: labels.subarray(0, n), scales: scales.subarray(0, n), codes };
}

/** Starts reading the flat file when it matches the last committed run; undefined when it does not. */
export function currentFlatVectors(
  store: IndexStore,
  indexDir: string,
  dims: number,
): Promise<FlatVectors | undefined> | undefined {
  if (!flatVectorsCurrent(store, indexDir)) return undefined;
  // A read that fails (file swapped meanwhile) falls back to the graph instead of failing the search.
  return readFile(path.join(indexDir, FLAT_VECTORS_FILE)).then(
    (bytes) => FlatVectors.parse(bytes, dims),
    () => undefined,
  );
}

/** Identifies the file version a run wrote: the run number plus size, mtime and inode. */
function flatVectorsStamp(file: string, run: string): string | undefined {
  try {
    const st = statSync(file);
    return `${run}:${st.size}:${st.mtimeMs}:${st.ino}`;
  } catch {
    return undefined;
  }
}

export class FlatVectors {
  private constructor(
    readonly dims: number,
    readonly labels: Int32Array,
    readonly scales: Float32Array,
    readonly codes: Int8Array,
  ) {}

  /** Parses a file written by writeFlatFile; undefined when it is not one (damaged, other dims). */
  static parse(bytes: Buffer, dims: number): FlatVectors | undefined {
    if (bytes.length < HEADER_BYTES || bytes.toString('latin1', 0, 8) !== MAGIC) return undefined;
    const count = bytes.readUInt32LE(12);
    if (bytes.readUInt32LE(8) !== dims || bytes.length !== HEADER_BYTES + count * (8 + dims)) return undefined;
    // Copies into aligned arrays: a Buffer's offset into its pool is not 4-byte aligned.
    const aligned = new Uint8Array(count * 8);
    aligned.set(bytes.subarray(HEADER_BYTES, HEADER_BYTES + count * 8));
    return new FlatVectors(
      dims,
      new Int32Array(aligned.buffer, 0, count),
      new Float32Array(aligned.buffer, count * 4, count),
      new Int8Array(bytes.buffer, bytes.byteOffset + HEADER_BYTES + count * 8, count * dims),
    );
  }

  get count(): number {
    return this.labels.length;
  }

  /**
   * The `n` vectors nearest to a unit query. The scan (int8 query × int8 codes, in onnxruntime) picks
   * CANDIDATES_PER_HIT × n rows; the float query then re-scores those against their codes, which
   * removes the query's quantisation error (similarity within ~1e-3 of the float vectors'). No float
   * vector is read: at 100k chunks, reading 200 from SQLite cost a cold search 70–90 ms.
   */
  async nearest(query: Float32Array, n: number, scan: Int8Scan): Promise<VectorHit[]> {
    const rows = await scan.top(this, query, n * CANDIDATES_PER_HIT);
    return rows
      .map(({ row }) => ({ label: this.labels[row]!, similarity: this.similarity(row, query) }))
      .sort((a, b) => b.similarity - a.similarity)
      .slice(0, n);
  }

  /** The float query against one row's codes: Σ query[d] × code[d] × scale. */
  private similarity(row: number, query: Float32Array): number {
    const base = row * this.dims;
    let sum = 0;
    for (let d = 0; d < this.dims; d++) sum += query[d]! * this.codes[base + d]!;
    return sum * this.scales[row]!;
  }
}
