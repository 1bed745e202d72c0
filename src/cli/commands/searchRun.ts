import { usageError } from '../../core/errors.js';
import { assertInputLength } from '../../core/inputLimits.js';
import type { SearchExplanation, SearchMode } from '../../core/index/search.js';
import type { CommandContext } from '../context.js';

const PREVIEW_LINES = 12;

/** One line saying where each ranking put a result, e.g. `vector #3 (0.612) · keyword #1 (bm25 9.84)`. */
export function explanationLine(explain: SearchExplanation, score: number, mode: SearchMode): string {
  const vector =
    explain.vectorRank === undefined ? 'vector –' : `vector #${explain.vectorRank} (${explain.similarity!.toFixed(3)})`;
  const keyword =
    explain.keywordRank === undefined
      ? 'keyword –'
      : `keyword #${explain.keywordRank} (bm25 ${explain.bm25!.toFixed(2)})`;
  const parts = mode === 'vector' ? [vector] : mode === 'keyword' ? [keyword] : [vector, keyword];
  if (explain.declarationFactor !== undefined) parts.push(`declarations only ×${explain.declarationFactor}`);
  return `${parts.join(' · ')} · ${mode === 'hybrid' ? 'fused' : 'score'} ${score.toFixed(4)}`;
}

export async function runSearch(
  ctx: CommandContext,
  words: string[],
  opts: { k?: number; mode?: SearchMode; explain?: boolean },
) {
  const query = words.join(' ').trim();
  if (!query)
    throw usageError('The search query is empty.', 'Pass some words, e.g. `ai-dev-bot search "retry delay"`.');
  assertInputLength('query', query);
  const rt = ctx.runtime();
  const k = opts.k ?? rt.config.search.k;
  const mode = opts.mode ?? rt.config.search.mode;
  try {
    const searcher = await rt.searcher({ needVectors: mode !== 'keyword', fewQueries: true });
    const found = await searcher.search(query, k, mode);
    const results = opts.explain ? found : found.map(({ explain: _explain, ...rest }) => rest);
    ctx.out.result({ query, mode, results }, () => {
      if (results.length === 0) return `No results for "${query}".`;
      return found
        .map((r) => {
          const lines = r.text.split('\n');
          const preview = lines.slice(0, PREVIEW_LINES).map((l) => `    ${l}`);
          if (lines.length > PREVIEW_LINES) preview.push(`    … ${lines.length - PREVIEW_LINES} more lines`);
          const why = opts.explain ? `\n    [${explanationLine(r.explain, r.score, mode)}]` : '';
          return `${r.path}:${r.startLine}-${r.endLine}  (score ${r.score.toFixed(4)})${why}\n${preview.join('\n')}`;
        })
        .join('\n\n');
    });
  } finally {
    await rt.close();
  }
}
