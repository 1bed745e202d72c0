/**
 * Scale benchmark (`npm run bench:scale`). Builds a corpus of real code nobody here wrote (sources of
 * the project's node_modules, Go's standard library and the system's headers/Python/Perl/npm,
 * files ≤ 12 KiB, shuffled) in .bench/scale/corpus and grows it in steps (BENCH_SCALE_STEPS chunks, default 10k,20k,50k,100k).
 * At each step it measures, through the CLI where a user would:
 *  - full index from scratch: time and peak RSS (targets: peak RSS < 1 GiB),
 *  - no-op refresh over all files (target < 1 s at 20k files),
 *  - refresh after touching 1 and 100 files,
 *  - search: warm in-process p50/p99 (target p50 < 20 ms) and cold CLI (target < 500 ms),
 *  - hnsw recall@10 against exact search over the stored vectors,
 *  - index size on disk,
 * and ends with a table of how each figure grows from the first step to the last, then checks
 * hnswlib alone at BENCH_SCALE_GRAPH vectors (default 100k; synthetic, so it runs in seconds even
 * when the real corpus stopped earlier): memory, file size, load time.
 *
 * Embeddings are cached across runs in .bench/scale/embeddings-<model>.sqlite (git-ignored): a
 * step's index starts with the vectors earlier runs computed for it, so reruns cost no inference.
 * Then "full index" measures everything but inference, and the time with inference is estimated
 * from the inference rate measured in the same run (both are printed, and which is which).
 */
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import hnswlib from 'hnswlib-node';
import path from 'node:path';
import Database from 'better-sqlite3';
import { loadConfig } from '../../src/core/config.js';
import { createModelLoader } from '../../src/core/index/model/loader.js';
import type { EmbeddingModelLoader } from '../../src/core/index/model/types.js';
import { EmbedPipeline } from '../../src/core/index/embedPipeline.js';
import { IndexSearcher } from '../../src/core/index/search.js';
import { IndexStore } from '../../src/core/index/store.js';
import { openVectorIndex } from '../../src/core/index/vectorGraph.js';
import { HNSW_PARAMS, VectorIndex } from '../../src/core/index/vectorIndex.js';
import { silentReporter } from '../../src/core/reporter.js';
import { openWorkspace, type Workspace } from '../../src/core/workspace.js';
import { log, percentile, projectRoot, runCli, shuffleWithSeed, type CliRun } from './support/measure.js';

const STEPS = (process.env.BENCH_SCALE_STEPS ?? '10000,20000,50000,100000').split(',').map(Number);
/** Small enough that 100k chunks span ≥ 20k files (mean ~2.7 KB a file), as in a big monorepo. */
const MAX_FILE_BYTES = 12 * 1024;
const BATCH = 32;
const benchDir = path.join(projectRoot, '.bench', 'scale');
const corpusDir = path.join(benchDir, 'corpus');
/** Marks this run's edits, so the touched files' new chunks are really embedded (not bench-cached). */
const runId = Date.now().toString(36);

/** Path segments the indexer treats as vendored/build output: renamed so the copies are indexed. */
const VENDORED_SEGMENTS = new Set(
  'node_modules bower_components vendor third_party third-party .venv venv site-packages __pycache__ dist build out target .next coverage .git .ai-dev-bot'.split(
    ' ',
  ),
);

interface SourceFile {
  from: string;
  to: string;
  size: number;
}

function walk(dir: string, onFile: (file: string, size: number) => void): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, onFile);
    else if (entry.isFile()) onFile(full, statSync(full).size);
  }
}

function corpusPath(rel: string): string {
  return rel
    .split(path.sep)
    .map((s) => (VENDORED_SEGMENTS.has(s) ? `${s}_` : s))
    .join(path.sep);
}

/** Go's own sources (GOROOT/src), when Go is installed: ~6k files of real code in another language. */
function goRoot(): string {
  try {
    return path.join(execFileSync('go', ['env', 'GOROOT'], { encoding: 'utf8' }).trim(), 'src');
  } catch {
    return '/nonexistent';
  }
}

/**
 * Where the corpus comes from: the project's node_modules, Go's standard library and the system's
 * own sources (headers, Python, Perl, npm), whichever exist. Not the .venv folders: they exist only
 * after the test setup, and a corpus that changes with them would miss the embedding cache.
 * `rel` maps a file to its path in the corpus, or undefined to leave it out.
 */
