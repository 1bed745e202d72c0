/**
 * Money is integer everywhere it is stored or summed (DESIGN §6): USD in nano-dollars, credits in
 * milli-credits, prices in nano-USD per million tokens. Floats appear only at the edges (config
 * values, provider-reported cost, display), converted once with explicit rounding.
 */

export const NANO_PER_USD = 1_000_000_000n;
export const MILLI_PER_CREDIT = 1000n;
const TOKENS_PER_MTOK = 1_000_000n;
/** Markup is kept as parts per million so 1.5 or 1.25 are exact integers. */
const PPM = 1_000_000n;

function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new RangeError('denominator must be positive');
  if (numerator <= 0n) return -(-numerator / denominator);
  return (numerator + denominator - 1n) / denominator;
}

function toScaledInteger(value: number, scale: number, what: string): bigint {
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`${what} must be a finite, non-negative number, got ${value}`);
  // Decimal rounding first: 0.3 * 1e9 is 299999999.99999994 in binary floating point.
  return BigInt(Math.round(Number((value * scale).toPrecision(15))));
}

/** USD (float, e.g. a provider-reported cost or a --max-cost flag) → nano-USD. */
export function usdToNano(usd: number): bigint {
  return toScaledInteger(usd, 1e9, 'USD amount');
}

/** USD per million tokens → nano-USD per million tokens (the price table's unit). */
export function pricePerMtokToNano(usdPerMtok: number): bigint {
  return toScaledInteger(usdPerMtok, 1e9, 'price');
}

/** Credits (float, e.g. `credits grant 2.5`) → milli-credits. */
export function creditsToMilli(credits: number): bigint {
  if (!Number.isFinite(credits)) throw new RangeError(`credits must be finite, got ${credits}`);
  const sign = credits < 0 ? -1n : 1n;
  return sign * toScaledInteger(Math.abs(credits), 1000, 'credits');
}

export interface Price {
  inputNanoPerMtok: bigint;
  outputNanoPerMtok: bigint;
}

/** Cost of a call from the price table, rounded up to the next nano-USD (never undercharged). */
export function costFromTokens(price: Price, inputTokens: number, outputTokens: number): bigint {
  const total = BigInt(inputTokens) * price.inputNanoPerMtok + BigInt(outputTokens) * price.outputNanoPerMtok;
  return ceilDiv(total, TOKENS_PER_MTOK);
}

/** How USD becomes credits: credits = usd / creditValueUsd × markup (DESIGN §6). */
export interface CreditRate {
  creditValueNano: bigint;
  markupPpm: bigint;
}

export function creditRate(creditValueUsd: number, markup: number): CreditRate {
  const creditValueNano = usdToNano(creditValueUsd);
  if (creditValueNano <= 0n) throw new RangeError('ledger.creditValueUsd must be at least 1e-9');
  return { creditValueNano, markupPpm: toScaledInteger(markup, 1e6, 'markup') };
}

/** Milli-credits charged for a USD cost, rounded up to the next milli-credit. */
export function creditsForCost(costNano: bigint, rate: CreditRate): bigint {
  return ceilDiv(costNano * rate.markupPpm * MILLI_PER_CREDIT, rate.creditValueNano * PPM);
}

/** Milli-credits → a JSON/display number (exact: at most three decimals). */
export function milliToCredits(milli: bigint | number): number {
  return Number(milli) / 1000;
}

export function nanoToUsd(nano: bigint | number): number {
  return Number(nano) / 1e9;
}

export function formatCredits(milli: bigint | number): string {
  const value = BigInt(milli);
  const sign = value < 0n ? '-' : '';
  const abs = value < 0n ? -value : value;
  return `${sign}${(abs / 1000n).toLocaleString('en-US')}.${(abs % 1000n).toString().padStart(3, '0')}`;
}

export function formatUsd(nano: bigint | number): string {
  const usd = nanoToUsd(nano);
  if (usd !== 0 && Math.abs(usd) < 0.01) return `$${usd.toFixed(6)}`;
  return `$${usd.toFixed(4)}`;
}
