import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { Reporter } from '../reporter.js';
import type { Ledger, RecordedUsage, UsageRecordInput } from '../ledger/ledger.js';
import { ProviderError } from './providerError.js';
import { retryPolicy, withRetries, type RetryPolicy } from './retry.js';
import { countRequestTokens, loadTokenCounter, type TokenCounter } from './tokenCount.js';
import type { LlmProvider, LlmRequest, LlmResponse } from './types.js';
import { Budget } from './budget.js';
import {
  costFromTokens,
  creditRate,
  creditsForCost,
  formatCredits,
  formatUsd,
  milliToCredits,
  nanoToUsd,
  pricePerMtokToNano,
  usdToNano,
  type CreditRate,
  type Price,
} from '../ledger/money.js';

export type MeterSettings = Pick<Config['ledger'], 'creditValueUsd' | 'markup' | 'fallbackPrice'>;

export interface MeterOptions {
  ledger: Ledger;
  settings: MeterSettings;
  retry: RetryPolicy;
  reporter: Reporter;
  /** Name of the repository the calls are for (stored with each row), or null outside one. */
  project?: string | null;
  /** The command's --max-cost budget; unlimited when absent. */
  budget?: Budget;
  tokenCounter?: Promise<TokenCounter>;
  /** Longest a call may keep credits on hold before a crashed process's hold is ignored. */
  holdTtlMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export type PriceSource = 'table' | 'fallback' | 'free';

export interface CostEstimate {
  inputTokens: number;
  outputTokens: number;
  costNano: bigint;
  creditsMilli: bigint;
  priceSource: PriceSource;
}

/** An LLM answer plus what it was charged. */
export interface MeteredResponse extends LlmResponse {
  usageId: string;
  transactionId: string;
  costNano: bigint;
  creditsMilli: bigint;
  /** Attempts made, including retried ones. */
  attempts: number;
}

/** Usage that happened outside our providers (Aider's own LLM calls, parsed from its report). */
export interface ExternalUsage {
  provider: string;
  model: string;
  task: string;
  inputTokens: number;
  outputTokens: number;
  /** Cost the tool reported, in USD; when absent the price table (or fallback) is used. */
  costUsd?: number;
  latencyMs?: number;
  /** `failed` for a call that errored but was still billed. */
  status?: 'ok' | 'failed';
}

/**
 * The one way LLM calls are made and paid for: estimate → refuse if the balance or budget could go
 * below zero (nothing is sent) → call with retries → record the usage row and the deduction in one
 * transaction. Retried attempts are charged only if the provider billed them.
 */
export class Meter {
  readonly ledger: Ledger;
  readonly budget: Budget;
  /** Where warnings about these calls go (retries, fallback prices, invalid answers). */
  readonly reporter: Reporter;
  private readonly rate: CreditRate;
  private readonly fallback: Price;
  private readonly warnedFallback = new Set<string>();

  constructor(private readonly options: MeterOptions) {
    this.ledger = options.ledger;
    this.budget = options.budget ?? new Budget();
    this.reporter = options.reporter;
    this.rate = creditRate(options.settings.creditValueUsd, options.settings.markup);
    this.fallback = {
      inputNanoPerMtok: pricePerMtokToNano(options.settings.fallbackPrice.input),
      outputNanoPerMtok: pricePerMtokToNano(options.settings.fallbackPrice.output),
    };
  }

  /** Loaded on first estimate only: recording outside usage needs no tokenizer. */
  private counter(): Promise<TokenCounter> {
    return this.options.tokenCounter ?? loadTokenCounter();
  }

