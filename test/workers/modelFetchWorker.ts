/**
 * A separate OS process that needs the embedding model, for the auto-fetch concurrency and kill -9
 * tests. Bundled by test/workers/bundle.ts; run as `node modelFetchWorker.mjs <manifest.json>`
 * with XDG_CACHE_HOME and HF_ENDPOINT in its environment. Prints {"dir": ...} when the model is
 * ready; the fetcher's lines go to stderr.
 */
import { readFileSync } from 'node:fs';
import { ensureModel } from '../../src/core/index/model/ensureModel.js';
import type { ModelManifest } from '../../src/core/index/model/manifest.js';

const manifest = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ModelManifest;
const files = await ensureModel({
  precision: 'int8',
  manifest,
  fetch: { sources: ['huggingface'] },
  log: (line) => process.stderr.write(`fetch-model: ${line}\n`),
  progress: () => ({ update() {}, done() {} }),
});
process.stdout.write(`${JSON.stringify({ dir: files.dir })}\n`);
