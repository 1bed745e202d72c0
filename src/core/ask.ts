import { AppError } from './errors.js';
import type { SearchResult } from './index/search.js';
import { assertInputLength } from './inputLimits.js';
import type { MeteredModel, ModelRequest } from './llm/meteredModel.js';
import type { MeteredResponse } from './llm/meter.js';
import type { Reporter } from './reporter.js';
import { describeRedaction, redactExcerpts } from './secrets/excerptRedaction.js';

/**
 * `ask`: answer a question about the repository from its index. The model sees only the top
 * chunks, each labelled `path:start-end`, and is told to cite those labels and to say so when the
 * excerpts do not answer the question. Secret files never reach it: the index excludes them.
 */
export const ASK_SYSTEM_PROMPT = [
  'You answer questions about a software repository using only the numbered excerpts given.',
  'Cite the excerpts you rely on by their label, exactly as written, e.g. (src/app.ts:10-42).',
  'If the excerpts do not contain the answer, say so plainly and suggest where to look; do not guess.',
  'Be concise: a short paragraph or a few bullet points, code only when it helps.',
].join(' ');

export interface AskSource {
  path: string;
  startLine: number;
  endLine: number;
  /** True when the answer cites this excerpt's path. */
  cited: boolean;
}

export interface AskResult {
  answer: string;
  sources: AskSource[];
  response: MeteredResponse;
}

export function sourceLabel(chunk: Pick<SearchResult, 'path' | 'startLine' | 'endLine'>): string {
  return `${chunk.path}:${chunk.startLine}-${chunk.endLine}`;
}

/** Longest fence of backticks inside `text`, so the excerpt's own fences cannot close ours. */
function fenceFor(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return '`'.repeat(longest + 1);
}

export function buildAskRequest(question: string, chunks: SearchResult[]): ModelRequest {
  const excerpts = chunks.map((chunk, i) => {
    const fence = fenceFor(chunk.text);
    return `[${i + 1}] ${sourceLabel(chunk)}\n${fence}\n${chunk.text}\n${fence}`;
  });
  const context = excerpts.length ? excerpts.join('\n\n') : '(the index returned no excerpts)';
  return {
    system: ASK_SYSTEM_PROMPT,
    messages: [{ role: 'user', content: `Excerpts from the repository:\n\n${context}\n\nQuestion: ${question}` }],
    temperature: 0.2,
  };
}

export interface AskSearcher {
  search(query: string, k: number, mode: 'hybrid'): Promise<SearchResult[]>;
}

export async function askRepository(options: {
  question: string;
  k: number;
  searcher: AskSearcher;
  /** The architect's model (task `ask`). */
  model: MeteredModel;
  signal?: AbortSignal;
  /** Told (debug) where credentials were masked in the excerpts. */
  reporter?: Pick<Reporter, 'debug'>;
}): Promise<AskResult> {
  assertInputLength('question', options.question);
  const found = await options.searcher.search(options.question, options.k, 'hybrid');
  const chunks = await redactExcerpts(found, (r) =>
    options.reporter?.debug(`redacted a secret before sending: ${describeRedaction(r)}`),
  );
  const request = buildAskRequest(options.question, chunks);
  const response = await options.model.complete(request, {
    task: 'ask',
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const answer = response.text.trim();
  if (!answer) {
    // Charged already (the provider billed it); say why there is nothing to show.
    throw new AppError(
      'provider_failed',
      `${options.model.label} returned an empty answer after ${response.outputTokens} output tokens.`,
      'Reasoning models can spend the whole budget thinking: raise llm.architect.maxOutputTokens, or try another model.',
    );
  }
  const sources = chunks.map((c) => ({
    path: c.path,
    startLine: c.startLine,
    endLine: c.endLine,
    cited: answer.includes(c.path),
  }));
  return { answer, sources, response };
}
