import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '../../errors.js';
import { disableOrtTelemetry, fastestBatchRows, sessionThreads, type EmbedderOptions } from './embedder.js';
import type { InferenceReply, InferenceRequest, InferenceWorkerData } from './inferenceProtocol.js';
import type { ModelFiles } from './locateModel.js';
import type { VectorEmbedder } from './types.js';

/**
 * A bundled worker script (`inference-worker.js`, `tokenizer-worker.js`) next to the running bundle
 * (dist/cli.js, dist/chunks/*.js or dist/bench/*.js all sit within one level of it); undefined when
 * running from TypeScript sources.
 */
export function locateWorkerScript(name: string, from: string = import.meta.url): string | undefined {
  for (const relative of [`./${name}`, `../${name}`]) {
    const file = fileURLToPath(new URL(relative, from));
    if (existsSync(file)) return file;
  }
  return undefined;
}

export const locateInferenceWorker = (from?: string) => locateWorkerScript('inference-worker.js', from);

interface Pending {
  rows: number;
  resolve: (vectors: Float32Array[]) => void;
  reject: (error: Error) => void;
}

/** Embeds in a worker thread; embedIds calls may overlap, each batch is answered in order sent. */
export class WorkerEmbedder implements VectorEmbedder {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly dims: number,
    readonly batchRows: number,
  ) {
    worker.on('message', (reply: InferenceReply) => this.settle(reply));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new Error(`the inference worker exited (code ${code})`)));
  }

  /** Starts the worker and waits until its ONNX session is loaded (or failed to load). */
  static async start(script: string, files: ModelFiles, options: EmbedderOptions): Promise<WorkerEmbedder> {
    disableOrtTelemetry(); // the worker's native session reads the process environment
    const data: InferenceWorkerData = { files, options };
    const worker = new Worker(script, { workerData: data });
    const first = await new Promise<InferenceReply>((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`the inference worker exited (code ${code}) before loading`));
      const onMessage = (reply: InferenceReply) => {
        // Only ours: removeAllListeners would also drop the hook that starts the worker's port.
        worker.off('error', reject).off('exit', onExit);
        resolve(reply);
      };
      worker.once('message', onMessage).once('error', reject).once('exit', onExit);
    });
    if (first.type === 'error') {
      await worker.terminate();
      throw first.code
        ? new AppError(first.code as ErrorCode, first.message, first.hint)
        : new Error(`inference worker: ${first.message}`);
    }
    return new WorkerEmbedder(worker, files.manifest.dims, fastestBatchRows(sessionThreads(options)));
  }

  embedIds(batch: number[][]): Promise<Float32Array[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (batch.length === 0) return Promise.resolve([]);
    const lengths = Int32Array.from(batch, (row) => row.length);
    const ids = new Int32Array(lengths.reduce((n, length) => n + length, 0));
    let offset = 0;
    for (const row of batch) {
      ids.set(row, offset);
      offset += row.length;
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { rows: batch.length, resolve, reject });
      const request: InferenceRequest = { id, ids, lengths };
      this.worker.postMessage(request, [ids.buffer, lengths.buffer]);
    });
  }

  private settle(reply: InferenceReply): void {
    if (reply.type === 'ready') return;
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    if (reply.type === 'error') {
      waiting.reject(new Error(`embedding failed: ${reply.message}`));
      return;
    }
    const vectors: Float32Array[] = [];
    for (let r = 0; r < waiting.rows; r++) vectors.push(reply.vectors.subarray(r * this.dims, (r + 1) * this.dims));
    waiting.resolve(vectors);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(this.failure);
    this.pending.clear();
  }

  /** Asks the worker to release its session and end (see closeSession in inferenceWorker.ts). */
  async close(): Promise<void> {
    this.failure ??= new Error('the inference worker was closed');
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage('close');
    await exited;
  }
}
