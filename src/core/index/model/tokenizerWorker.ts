/**
 * Worker-thread entry (bundled as dist/tokenizer-worker.js): tokenizes one query and exits. A cold
 * `search` starts it before loading the ONNX session, which blocks the main thread for ~100 ms;
 * reading tokenizer.json (~50 ms of parsing and building a 30k-entry vocabulary) then costs nothing.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { QueryTokensReply, QueryTokensRequest } from './queryTokens.js';
import { loadTextTokenizer, queryRow } from './tokenizer.js';

const { files, text, maxTokens } = workerData as QueryTokensRequest;
try {
  const tokenizer = await loadTextTokenizer(files);
  parentPort!.postMessage({ ids: queryRow(tokenizer, text, maxTokens) } satisfies QueryTokensReply);
} catch (error) {
  parentPort!.postMessage({ error: error instanceof Error ? error.message : String(error) } satisfies QueryTokensReply);
}
