import { Worker } from 'node:worker_threads';
import type { ModelFiles } from './locateModel.js';
import { locateWorkerScript } from './workerEmbedder.js';

/** What the tokenizer worker is started with. */
export interface QueryTokensRequest {
  files: ModelFiles;
  text: string;
  maxTokens: number;
}

export type QueryTokensReply = { ids: number[] } | { error: string };

export const locateTokenizerWorker = (from?: string) => locateWorkerScript('tokenizer-worker.js', from);

/** One query's model input row ([CLS] … [SEP]), tokenized by a one-shot worker thread (tokenizerWorker.ts). */
export function tokenizeInWorker(script: string, request: QueryTokensRequest): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(script, { workerData: request });
    let answered = false;
    worker.once('message', (reply: QueryTokensReply) => {
      answered = true;
      const file = request.files.tokenizerPath;
      if ('ids' in reply) resolve(reply.ids);
      else reject(new Error(reply.error.includes(file) ? reply.error : `${file}: ${reply.error}`));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`the tokenizer worker exited (code ${code}) without an answer`));
    });
  });
}
