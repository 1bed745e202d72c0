import { InvalidArgumentError } from 'commander';
import { parseUsdAmount } from '../core/ledger/bounds.js';

/**
 * Value parsers for commander's `Option.argParser`: a bad value fails while the command line is
 * parsed, as a usage error (exit 2, `bad_argument` under --json) that names the flag and the range.
 */
export function integerFlag(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    // Digits only: Number('') is 0 and Number('1e1') is 10, neither of which a user meant.
    const n = /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${flag} must be an integer from ${min} to ${max}, got "${value}".`);
    return n;
  };
}

/** A USD amount such as `--max-cost 0.50` → nano-USD, exact and within the ledger's range. */
export function usdFlag(flag: string): (value: string) => bigint {
  return (value) => {
    try {
      return parseUsdAmount(value, flag);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}