  /** The price in force for a model, or the configured fallback (with a warning, once per model). */
  priceFor(provider: string, model: string): { price: Price; source: PriceSource } {
    const normalized = model.replace(/^models\//, '');
    const price = this.ledger.activePrice(provider, normalized);
    if (price) {
      const free = price.inputNanoPerMtok === 0n && price.outputNanoPerMtok === 0n;
      return { price, source: free ? 'free' : 'table' };
    }
    const key = `${provider}/${normalized}`;
    if (!this.warnedFallback.has(key)) {
      this.warnedFallback.add(key);
      this.options.reporter.warn(
        `No price for ${provider} model "${normalized}"; charging the fallback price ` +
          `($${this.options.settings.fallbackPrice.input}/$${this.options.settings.fallbackPrice.output} per Mtok in/out). ` +
          `Set it with: ai-dev-bot pricing set ${provider} ${normalized} --input <usd/Mtok> --output <usd/Mtok>`,
      );
    }
    return { price: this.fallback, source: 'fallback' };
  }

  creditsFor(costNano: bigint): bigint {
    return creditsForCost(costNano, this.rate);
  }

  /** Upper-bound cost of a request: its input tokens counted, output assumed to use the whole cap. */
  async estimate(provider: LlmProvider, request: LlmRequest): Promise<CostEstimate> {
    const counter = await this.counter();
    const inputTokens = countRequestTokens(counter, request);
    const outputTokens = request.maxOutputTokens;
    return this.estimateTokens(provider.id, provider.model, inputTokens, outputTokens);
  }

  /** Cost of a token count at the price in force (e.g. to reserve credits before an Aider run). */
  estimateTokens(provider: string, model: string, inputTokens: number, outputTokens: number): CostEstimate {
    const { price, source } = this.priceFor(provider, model);
    const costNano = costFromTokens(price, inputTokens, outputTokens);
    return { inputTokens, outputTokens, costNano, creditsMilli: this.creditsFor(costNano), priceSource: source };
  }

  /** Counts the tokens of a text with the estimating tokenizer (loaded on first use). */
  async countTokens(text: string): Promise<number> {
    return (await this.counter()).count(text);
  }

  /** Throws exit 3 if `estimate` does not fit the command's budget. */
  assertWithinBudget(estimate: Pick<CostEstimate, 'costNano'>, what: string): void {
    if (this.budget.allows(estimate.costNano)) return;
    const left = this.budget.remainingNano() ?? 0n;
    throw new AppError(
      'budget_exceeded',
      `Stopped before ${what}: it could cost up to ${formatUsd(estimate.costNano)}, and ${formatUsd(left < 0n ? 0n : left)} ` +
        `of the --max-cost budget (${formatUsd(this.budget.limitNano!)}) is left. Nothing was sent.`,
      'Raise --max-cost, or lower llm.<role>.maxOutputTokens so each call reserves less.',
    );
  }

  private insufficient(what: string, neededMilli: bigint, availableMilli: bigint): AppError {
    return new AppError(
      'insufficient_credits',
      `Not enough credits for ${what}: it could cost up to ${formatCredits(neededMilli)} credits and ` +
        `${formatCredits(availableMilli < 0n ? 0n : availableMilli)} are available. Nothing was sent.`,
      'Add credits with `ai-dev-bot credits grant <n>` (or sync with your team ledger), then run the command again.',
    );
  }

  /**
   * Sets credits aside for work about to happen elsewhere (e.g. an Aider run), under the same
   * rules as our own calls: exit 3 if the balance or budget cannot cover `estimate`.
   * Release the returned hold with `ledger.releaseHold` or pass it to `recordExternalUsage`.
   */
  reserve(
    estimate: Pick<CostEstimate, 'costNano' | 'creditsMilli'> &
      Partial<Pick<CostEstimate, 'inputTokens' | 'outputTokens'>>,
    what: string,
    ttlMs?: number,
    /** The work the credits are for: charged as an estimate if this process dies during it. */
    work?: { provider: string; model: string; task: string },
  ): string {
    this.assertWithinBudget(estimate, what);
    const charge = work && {
      ...work,
      project: this.options.project ?? null,
      costNano: estimate.costNano,
      inputTokens: estimate.inputTokens ?? 0,
      outputTokens: estimate.outputTokens ?? 0,
      // The work starts right after the reservation (Aider gets the key and calls at once).
      sent: true,
    };
    const hold = this.ledger.tryHold(estimate.creditsMilli, ttlMs ?? this.holdTtlFor(), charge);
    if (!hold.ok) throw this.insufficient(what, estimate.creditsMilli, hold.availableMilli);
    return hold.holdId;
  }

  private holdTtlFor(): number {
    if (this.options.holdTtlMs !== undefined) return this.options.holdTtlMs;
    const { maxRetries, maxDelayMs } = this.options.retry;
    // Without the provider timeout at hand, assume attempts of up to 5 minutes.
    return (maxRetries + 1) * 5 * 60_000 + maxRetries * maxDelayMs + 60_000;
  }

  /** Makes one metered LLM call for `task` (e.g. "ask", "plan", "review"). */
  async call(
    provider: LlmProvider,
    request: LlmRequest,
    options: { task: string; signal?: AbortSignal },
  ): Promise<MeteredResponse> {
    const what = `this ${options.task} call to ${provider.id}/${provider.model}`;
    const estimate = await this.estimate(provider, request);
    this.assertWithinBudget(estimate, what);
    const hold = this.ledger.tryHold(estimate.creditsMilli, this.holdTtlFor(), {
      provider: provider.id,
      model: provider.model.replace(/^models\//, ''),
      task: options.task,
      project: this.options.project ?? null,
      costNano: estimate.costNano,
      inputTokens: estimate.inputTokens,
      outputTokens: estimate.outputTokens,
      // The request goes out right away: if we are killed from here on, the provider may still
      // serve and bill it, so a leftover hold is charged.
      sent: true,
    });
    if (!hold.ok) throw this.insufficient(what, estimate.creditsMilli, hold.availableMilli);

    let attempts = 0;
    let response: LlmResponse;
    try {
      response = await withRetries(
        (n) => {
          attempts = n;
          return provider.complete(request, options.signal);
        },
        this.options.retry,
        { name: `${provider.id} (${provider.model})`, keyEnvVar: provider.keyEnvVar },
        {
          onFailedAttempt: (error) => {
            // "A failed call is not charged unless the provider billed it."
            if (error instanceof ProviderError && error.billed) {
              this.recordExternalUsage({
                provider: provider.id,
                model: provider.model,
                task: options.task,
                inputTokens: error.billed.inputTokens,
                outputTokens: error.billed.outputTokens,
                ...(error.billed.costUsd !== undefined ? { costUsd: error.billed.costUsd } : {}),
                status: 'failed',
              });
            }
          },
          onRetry: (error, attempt, delayMs) =>
            this.options.reporter.warn(
              `${provider.id} (${provider.model}): ${error.message}; retry ${attempt}/${this.options.retry.maxRetries} in ${(delayMs / 1000).toFixed(1)} s`,
            ),
          ...(this.options.sleep ? { sleep: this.options.sleep } : {}),
          ...(this.options.random ? { random: this.options.random } : {}),
        },
      );
    } catch (error) {
      this.ledger.releaseHold(hold.holdId);
      throw error;
    }

    let inputTokens = response.inputTokens;
    let outputTokens = response.outputTokens;
    if (response.usageEstimated) {
      // Servers that report no usage (some local ones): charge our own count rather than nothing.
      const counter = await this.counter();
      inputTokens = estimate.inputTokens;
      outputTokens = counter.count(response.text);
    }
    const recorded = this.record(
      {
        provider: provider.id,
        model: provider.model,
        task: options.task,
        inputTokens,
        outputTokens,
        ...(response.costUsd !== undefined ? { costUsd: response.costUsd } : {}),
        latencyMs: response.latencyMs,
        status: 'ok',
      },
      Boolean(response.usageEstimated),
      hold.holdId,
    );
    return {
      ...response,
      inputTokens,
      outputTokens,
      usageId: recorded.usageId,
      transactionId: recorded.transactionId,
      costNano: recorded.costNano,
      creditsMilli: recorded.creditsMilli,
      attempts,
    };
  }

  /**
   * Records usage that happened elsewhere (Aider's calls) with its deduction, in one transaction.
   * It is not refused — the tokens are already spent — but it counts against the budget, so the
   * next `call` or `reserve` stops if the budget is used up. Pass `holdId` from `reserve` to free it.
   */
  recordExternalUsage(usage: ExternalUsage, holdId?: string, tokensEstimated = false): RecordedUsage {
    return this.record(usage, tokensEstimated, holdId);
  }

  private record(usage: ExternalUsage, tokensEstimated: boolean, holdId?: string): RecordedUsage {
    let costNano: bigint;
    let costSource: UsageRecordInput['costSource'];
    if (usage.costUsd !== undefined && Number.isFinite(usage.costUsd) && usage.costUsd >= 0) {
      costNano = usdToNano(usage.costUsd);
      costSource = 'provider';
    } else {
      const { price, source } = this.priceFor(usage.provider, usage.model);
      costNano = costFromTokens(price, usage.inputTokens, usage.outputTokens);
      costSource = source;
    }
    const creditsMilli = this.creditsFor(costNano);
    const recorded = this.ledger.recordUsage(
      {
        project: this.options.project ?? null,
        provider: usage.provider,
        model: usage.model.replace(/^models\//, ''),
        task: usage.task,
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        costNano,
        costSource,
        tokensEstimated,
        latencyMs: usage.latencyMs ?? null,
        status: usage.status ?? 'ok',
        creditsMilli,
        description:
          `${usage.task}: ${usage.provider}/${usage.model} ${usage.inputTokens} in + ${usage.outputTokens} out tokens` +
          (usage.status === 'failed' ? ' (failed, billed)' : ''),
      },
      holdId,
    );
    this.budget.add({ inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, costNano, creditsMilli });
    this.options.reporter.event?.({
      type: 'charge',
      task: usage.task,
      provider: usage.provider,
      model: usage.model,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      credits: milliToCredits(creditsMilli),
      usd: nanoToUsd(costNano),
    });
    return recorded;
  }
}

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
