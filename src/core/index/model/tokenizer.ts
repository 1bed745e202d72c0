import { readFile } from 'node:fs/promises';
import { Tokenizer } from '@huggingface/tokenizers';
import type { ModelFiles } from './locateModel.js';
import type { TextTokenizer } from './types.js';

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
  const tokenizer = new Tokenizer(JSON.parse(tokenizerJson) as object, JSON.parse(tokenizerConfigJson) as object);
  memoizeWordPieces(tokenizer);
  skipBertNormalizerForAscii(tokenizer);
  return tokenizer;
}

/** Printable ASCII and tabs: what BertNormalizer only lowercases (and turns tabs into spaces). */
const PLAIN_ASCII = /^[\t\x20-\x7e]*$/;

/**
 * BertNormalizer tests every character against Unicode-property regexes (control, CJK, accents):
 * ~0.8 s per 10k chunks of code on the thread that feeds inference. On printable ASCII and tabs its
 * steps reduce to tabs → spaces (clean_text) and lowercasing (accent stripping and CJK spacing
 * change nothing), so such text takes that path; anything else goes through the library's
 * normalizer. With memoizeWordPieces, the 87.5k distinct lines of bench:index's corpus tokenise in
 * 1.1 s instead of 2.3 s, with the same ids.
 */
function skipBertNormalizerForAscii(tokenizer: Tokenizer): void {
  const normalizer = tokenizer.normalizer;
  const config = normalizer?.config as { type?: string; clean_text?: boolean; lowercase?: boolean } | undefined;
  if (!normalizer || config?.type !== 'BertNormalizer') return;
  const full = normalizer.normalize.bind(normalizer);
  normalizer.normalize = (text: string) => {
    if (!PLAIN_ASCII.test(text)) return full(text);
    const cleaned = config.clean_text ? text.replaceAll('\t', ' ') : text;
    return config.lowercase ? cleaned.toLowerCase() : cleaned;
  };
}

/**
 * Distinct words whose pieces are remembered: bench:index's 10k chunks hold ~18k; 84.6k distinct
 * words of node_modules code took 28 MiB of heap, so the cap holds it to ~17 MiB.
 */
const WORD_CACHE_ENTRIES = 50_000;

/**
 * The library's WordPiece splits each word by trying ever shorter substrings, building a string
 * per try, and code repeats the same identifiers endlessly: remembering each word's pieces makes
 * tokenising bench:index's corpus ~25% faster, on the thread that feeds inference. The model
 * splits words independently, so the pieces (and ids) are the same.
 */
function memoizeWordPieces(tokenizer: Tokenizer): void {
  const model = tokenizer.model;
  if (!model) return;
  const split = model.encode.bind(model);
  const pieces = new Map<string, string[]>();
  const remember = (word: string): string[] => {
    const wordPieces = split([word]);
    if (pieces.size < WORD_CACHE_ENTRIES) pieces.set(word, wordPieces);
    return wordPieces;
  };
  model.encode = (words: string[]) => {
    const out: string[] = [];
    for (const word of words) for (const piece of pieces.get(word) ?? remember(word)) out.push(piece);
    return out;
  };
}

/** The tokenizer as the index and search use it: ids without special tokens, plus [CLS]/[SEP]. */
export async function loadTextTokenizer(files: ModelFiles): Promise<TextTokenizer> {
  const tok = await loadTokenizer(files);
  const clsId = tok.token_to_id('[CLS]');
  const sepId = tok.token_to_id('[SEP]');
  if (clsId === undefined || sepId === undefined) throw new Error(`${files.tokenizerPath} lacks [CLS]/[SEP] tokens.`);
  return { clsId, sepId, tokenize: (text: string) => tok.encode(text, { add_special_tokens: false }).ids };
}

/** A query as the model reads it: [CLS], the first maxTokens - 2 ids, [SEP]. */
export function queryRow(tokenizer: TextTokenizer, text: string, maxTokens: number): number[] {
  return [tokenizer.clsId, ...tokenizer.tokenize(text).slice(0, maxTokens - 2), tokenizer.sepId];
}

export type { Tokenizer };
