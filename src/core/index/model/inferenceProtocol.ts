import type { EmbedderOptions } from './embedder.js';
import type { ModelFiles } from './locateModel.js';

/** What the inference worker is started with. */
export interface InferenceWorkerData {
  files: ModelFiles;
  options: EmbedderOptions;
}

/** One batch: every row's ids back to back in `ids`, each row's length in `lengths` (both transferred). */
export interface InferenceRequest {
  id: number;
  ids: Int32Array;
  lengths: Int32Array;
}

export type InferenceReply =
  | { type: 'ready' }
  /** `vectors` holds rows × dims floats, row after row (transferred). */
  | { type: 'vectors'; id: number; vectors: Float32Array }
  /** id -1: the session could not be created. */
  | { type: 'error'; id: number; message: string; code?: string; hint?: string };