const SOURCE_ROOTS: Array<{ dir: string; ext: RegExp; rel: (relPath: string) => string | undefined }> = [
  { dir: path.join(projectRoot, 'node_modules'), ext: /\.(m?js|cjs|ts|md)$/, rel: (r) => path.join('js', r) },
  { dir: '/usr/lib/node_modules', ext: /\.(m?js|cjs|ts|md)$/, rel: (r) => path.join('sys-js', r) },
  { dir: '/usr/include', ext: /\.h$/, rel: (r) => path.join('sys-include', r) },
  { dir: '/usr/lib/python3', ext: /\.py$/, rel: (r) => path.join('sys-py', r) },
  { dir: '/usr/share/perl5', ext: /\.pm$/, rel: (r) => path.join('sys-perl', r) },
  { dir: goRoot(), ext: /\.go$/, rel: (r) => path.join('go', r) },
];

/** Every candidate source file, in a fixed pseudo-random order (so steps mix languages and packages). */
function listSources(): SourceFile[] {
  const byTarget = new Map<string, SourceFile>();
  for (const root of SOURCE_ROOTS) {
    if (!existsSync(root.dir)) continue;
    walk(root.dir, (file, size) => {
      if (size === 0 || size > MAX_FILE_BYTES || !root.ext.test(file)) return;
      const rel = root.rel(path.relative(root.dir, file));
      if (rel !== undefined) byTarget.set(corpusPath(rel), { from: file, to: corpusPath(rel), size });
    });
  }
  const files = [...byTarget.values()].sort((a, b) => (a.to < b.to ? -1 : 1));
  return shuffleWithSeed(files, 14);
}

/** The bench's own embedding cache: vectors by chunk hash, with the first step that needed them. */
function openCache(model: EmbeddingModelLoader): { file: string; db: Database.Database } {
  const file = path.join(benchDir, `embeddings-${model.id.replace(/[^\w.-]+/g, '_')}.sqlite`);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE IF NOT EXISTS vectors (hash TEXT PRIMARY KEY, vector BLOB NOT NULL, step INTEGER NOT NULL)');
  return { file, db };
}

/**
 * BENCH_SCALE_REEMBED=<hex digit>: the cached vectors whose chunk hash starts with it (1/16 of them)
 * are left out of the prefill, so a rerun's full index still embeds that share: its peak RSS then
 * includes the live inference sessions, not only the index's data.
 */
const REEMBED_PREFIX = process.env.BENCH_SCALE_REEMBED ?? '';

/** Starts an empty index that already holds the cached vectors of steps up to `step`. */
function prefillIndex(ws: Workspace, cacheFile: string, step: number): number {
  rmSync(ws.stateDir, { recursive: true, force: true });
  mkdirSync(ws.indexDir, { recursive: true });
  const store = IndexStore.open(ws.indexDir);
  try {
    store.db.prepare('ATTACH DATABASE ? AS cache').run(cacheFile);
    const copied = store.db
      .prepare(
        'INSERT INTO embeddings(hash, vector, last_used) SELECT hash, vector, 0 FROM cache.vectors WHERE step <= ? ' +
          "AND (? = '' OR substr(hash, 1, 1) <> ?)",
      )
      .run(step, REEMBED_PREFIX, REEMBED_PREFIX).changes;
    store.db.exec('DETACH DATABASE cache');
    return copied;
  } finally {
    store.close();
  }
}

function saveToCache(cache: Database.Database, ws: Workspace, step: number): number {
  cache.prepare('ATTACH DATABASE ? AS idx').run(path.join(ws.indexDir, 'index.db'));
  const added = cache
    .prepare('INSERT OR IGNORE INTO vectors(hash, vector, step) SELECT hash, vector, ? FROM idx.embeddings')
    .run(step).changes;
  cache.exec('DETACH DATABASE idx');
  return added;
}

function dirBytes(dir: string): number {
  let total = 0;
  walk(dir, (_file, size) => (total += size));
  return total;
}

/**
 * Inference only, as `index` runs it (its sessions in workers, its batch size and rows in flight):
 * chunks/s over a random sample of the index's chunks.
 */
