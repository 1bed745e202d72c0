/** Breaks indexing time into tokenize/chunk, inference and graph inserts (a diagnostic, not a target). */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chunkFile, cachedLineTokenizer } from '../../src/core/index/chunk.js';
import { createModelLoader } from '../../src/core/index/model/loader.js';
import { VectorIndex } from '../../src/core/index/vectorIndex.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = path.join(projectRoot, 'node_modules', process.argv[2] ?? 'kysely/dist/esm');
const files = execFileSync('find', [dir, '-name', '*.js', '-type', 'f'], { encoding: 'utf8' })
  .trim()
  .split('\n')
  .slice(0, Number(process.argv[3] ?? 300));
const model = createModelLoader({ precision: 'int8' });
const tok = await model.tokenizer();
let t0 = performance.now();
const line = cachedLineTokenizer((l) => tok.tokenize(l));
const rows: number[][] = [];
for (const f of files) {
  const rel = path.relative(dir, f);
  const header = tok.tokenize(rel);
  for (const c of chunkFile(readFileSync(f, 'utf8'), line, { budget: 254 - header.length })) {
    rows.push([tok.clsId, ...header, ...c.tokenIds, tok.sepId]);
  }
}
const tChunk = performance.now() - t0;
const tokens = rows.reduce((n, r) => n + r.length, 0);
console.log(
  `files ${files.length}, chunks ${rows.length}, tokens ${tokens}, avg ${(tokens / rows.length).toFixed(0)}; chunk+tokenize ${tChunk.toFixed(0)} ms`,
);
rows.sort((a, b) => a.length - b.length);
t0 = performance.now();
const emb = await model.embedder();
console.log(`session ${(performance.now() - t0).toFixed(0)} ms`);
for (const bs of [16, 32, 64]) {
  t0 = performance.now();
  const vecs: Float32Array[] = [];
  for (let i = 0; i < rows.length; i += bs) vecs.push(...(await emb.embedIds(rows.slice(i, i + bs))));
  const tEmbed = performance.now() - t0;
  console.log(
    `batch ${bs}: embed ${tEmbed.toFixed(0)} ms → ${(tokens / (tEmbed / 1000)).toFixed(0)} tok/s, ${(rows.length / (tEmbed / 1000)).toFixed(1)} chunks/s`,
  );
  if (bs === 32) {
    t0 = performance.now();
    const idx = VectorIndex.create(384, rows.length);
    vecs.forEach((v, i) => idx.add(i, v));
    const tIns = performance.now() - t0;
    console.log(`hnsw insert ${vecs.length}: ${tIns.toFixed(0)} ms → ${(vecs.length / (tIns / 1000)).toFixed(0)}/s`);
  }
}
await model.close();
