import { formatUsd, milliToCredits, nanoToUsd, usdToNano } from '../ledger/money.js';

/** What a command (or a part of it) spent: every recorded call, ours and Aider's, billed failures included. */
export interface Spend {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costNano: bigint;
  creditsMilli: bigint;
}

const NOTHING: Spend = { calls: 0, inputTokens: 0, outputTokens: 0, costNano: 0n, creditsMilli: 0n };

/**
 * A command's spend and its `--max-cost` limit, in USD of provider cost (before markup, the same
 * figure as the `usd` fields and the api_usage `cost`). Shared by every call of one command,
 * including Aider's: a command's cost is read here (`spent()`, or `since(mark)` for a part of it).
 */
export class Budget {
  readonly limitNano: bigint | undefined;
  private total: Spend = NOTHING;

  constructor(limitUsd?: number | { nano: bigint }) {
    if (limitUsd === undefined) this.limitNano = undefined;
    else this.limitNano = typeof limitUsd === 'number' ? usdToNano(limitUsd) : limitUsd.nano;
  }

  get spentNano(): bigint {
    return this.total.costNano;
  }

  get creditsMilli(): bigint {
    return this.total.creditsMilli;
  }

  /** Everything recorded so far; pass it to `since` later to get the spend of what happened between. */
  spent(): Spend {
    return this.total;
  }

  since(mark: Spend): Spend {
    const now = this.total;
    return {
      calls: now.calls - mark.calls,
      inputTokens: now.inputTokens - mark.inputTokens,
      outputTokens: now.outputTokens - mark.outputTokens,
      costNano: now.costNano - mark.costNano,
      creditsMilli: now.creditsMilli - mark.creditsMilli,
    };
  }

  /** What is left, or undefined when there is no limit. */
  remainingNano(): bigint | undefined {
    return this.limitNano === undefined ? undefined : this.limitNano - this.total.costNano;
  }

  allows(costNano: bigint): boolean {
    return this.limitNano === undefined || this.total.costNano + costNano <= this.limitNano;
  }

  /** Counts one recorded call. */
  add(call: Omit<Spend, 'calls'>): void {
    const t = this.total;
    this.total = {
      calls: t.calls + 1,
      inputTokens: t.inputTokens + call.inputTokens,
      outputTokens: t.outputTokens + call.outputTokens,
      costNano: t.costNano + call.costNano,
      creditsMilli: t.creditsMilli + call.creditsMilli,
    };
  }

  describe(): string {
    return this.limitNano === undefined
      ? 'no limit'
      : `${formatUsd(this.total.costNano)} of ${formatUsd(this.limitNano)} spent`;
  }
}

/** A spend for JSON output (DESIGN §3 `usage`): integer money → numbers. */
export function usageSummary(spend: Spend) {
  return {
    inputTokens: spend.inputTokens,
    outputTokens: spend.outputTokens,
    credits: milliToCredits(spend.creditsMilli),
    usd: nanoToUsd(spend.costNano),
  };
}
