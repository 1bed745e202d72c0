import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Embedder } from '../src/core/index/model/embedder.js';
import { locateModel, type ModelFiles } from '../src/core/index/model/locateModel.js';
import { loadTokenizer } from '../src/core/index/model/tokenizer.js';
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
