import { readFile } from 'node:fs/promises';
import { Tokenizer } from '@huggingface/tokenizers';
import type { ModelFiles } from './locateModel.js';

/**
 * The model's own WordPiece tokenizer, read from tokenizer.json by @huggingface/tokenizers
 * (never hand-written). That library ignores the file's truncation/padding sections, so callers
 * see every token and decide themselves how to cut at the model's maxTokens.
 */
export async function loadTokenizer(files: ModelFiles): Promise<Tokenizer> {
  const [tokenizerJson, tokenizerConfigJson] = await Promise.all([
    readFile(files.tokenizerPath, 'utf8'),
    readFile(files.tokenizerConfigPath, 'utf8'),
  ]);
  return new Tokenizer(JSON.parse(tokenizerJson) as object, JSON.parse(tokenizerConfigJson) as object);
}

export type { Tokenizer };
