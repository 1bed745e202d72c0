import { statSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors.js';
import type { Spend } from '../llm/budget.js';
import type { ExternalCall, ExternalSpend } from '../llm/meteredModel.js';
import type { Workspace } from '../workspace.js';
import type { AiderRunResult } from './aiderRunner.js';
import { ItemStopped, type ImplementDeps, type ItemWork } from './itemWork.js';

/** Credits held for one attempt (Aider and the review) until Aider's calls are recorded. */
export interface AttemptHold {
  /** Records each of Aider's LLM calls as task `coding` and frees the hold; returns their cost. */
  record(run: AiderRunResult): Spend;
  /** Frees the hold unused (Aider did not start). */
  release(): void;
}

type BudgetDeps = Pick<ImplementDeps, 'ws' | 'config' | 'coder' | 'reviewer'>;

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
  const { ws, config, coder, reviewer } = deps;
  const { files, readFiles } = work.files;
  const aider = coder.estimate(
    estimateAttemptTokens(ws, [...files, ...readFiles], config.aider.mapTokens, messageChars),
  );
  const review = reviewer.estimate(estimateAttemptTokens(ws, [...files, ...files], 0, 6000));
  let spend: ExternalSpend;
  try {
    spend = coder.reserveExternal(
      { costNano: aider.costNano + review.costNano, creditsMilli: aider.creditsMilli + review.creditsMilli },
      {
        what: `attempt ${n} at ${work.item.id} (Aider and the review)`,
        task: 'coding',
        // Held for as long as Aider may run (its timeout), plus a minute to record the usage.
        ttlMs: config.aider.timeoutSec * 1000 + 60_000,
      },
    );
  } catch (error) {
    if (error instanceof AppError) throw new ItemStopped(error);
    throw error;
  }
  return { record: (run) => spend.record(aiderCalls(run, aider)), release: () => spend.release() };
}

/**
 * Aider's calls are spent whatever happens next: each is recorded (our price when it gives none).
 * A call it never reported is recorded as estimated: its approximate counts, else this attempt's estimate.
 */
function aiderCalls(run: AiderRunResult, estimate: { inputTokens: number; outputTokens: number }): ExternalCall[] {
  return run.calls.map((call) => {
    const unknown = call.estimated === true && call.promptTokens === 0;
    return {
      inputTokens: unknown ? estimate.inputTokens : call.promptTokens,
      outputTokens: unknown ? estimate.outputTokens : call.completionTokens,
      // Aider's cost when it knows the model's price; otherwise our table (or the fallback).
      ...(call.costUsd > 0 ? { costUsd: call.costUsd } : {}),
      ...(call.estimated ? { estimated: true } : {}),
    };
  });
}