async function inferenceRate(
  ws: Workspace,
  model: EmbeddingModelLoader,
  batchSize: number | undefined,
): Promise<number> {
  const store = IndexStore.open(ws.indexDir);
  const rows = store.db.prepare('SELECT path, text FROM chunks ORDER BY random() LIMIT 512').all() as Array<{
    path: string;
    text: string;
  }>;
  store.close();
  const tokenizer = await model.tokenizer();
  const ids = rows
    .map((r) => [
      tokenizer.clsId,
      ...[...tokenizer.tokenize(r.path), ...tokenizer.tokenize(r.text)].slice(0, 254),
      tokenizer.sepId,
    ])
    .sort((a, b) => a.length - b.length);
  const embedder = await model.bulkEmbedder(); // loaded before timing
  const pipeline = new EmbedPipeline({ load: async () => embedder, batchSize, onVector: () => {} });
  const started = performance.now();
  for (const [i, row] of ids.entries()) await pipeline.add(String(i), row);
  await pipeline.finish();
  return ids.length / ((performance.now() - started) / 1000);
}

const QUERIES = [
  'where is the retry delay computed',
  'parse command line arguments',
  'read a config file and merge defaults',
  'http request with timeout',
  'escape html entities',
  'walk a directory recursively',
  'compare semantic versions',
  'format a date as iso string',
  'abort signal cancels the operation',
  'tokenize source code into lines',
];

async function warmSearch(ws: Workspace, model: EmbeddingModelLoader): Promise<number[]> {
  const searcher = IndexSearcher.open(ws, model, silentReporter, { needVectors: true });
  await searcher.search('warm up', 10, 'hybrid');
  const latencies: number[] = [];
  for (let round = 0; round < 10; round++) {
    for (const q of QUERIES) {
      const started = performance.now();
      await searcher.search(`${q} ${round}`, 10, 'hybrid');
      latencies.push(performance.now() - started);
    }
  }
  searcher.close();
  return latencies;
}

/** The ef values recall is measured at: the product's (the table's column), then half and twice it. */
const RECALL_EFS = [HNSW_PARAMS.efSearch, HNSW_PARAMS.efSearch / 2, HNSW_PARAMS.efSearch * 2];

/** Recall@10 of the graph against exact search at each of RECALL_EFS, with the graph's ms a query; ties with the 10th count as hits. */
async function recallAt10(
  ws: Workspace,
  model: EmbeddingModelLoader,
  probesWanted: number,
): Promise<Array<{ ef: number; recall: number; msPerQuery: number }>> {
  const store = IndexStore.open(ws.indexDir);
  const graph = openVectorIndex(store, ws.indexDir, model.dims, silentReporter).index;
  const dims = model.dims;
  const live = [...store.liveVectors()].filter((r) => r.vector);
  const matrix = new Float32Array(live.length * dims);
  live.forEach((r, i) => matrix.set(r.vector!, i * dims));
  const texts = (
    store.db.prepare('SELECT text FROM chunks ORDER BY random() LIMIT ?').pluck().all(probesWanted) as string[]
  ).map((t) => t.split('\n').find((l) => l.trim().length > 20) ?? t.slice(0, 80));
  store.close();
  const tokenizer = await model.tokenizer();
  const embedder = await model.embedder();
  const found = RECALL_EFS.map(() => 0);
  const graphMs = RECALL_EFS.map(() => 0);
  for (let i = 0; i < texts.length; i += BATCH) {
    const batch = texts
      .slice(i, i + BATCH)
      .map((t) => [tokenizer.clsId, ...tokenizer.tokenize(t).slice(0, 254), tokenizer.sepId]);
    for (const query of await embedder.embedIds(batch)) {
      const sims = new Float32Array(live.length);
      for (let r = 0, o = 0; r < live.length; r++, o += dims) {
        let dot = 0;
        for (let d = 0; d < dims; d++) dot += query[d]! * matrix[o + d]!;
        sims[r] = dot;
      }
      const tenth = [...sims].sort((a, b) => b - a)[9]!;
      RECALL_EFS.forEach((ef, e) => {
        const started = performance.now();
        const hits = graph.search(query, 10, ef);
        graphMs[e]! += performance.now() - started;
        found[e]! += hits.filter((h) => h.similarity >= tenth - 1e-5).length;
      });
    }
  }
  return RECALL_EFS.map((ef, e) => ({
    ef,
    recall: found[e]! / (texts.length * 10),
    msPerQuery: graphMs[e]! / texts.length,
  }));
}

