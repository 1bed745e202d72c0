import { statSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors.js';
import type { Workspace } from '../workspace.js';
import type { AiderRunResult } from './aiderRunner.js';
import { ItemStopped, type ImplementDeps, type ItemWork } from './itemWork.js';

/** Credits held for one attempt (Aider and the review) until Aider's calls are recorded. */
export interface AttemptHold {
  /** Records each of Aider's LLM calls as task `coding` and frees the hold; returns their cost. */
  record(run: AiderRunResult): { creditsMilli: bigint; costNano: bigint };
  /** Frees the hold unused (Aider did not start). */
  release(): void;
}

type BudgetDeps = Pick<ImplementDeps, 'ws' | 'config' | 'meter' | 'coder' | 'reviewer'>;

/** Rough upper bound of one Aider attempt, to reserve credits before it starts. */
export function estimateAttemptTokens(ws: Workspace, files: string[], mapTokens: number, messageChars: number) {
  let chars = messageChars + 8000; // Aider's system prompt and edit-format examples
  for (const rel of files) {
    try {
      chars += statSync(path.join(ws.root, rel)).size;
    } catch {
      // a file the attempt will create
    }
  }
  return Math.ceil(chars / 3) + mapTokens;
}

/**
 * Reserves attempt `n`'s worst case, or stops the item with the meter's error (credits, --max-cost). The
 * review must be affordable too, or Aider's spend would be wasted: both are reserved up front (the
 * diff is at most the item's files before and after, plus the prompt).
 */
export function reserveAttempt(deps: BudgetDeps, work: ItemWork, n: number, messageChars: number): AttemptHold {
  const { ws, config, meter, coder, reviewer } = deps;
  const { files, readFiles } = work.files;
  const tokens = estimateAttemptTokens(ws, [...files, ...readFiles], config.aider.mapTokens, messageChars);
  const aider = meter.estimateTokens(coder.provider, coder.model, tokens, coder.maxOutputTokens);
  const reviewTokens = estimateAttemptTokens(ws, [...files, ...files], 0, 6000);
  const review = meter.estimateTokens(reviewer.provider, reviewer.model, reviewTokens, reviewer.maxOutputTokens);
  let holdId: string;
  try {
    holdId = meter.reserve(
      { costNano: aider.costNano + review.costNano, creditsMilli: aider.creditsMilli + review.creditsMilli },
      `attempt ${n} at ${work.item.id} (Aider and the review)`,
      // Held for as long as Aider may run (its timeout), plus a minute to record the usage.
      config.aider.timeoutSec * 1000 + 60_000,
      { provider: coder.provider, model: coder.model, task: 'coding' },
    );
  } catch (error) {
    if (error instanceof AppError) throw new ItemStopped(error);
    throw error;
  }
  return {
    record: (run) => recordAiderUsage(deps, run, holdId),
    release: () => meter.ledger.releaseHold(holdId),
  };
}

/** Aider's calls are spent whatever happens next: each is recorded (our price when it gives none). */
function recordAiderUsage(
  deps: Pick<BudgetDeps, 'meter' | 'coder'>,
  run: AiderRunResult,
  holdId: string,
): { creditsMilli: bigint; costNano: bigint } {
  let creditsMilli = 0n;
  let costNano = 0n;
  run.calls.forEach((call, i) => {
    const recorded = deps.meter.recordExternalUsage(
      {
        provider: deps.coder.provider,
        model: deps.coder.model,
        task: 'coding',
        inputTokens: call.promptTokens,
        outputTokens: call.completionTokens,
        // Aider's cost when it knows the model's price; otherwise our table (or the fallback).
        ...(call.costUsd > 0 ? { costUsd: call.costUsd } : {}),
      },
      // The first call frees the attempt's hold.
      i === 0 ? holdId : undefined,
    );
    creditsMilli += recorded.creditsMilli;
    costNano += recorded.costNano;
  });
  if (run.calls.length === 0) deps.meter.ledger.releaseHold(holdId);
  return { creditsMilli, costNano };
}
