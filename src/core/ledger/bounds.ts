import { AppError } from '../errors.js';

/**
 * The range every money value the ledger stores must lie in (README "Limits").
 *
 * Stored columns are SQLite INTEGER (and BIGINT on the coming PostgreSQL server): signed 64-bit,
 * |x| < 2^63 ≈ 9.2 × 10^18. We keep every single value at most 10^15 of its unit, below 2^53, so it
 * is also an exact JavaScript number, and a sum of up to 9,000 maximal rows still fits 64 bits.
 * The balance itself is kept at most 10^15 milli-credits by `grant`, so running sums stay small.
 */
export const MAX_CREDITS_MILLI = 10n ** 15n; // 10^12 credits: one grant, and the balance
export const MAX_USD_NANO = 10n ** 15n; // $1,000,000: --max-cost, the cost of one call
export const MAX_PRICE_NANO_PER_MTOK = 10n ** 14n; // $100,000 per million tokens

/** The same limits in user units, for config schemas and messages. */
export const MAX_CREDITS = 1e12;
export const MAX_USD = 1e6;
export const MAX_PRICE_USD_PER_MTOK = 1e5;

const DECIMAL = /^\+?(\d+)(?:\.(\d*))?$/;

function badAmount(what: string, value: string, why: string, max: string): AppError {
  return new AppError(
    'bad_argument',
    `${what} ${why}, got "${value}".`,
    `Give a plain decimal number from 0 to ${max} (e.g. 2.5).`,
  );
}

/**
 * Parses a decimal string exactly into an integer of `decimals` fractional digits (no float on the
 * way: "9007199254740993" stays that number), within [0, max] of the scaled unit.
 */
function parseScaled(value: string, decimals: number, maxScaled: bigint, what: string, maxLabel: string): bigint {
  const match = DECIMAL.exec(value.trim());
  if (!match) throw badAmount(what, value, 'must be a plain decimal number', maxLabel);
  const whole = match[1]!;
  const fraction = match[2] ?? '';
  if (/[1-9]/.test(fraction.slice(decimals)))
    throw badAmount(what, value, `has more than ${decimals} decimal places`, maxLabel);
  const scaled = BigInt(whole + fraction.slice(0, decimals).padEnd(decimals, '0'));
  if (scaled > maxScaled) throw badAmount(what, value, `is above the maximum ${maxLabel}`, maxLabel);
  return scaled;
}

/** A credit amount typed by the user (`credits grant 2.5`) → milli-credits, > 0 and ≤ 10^12 credits. */
export function parseCreditsAmount(value: string, what = 'The credit amount'): bigint {
  const milli = parseScaled(value, 3, MAX_CREDITS_MILLI, what, '1,000,000,000,000');
  if (milli === 0n) throw badAmount(what, value, 'must be at least 0.001', '1,000,000,000,000');
  return milli;
}

/** A USD amount (`--max-cost 0.50`) → nano-USD, > 0 and ≤ $1,000,000. */
export function parseUsdAmount(value: string, what: string): bigint {
  const nano = parseScaled(value, 9, MAX_USD_NANO, what, '1,000,000');
  if (nano === 0n) throw badAmount(what, value, 'must be positive', '1,000,000');
  return nano;
}

/** A price in USD per million tokens (`pricing set --input 0.30`) → nano-USD per Mtok, 0 to $100,000. */
export function parsePricePerMtok(value: string, what: string): bigint {
  return parseScaled(value, 9, MAX_PRICE_NANO_PER_MTOK, what, '100,000');
}

/** Guards a value about to be stored: outside the range it is refused before it reaches the file. */
export function assertStorable(value: bigint, max: bigint, what: string): void {
  if (value > max || value < -max)
    throw new AppError(
      'bad_argument',
      `${what} of ${value} is outside the ledger's range (at most ${max} in absolute value); nothing was recorded.`,
      'See README "Limits" for the ranges the ledger accepts.',
    );
}

/**
 * Reads a stored money value exactly, whatever an older version or a hand edit left in the row:
 * INTEGER (bigint with safe integers on), REAL, TEXT or NULL. Never throws, so a damaged row cannot
 * make `credits` or `status` unusable; non-finite REALs count as 0.
 */
export function storedInteger(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? BigInt(Math.round(value)) : 0n;
  if (typeof value === 'string') {
    const text = value.trim();
    if (/^[+-]?\d+$/.test(text)) return BigInt(text);
    return storedInteger(Number(text));
  }
  return 0n;
}