interface StepResult {
  files: number;
  chunks: number;
  indexSeconds: number;
  embeddedNow: number;
  fromCache: number;
  estimatedFullSeconds: number;
  indexPeakMiB: number;
  noopSeconds: number;
  noopWallMs: number;
  touch1Seconds: number;
  touch100Seconds: number;
  warmP50: number;
  warmP99: number;
  coldMedianMs: number;
  coldPeakMiB: number;
  recall: number;
  diskMiB: number;
}

/** Appends a line to `count` files spread over the corpus; returns how many were touched. */
function touch(files: SourceFile[], count: number, round: string): number {
  const n = Math.min(count, files.length);
  const stride = Math.floor(files.length / n);
  for (let i = 0; i < n; i++)
    appendFileSync(path.join(corpusDir, files[i * stride]!.to), `\n// bench:scale edit ${round}\n`);
  return n;
}

async function measureStep(
  step: number,
  files: SourceFile[],
  ws: Workspace,
  model: EmbeddingModelLoader,
  cache: { file: string; db: Database.Database },
  rate: { chunksPerSecond?: number },
): Promise<StepResult> {
  const prefilled = prefillIndex(ws, cache.file, step);
  const full = runCli(['index', '--json'], corpusDir);
  const s = full.json;
  rate.chunksPerSecond ??= await inferenceRate(ws, model, loadConfig({}).embedding.batchSize);
  const fromCache = s.chunksTotal - s.chunksEmbedded;
  const estimatedFullSeconds = s.seconds + fromCache / rate.chunksPerSecond;
  log(
    `[${s.chunksTotal} chunks] full index: ${s.filesScanned} files, ${s.chunksTotal} chunks in ${s.seconds.toFixed(1)} s ` +
      `(${s.chunksEmbedded} embedded now, ${fromCache} reused: the bench cache prefilled ${prefilled} vectors; ` +
      `with inference for all ≈ ${estimatedFullSeconds.toFixed(0)} s at ${rate.chunksPerSecond.toFixed(1)} chunks/s), ` +
      `peak RSS ${full.peakRssMiB.toFixed(0)} MiB (target < 1024)`,
  );
  const noops: CliRun[] = [0, 1, 2].map(() => runCli(['index', '--json'], corpusDir));
  const noop = noops.sort((a, b) => a.json.seconds - b.json.seconds)[1]!;
  touch(files, 1, `${runId}-${step}a`);
  const touch1 = runCli(['index', '--json'], corpusDir);
  const touched = touch(files, 100, `${runId}-${step}b`);
  const touch100 = runCli(['index', '--json'], corpusDir);
  log(
    `  no-op refresh over ${s.filesScanned} files: ${noop.json.seconds.toFixed(2)} s in-process (median of 3), process wall ${(noop.ms / 1000).toFixed(2)} s, ` +
      `peak RSS ${noop.peakRssMiB.toFixed(0)} MiB (target < 1 s at 20k files); touched 1 file: ${touch1.json.seconds.toFixed(2)} s ` +
      `(${touch1.json.chunksEmbedded} embedded); touched ${touched} files: ${touch100.json.seconds.toFixed(2)} s (${touch100.json.chunksEmbedded} embedded)`,
  );
  const warm = await warmSearch(ws, model);
  const cold = QUERIES.slice(0, 5).map((q) => runCli(['search', q, '--json'], corpusDir));
  const coldMs = cold.map((c) => c.ms);
  log(
    `  search warm (hybrid, k=10, query embedding included): p50 ${percentile(warm, 50).toFixed(1)} ms, p99 ${percentile(warm, 99).toFixed(1)} ms (target p50 < 20 ms); ` +
      `cold CLI: median ${percentile(coldMs, 50).toFixed(0)} ms, min ${Math.min(...coldMs).toFixed(0)} ms, ` +
      `peak RSS ${Math.max(...cold.map((c) => c.peakRssMiB)).toFixed(0)} MiB (target < 500 ms)`,
  );
  const recalls = await recallAt10(ws, model, 100);
  const recall = recalls[0]!.recall;
  const diskMiB = dirBytes(ws.indexDir) / 2 ** 20;
  log(
    `  hnsw recall@10 vs exact (100 queries): ${recalls.map((r) => `ef ${r.ef} ${r.recall.toFixed(4)} (${r.msPerQuery.toFixed(2)} ms a query)`).join(', ')}; ` +
      `index on disk ${diskMiB.toFixed(0)} MiB`,
  );
  saveToCache(cache.db, ws, step);
  return {
    files: s.filesScanned,
    chunks: s.chunksTotal,
    indexSeconds: s.seconds,
    embeddedNow: s.chunksEmbedded,
    fromCache,
    estimatedFullSeconds,
    indexPeakMiB: full.peakRssMiB,
    noopSeconds: noop.json.seconds,
    noopWallMs: noop.ms,
    touch1Seconds: touch1.json.seconds,
    touch100Seconds: touch100.json.seconds,
    warmP50: percentile(warm, 50),
    warmP99: percentile(warm, 99),
    coldMedianMs: percentile(coldMs, 50),
    coldPeakMiB: Math.max(...cold.map((c) => c.peakRssMiB)),
    recall,
    diskMiB,
  };
}

