import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { AppError } from '../../errors.js';
import type { ModelFiles } from './locateModel.js';
import type { Tokenizer } from './tokenizer.js';

export interface EmbedderOptions {
  /** intra-op threads; default: every available core. */
  threads?: number;
  /** onnxruntime graph optimizers to skip (config `embedding.disabledOptimizers`). */
  disabledOptimizers?: readonly string[];
  /** Where onnxruntime writes the graph it optimised (for inspecting what actually runs). */
  optimizedModelPath?: string;
}

/** Optimizers skipped unless configured otherwise: see `embedding.disabledOptimizers` in config.ts. */
export const defaultDisabledOptimizers: readonly string[] = ['SkipLayerNormFusion'];

/**
 * The session options the product runs with. `extra.optimization.disable_specified_optimizers` is
 * typed as WebAssembly-only in onnxruntime-common, but the Node binding applies it too (the test
 * inspects the saved graph); names are separated by ';' and unknown names are ignored.
 */
export function embeddingSessionOptions(opts: EmbedderOptions = {}): ort.InferenceSession.SessionOptions {
  const disabled = opts.disabledOptimizers ?? defaultDisabledOptimizers;
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads: sessionThreads(opts),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    ...(opts.optimizedModelPath ? { optimizedModelFilePath: opts.optimizedModelPath } : {}),
    ...(disabled.length > 0 ? { extra: { optimization: { disable_specified_optimizers: disabled.join(';') } } } : {}),
  };
}

/** The intra-op threads a session gets: `threads`, else every core. */
export function sessionThreads(opts: EmbedderOptions): number {
  return opts.threads ?? os.availableParallelism();
}

/**
 * Rows per inference run that embed fastest for a session with this many intra-op threads. Measured
 * on 2 cores with the int8 graph (real chunks, length-sorted, rounds interleaved): two
 * single-threaded sessions embed 84.7 / 84.5 / 80.0 / 77.2 chunks/s at 1 / 2 / 4 / 8 rows (fp32:
 * 35.6 at 1, 34.3 at 8), and each row then gets its own activation scale; one session with two
 * threads needs rows to split the work: 57.0 chunks/s at 1 row, 69.9 at 2, 71.9 at 8.
 */
export function fastestBatchRows(threads: number): number {
  return threads <= 1 ? 1 : 8;
}

/** Batches of embedTexts: bounded so a huge call does not allocate [n, 256, 384] floats at once. */
const textBatchSize = 32;

/**
 * Int64 input buffers reused across runs. The ids are small non-negative integers, so each int64
 * is written through an Int32 view of the same memory (low word = value, high word = 0 on
 * little-endian): no per-element BigInt conversion.
 */
class InputBuffers {
  ids = new BigInt64Array(0);
  mask = new BigInt64Array(0);
  idWords = new Int32Array(0);
  maskWords = new Int32Array(0);
  /** token_type_ids are all zero for single sentences; one zeroed buffer serves every run. */
  zeros = new BigInt64Array(0);

  ensure(elements: number): void {
    if (this.ids.length >= elements) return;
    const capacity = Math.max(elements, this.ids.length * 2);
    this.ids = new BigInt64Array(capacity);
    this.mask = new BigInt64Array(capacity);
    this.zeros = new BigInt64Array(capacity);
    this.idWords = new Int32Array(this.ids.buffer);
    this.maskWords = new Int32Array(this.mask.buffer);
  }
}

if (!os.endianness().startsWith('LE')) {
  // The Int32-view trick above assumes little-endian, as on every platform onnxruntime-node ships for.
  throw new Error('ai-dev-bot embedder requires a little-endian CPU');
}

/**
 * onnxruntime 1.30 on Linux starts Microsoft's 1DS telemetry with the first session: it reads
 * /proc/self/cmdline (our argv holds the user's query, question or goal), parses it recursively and
 * overflows the stack (SIGSEGV) once argv passes ~28,000 characters, stores events under
 * ~/.cache/Microsoft/DeveloperTools and uploads them to events.data.microsoft.com. Nothing of the
 * user's may leave the machine, so it is switched off, always; onnxruntime reads the variable when
 * the first session is created, so setting it here, before that, is enough.
 */
export function disableOrtTelemetry(env: NodeJS.ProcessEnv = process.env): void {
  env.ORT_DISABLE_TELEMETRY = '1';
}

/** all-MiniLM-L6-v2 on onnxruntime-node: ids in, mean-pooled L2-normalised vectors out. */
export class Embedder {
  readonly dims: number;
  readonly maxTokens: number;
  readonly batchRows: number;
  private readonly normalize: boolean;
  private readonly session: ort.InferenceSession;
  private readonly outputName: string;
  private readonly buffers = new InputBuffers();
  /** Buffers are reused only when no other run still reads them (callers may overlap calls). */
  private runsInFlight = 0;

  private constructor(session: ort.InferenceSession, files: ModelFiles, batchRows: number) {
    this.session = session;
    this.batchRows = batchRows;
    this.dims = files.manifest.dims;
    this.maxTokens = files.manifest.maxTokens;
    this.normalize = files.manifest.normalize;
    this.outputName = files.manifest.onnx.output;
  }

