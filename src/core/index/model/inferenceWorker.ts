/**
 * Worker-thread entry (bundled as dist/inference-worker.js): runs the ONNX session off the main
 * thread, so `index` keeps reading, chunking and writing while a batch is embedded.
 * InferenceSession.run in onnxruntime-node blocks the thread that calls it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AppError } from '../../errors.js';
import { disableOrtTelemetry, Embedder } from './embedder.js';
import type { InferenceReply, InferenceRequest, InferenceWorkerData } from './inferenceProtocol.js';

const port = parentPort!;
const { files, options } = workerData as InferenceWorkerData;

function describe(error: unknown): InferenceReply & { type: 'error' } {
  if (error instanceof AppError)
    return { type: 'error', id: -1, code: error.code, message: error.message, hint: error.hint };
  return { type: 'error', id: -1, message: error instanceof Error ? error.message : String(error) };
}

disableOrtTelemetry();
try {
  const embedder = await Embedder.create(files, options);
  port.on('message', (request: InferenceRequest | 'close') => {
    if (request === 'close') void closeSession(embedder);
    else void answer(embedder, request);
  });
  port.postMessage({ type: 'ready' } satisfies InferenceReply);
} catch (error) {
  port.postMessage(describe(error));
}

async function answer(embedder: Embedder, { id, ids, lengths }: InferenceRequest): Promise<void> {
  try {
    const rows: number[][] = [];
    let offset = 0;
    for (const length of lengths) {
      rows.push(Array.from(ids.subarray(offset, offset + length)));
      offset += length;
    }
    const embedded = await embedder.embedIds(rows);
    const vectors = new Float32Array(rows.length * embedder.dims);
    embedded.forEach((vector, r) => vectors.set(vector, r * embedder.dims));
    port.postMessage({ type: 'vectors', id, vectors } satisfies InferenceReply, [vectors.buffer]);
  } catch (error) {
    port.postMessage({ ...describe(error), id });
  }
}

/**
 * Releases the session, then lets the thread end on its own: terminating a worker whose
 * onnxruntime session is still alive hangs in onnxruntime's teardown.
 */
async function closeSession(embedder: Embedder): Promise<void> {
  await embedder.close();
  port.close();
}