function printGrowth(results: StepResult[]): void {
  const columns: Array<[string, (r: StepResult) => string]> = [
    ['chunks', (r) => String(r.chunks)],
    ['files', (r) => String(r.files)],
    ['index s (cached)', (r) => r.indexSeconds.toFixed(1)],
    ['index s (all inf.)', (r) => `≈${r.estimatedFullSeconds.toFixed(0)}`],
    ['index RSS MiB', (r) => r.indexPeakMiB.toFixed(0)],
    ['no-op s', (r) => r.noopSeconds.toFixed(2)],
    ['no-op wall s', (r) => (r.noopWallMs / 1000).toFixed(2)],
    ['touch1 s', (r) => r.touch1Seconds.toFixed(2)],
    ['touch100 s', (r) => r.touch100Seconds.toFixed(2)],
    ['warm p50 ms', (r) => r.warmP50.toFixed(1)],
    ['warm p99 ms', (r) => r.warmP99.toFixed(1)],
    ['cold CLI ms', (r) => r.coldMedianMs.toFixed(0)],
    ['search RSS MiB', (r) => r.coldPeakMiB.toFixed(0)],
    ['recall@10', (r) => r.recall.toFixed(4)],
    ['disk MiB', (r) => r.diskMiB.toFixed(0)],
  ];
  log('');
  log('growth (one row per step; "cached" = embeddings from the bench cache, "all inf." = estimate with inference):');
  const widths = columns.map(([name, cell]) => Math.max(name.length, ...results.map((r) => cell(r).length)));
  log(columns.map(([name], i) => name.padStart(widths[i]!)).join('  '));
  for (const r of results) log(columns.map(([, cell], i) => cell(r).padStart(widths[i]!)).join('  '));
  if (results.length > 1) {
    const [a, b] = [results[0]!, results[results.length - 1]!];
    log(
      `from ${a.chunks} to ${b.chunks} chunks (×${(b.chunks / a.chunks).toFixed(1)}): index (cached) ×${(b.indexSeconds / a.indexSeconds).toFixed(1)}, ` +
        `no-op ×${(b.noopSeconds / a.noopSeconds).toFixed(1)}, warm p50 ×${(b.warmP50 / a.warmP50).toFixed(1)}, cold CLI ×${(b.coldMedianMs / a.coldMedianMs).toFixed(1)}, ` +
        `index RSS ×${(b.indexPeakMiB / a.indexPeakMiB).toFixed(1)}, disk ×${(b.diskMiB / a.diskMiB).toFixed(1)}`,
    );
  }
}

