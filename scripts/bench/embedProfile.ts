/**
 * Breaks indexing work into chunk+tokenize, inference, hnsw inserts and SQLite vector writes (a
 * diagnostic, not a target): `node dist/bench/embedProfile.js [node_modules dir] [files] [batches]`.
 * Each phase prints wall time and the process's CPU time: on a busy machine wall time is inflated
 * by waiting for a core, while the CPU time of the single-threaded phases is what they cost on a
 * quiet one (inference CPU time also counts onnxruntime's second thread and its spinning).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { chunkFile, cachedLineTokenizer } from '../../src/core/index/chunk.js';
import { createModelLoader } from '../../src/core/index/model/loader.js';
import { IndexStore } from '../../src/core/index/store.js';
import { VectorIndex } from '../../src/core/index/vectorIndex.js';
import { projectRoot } from './support/measure.js';

const dir = path.join(projectRoot, 'node_modules', process.argv[2] ?? 'kysely/dist/esm');
const files = execFileSync('find', [dir, '-name', '*.js', '-type', 'f'], { encoding: 'utf8' })
  .trim()
  .split('\n')
  .slice(0, Number(process.argv[3] ?? 300));
const batchSizes = (process.argv[4] ?? '16,32,64').split(',').map(Number);

/** Runs `work` and returns its result with wall and CPU milliseconds. */
async function timed<T>(work: () => Promise<T> | T): Promise<{ result: T; wallMs: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await work();
  const used = process.cpuUsage(cpu);
  return { result, wallMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
}

const phase = (name: string, t: { wallMs: number; cpuMs: number }, extra = '') =>
  console.log(`${name}: wall ${t.wallMs.toFixed(0)} ms, cpu ${t.cpuMs.toFixed(0)} ms${extra}`);

const model = createModelLoader({ precision: 'int8' });
const tok = await model.tokenizer();
const chunked = await timed(() => {
  const line = cachedLineTokenizer((l) => tok.tokenize(l));
  const rows: number[][] = [];
  for (const f of files) {
    const header = tok.tokenize(path.relative(dir, f));
    for (const c of chunkFile(readFileSync(f, 'utf8'), line, { budget: 254 - header.length })) {
      rows.push([tok.clsId, ...header, ...c.tokenIds, tok.sepId]);
    }
  }
  return rows.sort((a, b) => a.length - b.length);
});
const rows = chunked.result;
const tokens = rows.reduce((n, r) => n + r.length, 0);
console.log(`files ${files.length}, chunks ${rows.length}, tokens ${tokens}, avg ${(tokens / rows.length).toFixed(0)}`);
phase('read+chunk+tokenize', chunked);
const session = await timed(() => model.embedder());
phase('session', session);
for (const bs of batchSizes) {
  const embedded = await timed(async () => {
    const vectors: Float32Array[] = [];
    for (let i = 0; i < rows.length; i += bs) vectors.push(...(await session.result.embedIds(rows.slice(i, i + bs))));
    return vectors;
  });
  phase(`inference batch ${bs}`, embedded, ` → ${(tokens / (embedded.wallMs / 1000)).toFixed(0)} tokens/s wall`);
  const vectors = embedded.result;
  const inserted = await timed(() => {
    const index = VectorIndex.create(384, rows.length);
    vectors.forEach((v, i) => index.add(i, v));
  });
  phase(
    `hnsw insert ${vectors.length}`,
    inserted,
    ` → ${(vectors.length / (inserted.cpuMs / 1000)).toFixed(0)}/s of cpu`,
  );
  const store = IndexStore.open(mkdtempSync(path.join(os.tmpdir(), 'aidb-profile-')));
  const written = await timed(() => {
    for (let i = 0; i < vectors.length; i += 512)
      store.putVectors(
        vectors.slice(i, i + 512).map((v, j) => [`h${bs}-${i + j}`, v]),
        1,
      );
  });
  store.close();
  phase(`sqlite putVectors ${vectors.length}`, written);
}
await model.close();
