import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../core/config.js';
import type { CheckResult } from '../../core/implement/checks.js';
import type { AttemptResult, ItemOutcome } from '../../core/implement/implementItem.js';
import type { Meter } from '../../core/ledger/meter.js';
import { milliToCredits, nanoToUsd } from '../../core/ledger/money.js';
import type { LlmProvider } from '../../core/llm/types.js';
import type { ReviewCall } from '../../core/implement/review.js';
import type { ContextHit } from '../../core/plan/planContext.js';
import { userCacheDir, type Workspace } from '../../core/workspace.js';
import type { CommandContext } from '../context.js';

/** A metered reviewer call (task "verification"); the reply carries what it was charged. */
export function meteredReviewCall(meter: Meter, provider: LlmProvider, signal?: AbortSignal): ReviewCall {
  return async (request) => {
    const response = await meter.call(provider, request, { task: 'verification', ...(signal ? { signal } : {}) });
    return {
      text: response.text,
      model: response.model,
      inputTokens: response.inputTokens,
      outputTokens: response.outputTokens,
      creditsMilli: response.creditsMilli,
      costNano: response.costNano,
    };
  };
}

/** Where a developer's `npm run setup-aider` put Aider, when running from a clone of this project. */
export function projectAiderFallbacks(): string[] {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return [
    path.resolve(here, '..', '.venv', 'aider', 'bin', 'aider'),
    path.resolve(here, '..', '..', '.venv', 'aider', 'bin', 'aider'),
  ];
}

export function aiderVersionCacheFile(): string {
  return path.join(userCacheDir(), 'aider-version.json');
}

/** Index search and refresh for the loop, only when the repository has an index. */
export async function indexHooks(
  ctx: CommandContext,
  ws: Workspace,
  config: Config,
): Promise<{
  search?: (q: string, k: number) => Promise<ContextHit[]>;
  refresh?: () => Promise<void>;
  close(): Promise<void>;
}> {
  if (!existsSync(path.join(ws.indexDir, 'index.db'))) {
    ctx.out.debug('No index: Aider gets only the item files (run `ai-dev-bot index` for context files).');
    return { close: async () => {} };
  }
  const { commandModelLoader } = await import('../modelLoader.js');
  const { IndexSearcher } = await import('../../core/index/search.js');
  const { refreshIndex } = await import('../../core/index/indexer.js');
  const model = commandModelLoader(ctx.out, config);
  return {
    async search(query, k) {
      // Opened per query: the flat vector file is cheaper to read than the graph.
      const searcher = IndexSearcher.open(ws, model, ctx.out, {
        needVectors: config.search.mode !== 'keyword',
        fewQueries: true,
      });
      try {
        return await searcher.search(query, k, config.search.mode);
      } finally {
        searcher.close();
      }
    },
    async refresh() {
      await refreshIndex(ws, config, { model, reporter: ctx.out }, {});
    },
    async close() {
      await model.close();
    },
  };
}

export function checksJson(check: CheckResult | null) {
  if (!check) return null;
  return {
    command: check.command,
    passed: check.passed,
    exitCode: check.exitCode,
    timedOut: check.timedOut,
    seconds: Math.round(check.durationMs) / 1000,
    outputTail: check.outputTail,
  };
}

export function attemptJson(a: AttemptResult) {
  return {
    n: a.n,
    verdict: a.verdict,
    feedback: a.feedback,
    problems: a.problems,
    checks: checksJson(a.checks),
    credits: milliToCredits(a.creditsMilli),
    usd: nanoToUsd(a.costNano),
    aider: a.aider,
    changedFiles: a.changedFiles,
  };
}

export function outcomeJson(o: ItemOutcome) {
  return {
    outcome: o.outcome,
    item: o.item,
    attempts: o.attempts.map(attemptJson),
    commit: o.commit,
    credits: milliToCredits(o.creditsMilli),
    usd: nanoToUsd(o.costNano),
    restored: o.restored,
    patch: o.patchFile,
    error: o.error ? { code: o.error.code, message: o.error.message, hint: o.error.hint ?? null } : null,
  };
}
