import type { Config } from '../config.js';
import type { Reporter } from '../reporter.js';
import { retryPolicy } from '../llm/retry.js';
import type { Budget } from './budget.js';
import { Ledger } from './ledger.js';
import { Meter } from './meter.js';

// Re-exported: the opener lives apart so `status` and `credits` load no LLM client code at start-up.
export { openUserLedger } from './userLedger.js';

/**
 * How long a call's credit hold outlives its process at most: every attempt timing out plus every
 * retry wait, plus a minute. (A hold of a process that died on this host is dropped sooner.)
 */
export function holdTtlMs(config: Config): number {
  const { timeoutMs, maxRetries, retryMaxDelayMs } = config.llm;
  return timeoutMs * (maxRetries + 1) + retryMaxDelayMs * maxRetries + 60_000;
}

/** A meter wired to config: credit value, markup, fallback price and retry policy. */
export function createMeter(options: {
  config: Config;
  ledger: Ledger;
  reporter: Reporter;
  project?: string | null;
  budget?: Budget;
}): Meter {
  return new Meter({
    ledger: options.ledger,
    settings: options.config.ledger,
    retry: retryPolicy(options.config),
    reporter: options.reporter,
    project: options.project ?? null,
    holdTtlMs: holdTtlMs(options.config),
    ...(options.budget ? { budget: options.budget } : {}),
  });
}
