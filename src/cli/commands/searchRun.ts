import { usageError } from '../../core/errors.js';
import { assertInputLength } from '../../core/inputLimits.js';
import { commandModelLoader } from '../modelLoader.js';
import { IndexSearcher, type SearchMode } from '../../core/index/search.js';
import type { CommandContext } from '../context.js';

const PREVIEW_LINES = 12;

function parseK(value: string): number {
  const k = Number(value);
  if (!Number.isInteger(k) || k < 1 || k > 100)
    throw usageError(`-k must be an integer from 1 to 100, got "${value}".`);
  return k;
}

export async function runSearch(ctx: CommandContext, words: string[], opts: { k?: string; mode?: SearchMode }) {
  const query = words.join(' ').trim();
  if (!query)
    throw usageError('The search query is empty.', 'Pass some words, e.g. `ai-dev-bot search "retry delay"`.');
  assertInputLength('query', query);
  const ws = ctx.workspace();
  const config = ctx.config();
  const k = opts.k === undefined ? config.search.k : parseK(opts.k);
  const mode = opts.mode ?? config.search.mode;
  const model = commandModelLoader(ctx.out, config);
  const searcher = IndexSearcher.open(ws, model, ctx.out, { needVectors: mode !== 'keyword' });
  try {
    const results = await searcher.search(query, k, mode);
    ctx.out.result({ query, mode, results }, () => {
      if (results.length === 0) return `No results for "${query}".`;
      return results
        .map((r) => {
          const lines = r.text.split('\n');
          const preview = lines.slice(0, PREVIEW_LINES).map((l) => `    ${l}`);
          if (lines.length > PREVIEW_LINES) preview.push(`    … ${lines.length - PREVIEW_LINES} more lines`);
          return `${r.path}:${r.startLine}-${r.endLine}  (score ${r.score.toFixed(4)})\n${preview.join('\n')}`;
        })
        .join('\n\n');
    });
  } finally {
    searcher.close();
    await model.close();
  }
}
