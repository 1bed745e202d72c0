import { formatUsd, usdToNano } from './money.js';

/**
 * A command's `--max-cost` limit, in USD of provider cost (before markup, the same figure as the
 * `usd` fields and the api_usage `cost`). Shared by every call of one command, including Aider's.
 */
export class Budget {
  readonly limitNano: bigint | undefined;
  private spent = 0n;
  private credits = 0n;

  constructor(limitUsd?: number | { nano: bigint }) {
    if (limitUsd === undefined) this.limitNano = undefined;
    else this.limitNano = typeof limitUsd === 'number' ? usdToNano(limitUsd) : limitUsd.nano;
  }

  get spentNano(): bigint {
    return this.spent;
  }

  get creditsMilli(): bigint {
    return this.credits;
  }

  /** What is left, or undefined when there is no limit. */
  remainingNano(): bigint | undefined {
    return this.limitNano === undefined ? undefined : this.limitNano - this.spent;
  }

  allows(costNano: bigint): boolean {
    return this.limitNano === undefined || this.spent + costNano <= this.limitNano;
  }

  add(costNano: bigint, creditsMilli: bigint): void {
    this.spent += costNano;
    this.credits += creditsMilli;
  }

  describe(): string {
    return this.limitNano === undefined ? 'no limit' : `${formatUsd(this.spent)} of ${formatUsd(this.limitNano)} spent`;
  }
}