  static async create(files: ModelFiles, opts: EmbedderOptions = {}): Promise<Embedder> {
    const options = embeddingSessionOptions(opts);
    disableOrtTelemetry();
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(files.onnxPath, options);
    } catch (error) {
      throw new AppError(
        'model_invalid',
        `Cannot load the embedding model ${files.onnxPath}: ${error instanceof Error ? error.message : String(error)}`,
        'Fetch it again: `npm run fetch-model -- --force` (or delete the directory).',
        { cause: error },
      );
    }
    const missing = files.manifest.onnx.inputs.filter((name) => !session.inputNames.includes(name));
    if (missing.length > 0 || !session.outputNames.includes(files.manifest.onnx.output)) {
      await session.release();
      throw new AppError(
        'model_invalid',
        `${files.onnxPath} has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]; ` +
          `expected inputs [${files.manifest.onnx.inputs.join(', ')}] and output ${files.manifest.onnx.output}.`,
        'Fetch the model again: `npm run fetch-model -- --force`.',
      );
    }
    return new Embedder(session, files, fastestBatchRows(sessionThreads(opts)));
  }

  /**
   * Embeds rows of token ids. Each row already starts with [CLS], ends with [SEP] and is at most
   * maxTokens long. The batch is padded to its longest row, so callers should group rows of
   * similar length.
   */
  async embedIds(batch: number[][]): Promise<Float32Array[]> {
    if (batch.length === 0) return [];
    let seqLen = 0;
    for (const row of batch) {
      if (row.length === 0) throw new RangeError('embedIds: empty row (expected at least [CLS] [SEP])');
      if (row.length > this.maxTokens)
        throw new RangeError(`embedIds: row of ${row.length} tokens exceeds the model's ${this.maxTokens}`);
      if (row.length > seqLen) seqLen = row.length;
    }
    const rows = batch.length;
    const elements = rows * seqLen;

    const shared = this.runsInFlight === 0;
    const buffers = shared ? this.buffers : new InputBuffers();
    buffers.ensure(elements);
    const { idWords, maskWords } = buffers;
    for (let r = 0; r < rows; r++) {
      const row = batch[r]!;
      let word = r * seqLen * 2;
      for (let t = 0; t < seqLen; t++, word += 2) {
        // Padding (t ≥ row.length) is id 0 = [PAD] with mask 0; high words stay 0 forever.
        if (t < row.length) {
          idWords[word] = row[t]!;
          maskWords[word] = 1;
        } else {
          idWords[word] = 0;
          maskWords[word] = 0;
        }
      }
    }
    const dims = [rows, seqLen];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', buffers.ids.subarray(0, elements), dims),
      attention_mask: new ort.Tensor('int64', buffers.mask.subarray(0, elements), dims),
      token_type_ids: new ort.Tensor('int64', buffers.zeros.subarray(0, elements), dims),
    };

    this.runsInFlight++;
    let output: ort.InferenceSession.OnnxValueMapType;
    try {
      output = await this.session.run(feeds, [this.outputName]);
    } finally {
      this.runsInFlight--;
    }
    const hidden = output[this.outputName];
    if (!hidden || hidden.type !== 'float32') throw new Error(`embedding model returned no float32 ${this.outputName}`);
    return this.meanPoolAndNormalize(hidden.data as Float32Array, batch, seqLen);
  }

  /** Mean over the real (unmasked) tokens of each row, then scaled to unit length. */
  private meanPoolAndNormalize(hidden: Float32Array, batch: number[][], seqLen: number): Float32Array[] {
    const dims = this.dims;
    const vectors: Float32Array[] = [];
    for (let r = 0; r < batch.length; r++) {
      const length = batch[r]!.length; // right padding: the first `length` tokens are the real ones
      const sum = new Float64Array(dims);
      let offset = r * seqLen * dims;
      for (let t = 0; t < length; t++, offset += dims) {
        for (let d = 0; d < dims; d++) sum[d]! += hidden[offset + d]!;
      }
      let norm = 0;
      for (let d = 0; d < dims; d++) norm += sum[d]! * sum[d]!;
      // When normalising, the 1/length of the mean cancels out; only the direction matters.
      const scale = !this.normalize ? 1 / length : norm > 0 ? 1 / Math.sqrt(norm) : 0;
      const vector = new Float32Array(dims);
      for (let d = 0; d < dims; d++) vector[d] = sum[d]! * scale;
      vectors.push(vector);
    }
    return vectors;
  }

  /**
   * Tokenizes and embeds texts (truncated to maxTokens like sentence-transformers does), in
   * length-sorted batches so little padding is computed; results come back in input order.
   */
  async embedTexts(texts: string[], tokenizer: Tokenizer): Promise<Float32Array[]> {
    const sepId = tokenizer.token_to_id('[SEP]');
    if (sepId === undefined) throw new Error('tokenizer has no [SEP] token');
    const rows = texts.map((text) => {
      const ids = tokenizer.encode(text, { add_special_tokens: true }).ids;
      return ids.length <= this.maxTokens ? ids : [...ids.slice(0, this.maxTokens - 1), sepId];
    });
    const order = rows.map((_, index) => index).sort((a, b) => rows[a]!.length - rows[b]!.length);
    const vectors = new Array<Float32Array>(texts.length);
    for (let start = 0; start < order.length; start += textBatchSize) {
      const indices = order.slice(start, start + textBatchSize);
      const embedded = await this.embedIds(indices.map((index) => rows[index]!));
      indices.forEach((index, i) => (vectors[index] = embedded[i]!));
    }
    return vectors;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
