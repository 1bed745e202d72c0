import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Embedder } from '../src/core/index/model/embedder.js';
import { EmbedderPool } from '../src/core/index/model/embedderPool.js';
import { bulkLayout, createModelLoader } from '../src/core/index/model/loader.js';
import { locateTokenizerWorker, tokenizeInWorker } from '../src/core/index/model/queryTokens.js';
import { locateModel, type ModelFiles } from '../src/core/index/model/locateModel.js';
import { loadTextTokenizer, loadTokenizer, queryRow } from '../src/core/index/model/tokenizer.js';
import { locateInferenceWorker, WorkerEmbedder } from '../src/core/index/model/workerEmbedder.js';
import { projectRoot } from './helpers/cli.js';

/** Event-loop turns the calling thread gets while `work` runs: ~0 when inference blocks it. */
async function turnsDuring(work: () => Promise<unknown>): Promise<number> {
  let turns = 0;
  let running = true;
  const spin = () => {
    turns++;
    if (running) setImmediate(spin);
  };
  setImmediate(spin);
  await work();
  running = false;
  return turns;
}

describe('inference in a worker thread (dist/inference-worker.js, real int8 model)', () => {
  let files: ModelFiles;
  let script: string;
  let inThread: Embedder;
  let worker: WorkerEmbedder;
  let batch: number[][];

  beforeAll(async () => {
    files = locateModel({ precision: 'int8' });
    // The product looks for the worker next to its bundle: from dist/cli.js and from dist/chunks/*.js.
    const fromCli = locateInferenceWorker(pathToFileURL(path.join(projectRoot, 'dist', 'cli.js')).href);
    expect(fromCli, 'run `npm run build` first').toBe(path.join(projectRoot, 'dist', 'inference-worker.js'));
    expect(locateInferenceWorker(pathToFileURL(path.join(projectRoot, 'dist', 'chunks', 'x.js')).href)).toBe(fromCli);
    script = fromCli!;
    const tokenizer = await loadTokenizer(files);
    // 32 rows of different lengths, as index batches them.
    batch = Array.from({ length: 32 }, (_, i) => {
      const text = `function step${i}(input) { return input.map((x) => x * ${i}); }\n`.repeat(1 + (i % 6));
      return tokenizer.encode(text, { add_special_tokens: true }).ids.slice(0, 256);
    });
    inThread = await Embedder.create(files, { threads: 2 });
    worker = await WorkerEmbedder.start(script, files, { threads: 2 });
  });
  afterAll(async () => {
    await inThread?.close();
    await worker?.close();
  });

  it('returns exactly the vectors of the in-thread embedder', async () => {
    const [expected, actual] = [await inThread.embedIds(batch), await worker.embedIds(batch)];
    expect(actual).toHaveLength(batch.length);
    actual.forEach((vector, r) => expect(Array.from(vector)).toEqual(Array.from(expected[r]!)));
  });

  it('answers overlapping calls in order, each with its own rows', async () => {
    const halves = await Promise.all([worker.embedIds(batch.slice(0, 5)), worker.embedIds(batch.slice(5, 7))]);
    const alone = await inThread.embedIds(batch.slice(5, 7));
    expect(halves.map((h) => h.length)).toEqual([5, 2]);
    expect(Array.from(halves[1]![1]!)).toEqual(Array.from(alone[1]!));
  });

  it('leaves the calling thread free while it embeds (in-thread inference blocks it)', async () => {
    const blocked = await turnsDuring(() => inThread.embedIds(batch));
    const free = await turnsDuring(() => worker.embedIds(batch));
    expect(blocked).toBeLessThan(10);
    expect(free).toBeGreaterThan(100);
  });

  it('a damaged model file fails to start with model_invalid and the fix', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aidb-badmodel-'));
    const onnxPath = path.join(dir, 'model_quantized.onnx');
    writeFileSync(onnxPath, 'not an onnx graph');
    copyFileSync(files.tokenizerPath, path.join(dir, 'tokenizer.json'));
    await expect(WorkerEmbedder.start(script, { ...files, dir, onnxPath }, {})).rejects.toMatchObject({
      code: 'model_invalid',
      message: expect.stringContaining(onnxPath),
      hint: expect.stringContaining('fetch-model'),
    });
  });

  it('after close the worker has ended and embedIds rejects', async () => {
    const second = await WorkerEmbedder.start(script, files, { threads: 1 });
    await second.close();
    await expect(second.embedIds(batch.slice(0, 1))).rejects.toThrow(/closed/);
  });
});

