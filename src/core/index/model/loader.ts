import os from 'node:os';
import type { EmbeddingModelLoader, TextTokenizer, VectorEmbedder } from './types.js';
import { locateModel, type ModelFiles } from './locateModel.js';
import { loadTokenizer } from './tokenizer.js';
import { Embedder } from './embedder.js';

export interface ModelLoaderOptions {
  precision: 'int8' | 'fp32';
  threads?: number;
  /** onnxruntime graph optimizers to skip; default `defaultDisabledOptimizers`. */
  disabledOptimizers?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * Locates the model files up front (cheap: a few stats) and loads the tokenizer and the ONNX
 * session only when first asked, once each.
 */
export function createModelLoader(options: ModelLoaderOptions): EmbeddingModelLoader {
  const files: ModelFiles = locateModel({ precision: options.precision, env: options.env ?? process.env });
  let tokenizer: Promise<TextTokenizer> | undefined;
  let embedder: Promise<Embedder> | undefined;
  return {
    id: `${files.manifest.id}/${files.precision}`,
    dims: files.manifest.dims,
    maxTokens: files.manifest.maxTokens,
    tokenizer() {
      tokenizer ??= loadTokenizer(files).then((tok) => {
        const clsId = tok.token_to_id('[CLS]');
        const sepId = tok.token_to_id('[SEP]');
        if (clsId === undefined || sepId === undefined)
          throw new Error(`${files.tokenizerPath} lacks [CLS]/[SEP] tokens.`);
        return {
          clsId,
          sepId,
          tokenize: (text: string) => tok.encode(text, { add_special_tokens: false }).ids,
        };
      });
      return tokenizer;
    },
    embedder(): Promise<VectorEmbedder> {
      embedder ??= Embedder.create(files, {
        threads: options.threads ?? os.availableParallelism(),
        disabledOptimizers: options.disabledOptimizers,
      });
      return embedder;
    },
    async close() {
      if (embedder) await (await embedder).close();
      embedder = undefined;
    },
  };
}
