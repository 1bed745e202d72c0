import { createHash } from 'node:crypto';

/** A span of whole lines that fits the model window, with its token ids kept for embedding. */
export interface Chunk {
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
  text: string;
  /** WordPiece ids of the text without special tokens; concatenation of the per-line ids. */
  tokenIds: number[];
  /** Content hash of `text`: the embedding-cache key, so moved or copied code is not embedded again. */
  hash: string;
}

export interface ChunkOptions {
  /** Token budget for the chunk text (window minus special tokens and the path header). */
  budget: number;
  /** Lines repeated at the start of the next chunk when a cut falls inside a block. */
  overlapLines?: number;
}

/** Tokenises one line to ids (no special tokens). BERT splits on whitespace, so line ids concatenate exactly. */
export type LineTokenizer = (line: string) => number[];

const DECLARATION_START =
  /^(?:export\s+|default\s+|async\s+|public\s+|private\s+|protected\s+|static\s+|abstract\s+|final\s+|pub(?:\([^)]*\))?\s+|unsafe\s+)*(?:function\b|class\b|interface\b|type\b|enum\b|const\b|let\b|var\b|def\b|fn\b|impl\b|struct\b|trait\b|mod\b|func\b|package\b|module\b|namespace\b|describe\(|it\(|test\(|@|#\[|#{1,6}\s)/;

function isBlank(line: string | undefined): boolean {
  return line === undefined || line.trim().length === 0;
}

/** Where a new top-level unit starts: a declaration at column 0, or a closing brace right before it. */
function isStrongBoundary(lines: string[], index: number): boolean {
  const line = lines[index]!;
  if (!DECLARATION_START.test(line)) return false;
  const prev = lines[index - 1];
  return isBlank(prev) || /^[}\])][;,)]*\s*$/.test(prev!) || /^\s*(?:\/\/|#|\*|\/\*)/.test(prev!);
}

export function hashText(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/**
 * Splits a file into chunks of whole lines within the token budget, preferring to cut before a
 * top-level declaration, then at a blank line, and only then mid-block (with a small overlap).
 */
export function chunkFile(text: string, tokenize: LineTokenizer, options: ChunkOptions): Chunk[] {
  const budget = Math.max(8, options.budget);
  const overlapLines = options.overlapLines ?? 2;
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const lineIds = lines.map((line) => (isBlank(line) ? [] : tokenize(line)));
  // prefix[i] = tokens in lines[0..i)
  const prefix = new Array<number>(lines.length + 1);
  prefix[0] = 0;
  for (let i = 0; i < lines.length; i++) prefix[i + 1] = prefix[i]! + lineIds[i]!.length;
  const tokensIn = (from: number, to: number) => prefix[to]! - prefix[from]!;

  const chunks: Chunk[] = [];
  const emit = (from: number, to: number) => {
    while (to > from && isBlank(lines[to - 1])) to--;
    if (to <= from) return;
    const ids: number[] = [];
    for (let i = from; i < to; i++) for (const id of lineIds[i]!) ids.push(id);
    const chunkText = lines.slice(from, to).join('\n');
    chunks.push({
      startLine: from + 1,
      endLine: to,
      text: chunkText,
      tokenIds: ids.length > budget ? ids.slice(0, budget) : ids,
      hash: hashText(chunkText),
    });
  };

  let start = 0;
  while (start < lines.length) {
    while (start < lines.length && isBlank(lines[start])) start++;
    if (start >= lines.length) break;
    let end = start;
    while (end < lines.length && tokensIn(start, end + 1) <= budget) end++;
    if (end === start) {
      // One line longer than the window: its own chunk, truncated for embedding (full text stays searchable).
      emit(start, start + 1);
      start += 1;
      continue;
    }
    if (end >= lines.length) {
      emit(start, end);
      break;
    }
    let cut = -1;
    let overlap = 0;
    for (let c = end; c > start && tokensIn(start, c) >= budget * 0.4; c--) {
      if (isStrongBoundary(lines, c)) {
        cut = c;
        break;
      }
    }
    if (cut === -1) {
      for (let c = end; c > start && tokensIn(start, c) >= budget * 0.3; c--) {
        if (isBlank(lines[c - 1]) || isBlank(lines[c])) {
          cut = c;
          break;
        }
      }
    }
    if (cut === -1) {
      cut = end;
      overlap = Math.min(overlapLines, Math.max(0, cut - start - 1));
    }
    emit(start, cut);
    start = Math.max(start + 1, cut - overlap);
  }
  return chunks;
}

/** Memoises line tokenisation: code repeats lines (`}`, `return null;`, imports) a lot. */
export function cachedLineTokenizer(tokenize: LineTokenizer, maxEntries = 50_000): LineTokenizer {
  const cache = new Map<string, number[]>();
  return (line) => {
    const key = line.trim();
    let ids = cache.get(key);
    if (!ids) {
      ids = tokenize(key);
      if (cache.size >= maxEntries) cache.clear();
      cache.set(key, ids);
    }
    return ids;
  };
}