async function main() {
  const config = loadConfig({});
  const model = createModelLoader(config.embedding);
  log(`model ${model.id}, steps ${STEPS.join(', ')} chunks, files ≤ ${MAX_FILE_BYTES / 1024} KiB`);
  if (REEMBED_PREFIX) log(`cached vectors of chunks whose hash starts with "${REEMBED_PREFIX}" are embedded again`);
  const sources = listSources();
  log(
    `sources: ${sources.length} files from ${SOURCE_ROOTS.filter((r) => existsSync(r.dir))
      .map((r) => r.dir)
      .join(', ')}`,
  );
  rmSync(corpusDir, { recursive: true, force: true });
  mkdirSync(corpusDir, { recursive: true });
  execFileSync('git', ['init', '-q'], { cwd: corpusDir });
  const ws = openWorkspace(corpusDir);
  const cache = openCache(model);
  const rate: { chunksPerSecond?: number } = {};
  const results: StepResult[] = [];
  let used = 0;
  let bytesPerChunk = 900; // first guess; then learnt from each step's chunk count
  let bytesUsed = 0;
  for (const [step, target] of STEPS.entries()) {
    const chunksSoFar = results.at(-1)?.chunks ?? 0;
    let wantBytes = (target - chunksSoFar) * bytesPerChunk;
    while (wantBytes > 0 && used < sources.length) {
      const file = sources[used++]!;
      mkdirSync(path.dirname(path.join(corpusDir, file.to)), { recursive: true });
      copyFileSync(file.from, path.join(corpusDir, file.to));
      wantBytes -= file.size;
      bytesUsed += file.size;
    }
    const result = await measureStep(step, sources.slice(0, used), ws, model, cache, rate);
    results.push(result);
    bytesPerChunk = bytesUsed / result.chunks;
    if (used >= sources.length) {
      log(`(sources exhausted at ${result.chunks} chunks; larger steps skipped)`);
      break;
    }
  }
  printGrowth(results);
  cache.db.close();
  await model.close();
  syntheticGraphCheck(Number(process.env.BENCH_SCALE_GRAPH ?? 100_000));
}

/**
 * hnswlib's memory, file size and load time at `n` vectors, whatever size the real corpus reached:
 * random unit vectors, the product's M, built with efConstruction 16 so it takes seconds (memory and
 * file layout depend on M, not on efConstruction). Build and load each run in a child of their
 * own, so their peak RSS is theirs.
 */
function syntheticGraphCheck(n: number): void {
  const file = path.join(benchDir, `synthetic-${n}.hnsw`);
  const child = (mode: string) => {
    const res = spawnSync(
      process.execPath,
      [fileURLToPath(import.meta.url), '--synthetic-graph', mode, String(n), file],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    if (res.status !== 0) throw new Error(`synthetic graph ${mode} failed (${res.status})`);
    return JSON.parse(res.stdout.trim().split('\n').pop()!) as { ms: number; peakMiB: number; queryMs?: number };
  };
  const built = child('build');
  const loaded = child('load');
  log(
    `synthetic hnsw graph, ${n} random 384-d vectors, M ${HNSW_PARAMS.m}: build peak RSS ${built.peakMiB.toFixed(0)} MiB, ` +
      `file ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB; load ${loaded.ms.toFixed(0)} ms (what a cold \`search\` pays ` +
      `before the query), peak RSS ${loaded.peakMiB.toFixed(0)} MiB, query (k 50, ef ${HNSW_PARAMS.efSearch}) ${loaded.queryMs!.toFixed(2)} ms`,
  );
  rmSync(file, { force: true });
}

function peakRssMiB(): number {
  const hwm = /VmHWM:\s*(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'));
  return (hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS) / 1024;
}

function syntheticGraphChild(mode: string, n: number, file: string): void {
  let seed = 7;
  const unit = () => {
    const v = new Float32Array(384);
    for (let d = 0; d < v.length; d++) v[d] = (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
    return v;
  };
  const started = performance.now();
  if (mode === 'build') {
    const hnsw = new hnswlib.HierarchicalNSW('cosine', 384);
    hnsw.initIndex({
      maxElements: n,
      m: HNSW_PARAMS.m,
      efConstruction: 16,
      randomSeed: 100,
      allowReplaceDeleted: true,
    });
    for (let label = 1; label <= n; label++) hnsw.addPoint(Array.from(unit()), label, true);
    hnsw.writeIndexSync(file);
    process.stdout.write(`${JSON.stringify({ ms: performance.now() - started, peakMiB: peakRssMiB() })}\n`);
    return;
  }
  const graph = VectorIndex.load(file, 384);
  const ms = performance.now() - started;
  const queryStarted = performance.now();
  for (let i = 0; i < 20; i++) graph.search(unit(), 50);
  const queryMs = (performance.now() - queryStarted) / 20;
  process.stdout.write(`${JSON.stringify({ ms, peakMiB: peakRssMiB(), queryMs })}\n`);
}

const graphAt = process.argv.indexOf('--synthetic-graph');
if (graphAt !== -1) {
  syntheticGraphChild(process.argv[graphAt + 1]!, Number(process.argv[graphAt + 2]), process.argv[graphAt + 3]!);
} else {
  await main();
}
