/** Token side of the embedding model: cheap to load, needed whenever a file is chunked. */
export interface TextTokenizer {
  /** WordPiece ids without special tokens. */
  tokenize(text: string): number[];
  readonly clsId: number;
  readonly sepId: number;
}

/** Inference side: costly to load (ONNX session), so only loaded when something must be embedded. */
export interface VectorEmbedder {
  readonly dims: number;
  /** Batches it runs at once (several inference sessions); 1 when absent. */
  readonly parallelism?: number;
  /** Rows per batch at which it embeds fastest (see fastestBatchRows); 8 when absent. */
  readonly batchRows?: number;
  /** Each row already starts with [CLS] and ends with [SEP]; returns L2-normalised vectors. */
  embedIds(batch: number[][]): Promise<Float32Array[]>;
}

/** What the index needs from the model, loaded lazily in two parts. */
export interface EmbeddingModelLoader {
  /** Identifies model + precision; a change invalidates stored vectors. */
  readonly id: string;
  readonly dims: number;
  readonly maxTokens: number;
  tokenizer(): Promise<TextTokenizer>;
  /**
   * One query as the model reads it ([CLS] … [SEP], cut at maxTokens). The first query of a process
   * that has not loaded the tokenizer is tokenized in a worker thread, while this thread loads the
   * ONNX session; later ones use tokenizer().
   */
  queryIds(text: string): Promise<number[]>;
  embedder(): Promise<VectorEmbedder>;
  /**
   * For many batches (index): inference in a worker thread when the bundled worker is present, so
   * the caller's thread keeps working meanwhile; otherwise the same as embedder().
   */
  bulkEmbedder(): Promise<VectorEmbedder>;
  /**
   * A single-threaded session for one short text at a time (a search query): a thread pool only
   * adds hand-off waits there, which a busy machine turns into most of the search time.
   */
  queryEmbedder(): Promise<VectorEmbedder>;
  /** Releases the ONNX sessions (and the worker) that were loaded. */
  close(): Promise<void>;
}