describe('a pool of inference sessions (dist/inference-worker.js, real int8 model)', () => {
  let files: ModelFiles;
  let inThread: Embedder;
  let members: Array<WorkerEmbedder & { calls: number }>;
  let pool: EmbedderPool;
  let batches: number[][][];

  beforeAll(async () => {
    files = locateModel({ precision: 'int8' });
    const script = locateInferenceWorker(pathToFileURL(path.join(projectRoot, 'dist', 'cli.js')).href)!;
    const tokenizer = await loadTokenizer(files);
    batches = Array.from({ length: 6 }, (_, b) =>
      Array.from({ length: 4 }, (_, i) => {
        const text = `export const limit${b}_${i} = retries(${i}) * backoff(${b});\n`.repeat(1 + i);
        return tokenizer.encode(text, { add_special_tokens: true }).ids;
      }),
    );
    inThread = await Embedder.create(files, { threads: 1 });
    members = await Promise.all(
      [0, 1].map(async () => {
        const worker = (await WorkerEmbedder.start(script, files, { threads: 1 })) as WorkerEmbedder & {
          calls: number;
        };
        worker.calls = 0;
        const embedIds = worker.embedIds.bind(worker);
        worker.embedIds = (batch) => {
          worker.calls++;
          return embedIds(batch);
        };
        return worker;
      }),
    );
    pool = new EmbedderPool(members);
  });
  afterAll(async () => {
    await inThread?.close();
    await pool?.close();
  });

  it('spreads concurrent batches over its sessions and answers each with its own vectors', async () => {
    const answers = await Promise.all(batches.map((batch) => pool.embedIds(batch)));
    expect(pool.parallelism).toBe(2);
    expect(pool.batchRows).toBe(1); // single-threaded sessions: a row at a time is fastest
    expect(members.map((m) => m.calls)).toEqual([3, 3]);
    for (const [b, batch] of batches.entries()) {
      const expected = await inThread.embedIds(batch);
      answers[b]!.forEach((vector, r) => expect(Array.from(vector)).toEqual(Array.from(expected[r]!)));
    }
  });

  it('lays out sessions and threads: two sessions on 2+ cores, the threads split between them', () => {
    expect(bulkLayout(2)).toEqual({ sessions: 2, threads: 1 });
    expect(bulkLayout(8)).toEqual({ sessions: 2, threads: 4 });
    expect(bulkLayout(1)).toEqual({ sessions: 1, threads: 1 });
    expect(bulkLayout(2, 1)).toEqual({ sessions: 1, threads: 1 }); // embedding.threads 1: one session
    expect(bulkLayout(8, undefined, 1)).toEqual({ sessions: 1, threads: 8 }); // embedding.sessions 1
    expect(bulkLayout(8, 6, 3)).toEqual({ sessions: 3, threads: 2 });
  });
});

describe("a cold search's query tokens from a worker thread (dist/tokenizer-worker.js)", () => {
  const texts = [
    'retry the request after a delay',
    'Überprüfe den Schlüssel — naïve café 東京 🚀',
    'parse '.repeat(400), // longer than the model reads: cut at maxTokens
    '',
  ];
  let files: ModelFiles;
  let script: string;

  beforeAll(() => {
    files = locateModel({ precision: 'int8' });
    script = locateTokenizerWorker(pathToFileURL(path.join(projectRoot, 'dist', 'cli.js')).href)!;
    expect(script, 'run `npm run build` first').toBe(path.join(projectRoot, 'dist', 'tokenizer-worker.js'));
  });

  it('gives exactly the ids the tokenizer on this thread gives, cut at maxTokens', async () => {
    const tokenizer = await loadTextTokenizer(files);
    const maxTokens = files.manifest.maxTokens;
    for (const text of texts) {
      const ids = await tokenizeInWorker(script, { files, text, maxTokens });
      expect(ids).toEqual(queryRow(tokenizer, text, maxTokens));
      expect(ids.length).toBeLessThanOrEqual(maxTokens);
    }
    expect((await tokenizeInWorker(script, { files, text: texts[2]!, maxTokens })).length).toBe(maxTokens);
  });

  it('a damaged tokenizer.json rejects naming the file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aidb-badtok-'));
    const tokenizerPath = path.join(dir, 'tokenizer.json');
    writeFileSync(tokenizerPath, '{"model": ');
    await expect(
      tokenizeInWorker(script, { files: { ...files, tokenizerPath }, text: 'x', maxTokens: 256 }),
    ).rejects.toThrow(tokenizerPath);
    // A tokenizer without [CLS]: the worker's own message already names the file, once.
    writeFileSync(tokenizerPath, readFileSync(files.tokenizerPath, 'utf8').replaceAll('"[CLS]"', '"[CLX]"'));
    await expect(
      tokenizeInWorker(script, { files: { ...files, tokenizerPath }, text: 'x', maxTokens: 256 }),
    ).rejects.toThrow(new Error(`${tokenizerPath} lacks [CLS]/[SEP] tokens.`));
  });

  it('the loader tokenizes its first query in a worker, later ones on this thread; inferenceWorker false: never', async () => {
    let workers = 0;
    const counted = () => workers++;
    process.on('worker', counted);
    const loader = createModelLoader({ precision: 'int8', tokenizerWorker: script });
    const inThread = createModelLoader({ precision: 'int8', tokenizerWorker: script, inferenceWorker: false });
    try {
      const first = await loader.queryIds(texts[1]!);
      expect(workers).toBe(1);
      expect(await loader.queryIds(texts[1]!)).toEqual(first);
      expect(first).toEqual(queryRow(await loader.tokenizer(), texts[1]!, files.manifest.maxTokens));
      expect(await inThread.queryIds(texts[1]!)).toEqual(first);
      expect(workers).toBe(1);
    } finally {
      process.off('worker', counted);
      await loader.close();
      await inThread.close();
    }
  });
});
