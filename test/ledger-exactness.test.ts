import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../src/core/ledger/ledger.js';
import { Meter } from '../src/core/llm/meter.js';
import {
  costFromTokens,
  creditRate,
  creditsForCost,
  creditsToMilli,
  formatCredits,
  pricePerMtokToNano,
  usdToNano,
} from '../src/core/ledger/money.js';
import { silentReporter } from '../src/core/reporter.js';

/** Small deterministic PRNG (mulberry32) so a failing sequence can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Ceil of p/q for non-negative bigints, written independently of money.ts. */
const ceilDiv = (p: bigint, q: bigint) => (p % q === 0n ? p / q : p / q + 1n);

describe('money conversions', () => {
  it('converts decimal amounts without binary-float drift', () => {
    expect(usdToNano(0.3)).toBe(300_000_000n);
    expect(usdToNano(0.1 + 0.2)).toBe(300_000_000n);
    expect(usdToNano(0.000135)).toBe(135_000n);
    expect(pricePerMtokToNano(2.5)).toBe(2_500_000_000n);
    expect(creditsToMilli(2.5)).toBe(2500n);
    expect(creditsToMilli(0.001)).toBe(1n);
    expect(formatCredits(-1234567n)).toBe('-1,234.567');
    expect(() => usdToNano(-1)).toThrow();
    expect(() => usdToNano(Number.NaN)).toThrow();
  });

  it('rounds every charge up, never down, and exactly by the DESIGN formula', () => {
    const rnd = prng(42);
    for (let i = 0; i < 2000; i++) {
      const markup = [1, 1.25, 1.5, 2, 3.333][Math.floor(rnd() * 5)]!;
      const creditValueUsd = [0.01, 0.001, 0.05, 1][Math.floor(rnd() * 4)]!;
      const rate = creditRate(creditValueUsd, markup);
      const costNano = BigInt(Math.floor(rnd() * 1e10));
      const milli = creditsForCost(costNano, rate);
      // credits = usd / creditValue × markup, in milli-credits, as an exact rational:
      // milli = costNano/1e9 / (cv_nano/1e9) × (markup_ppm/1e6) × 1000
      const markupPpm = BigInt(Math.round(markup * 1e6));
      const cvNano = BigInt(Math.round(creditValueUsd * 1e9));
      expect(milli).toBe(ceilDiv(costNano * markupPpm * 1000n, cvNano * 1_000_000n));
      // And it is the smallest integer not below the real value.
      expect(milli * cvNano * 1_000_000n >= costNano * markupPpm * 1000n).toBe(true);
      if (milli > 0n) expect((milli - 1n) * cvNano * 1_000_000n < costNano * markupPpm * 1000n).toBe(true);

      const price = {
        inputNanoPerMtok: BigInt(Math.floor(rnd() * 2e10)),
        outputNanoPerMtok: BigInt(Math.floor(rnd() * 8e10)),
      };
      const inTok = Math.floor(rnd() * 2_000_000);
      const outTok = Math.floor(rnd() * 100_000);
      const cost = costFromTokens(price, inTok, outTok);
      expect(cost).toBe(
        ceilDiv(BigInt(inTok) * price.inputNanoPerMtok + BigInt(outTok) * price.outputNanoPerMtok, 1_000_000n),
      );
    }
  });
});

describe('ledger exactness', () => {
  it('random sequences of grants and deductions: balance equals the sum, to the milli-credit', async () => {
    for (const seed of [1, 7, 2026]) {
      const rnd = prng(seed);
      const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'aidb-exact-')), 'ledger.db');
      const initial = BigInt(Math.floor(rnd() * 1_000_000));
      const ledger = await Ledger.open({ file, initialGrantMilli: initial });
      const meter = new Meter({
        ledger,
        settings: { creditValueUsd: 0.01, markup: 1.5, fallbackPrice: { input: 5, output: 20 } },
        retry: { maxRetries: 0, baseDelayMs: 0, maxDelayMs: 0 },
        reporter: silentReporter,
      });
      let expected = initial;
      let expectedUsage = 0;
      for (let i = 0; i < 400; i++) {
        const pick = rnd();
        if (pick < 0.2) {
          const amount = 1n + BigInt(Math.floor(rnd() * 50_000));
          ledger.grant(amount);
          expected += amount;
        } else if (pick < 0.6) {
          // Provider-reported cost with up to 9 decimals.
          const costNano = BigInt(Math.floor(rnd() * 5_000_000));
          const recorded = meter.recordExternalUsage({
            provider: 'openrouter',
            model: 'anthropic/claude-sonnet-4.5',
            task: 'prop',
            inputTokens: 1,
            outputTokens: 1,
            costUsd: Number(costNano) / 1e9,
          });
          expect(recorded.costNano).toBe(costNano);
          expected -= ceilDiv(costNano * 15n, 100_000n); // ×1.5 / $0.01 × 1000 milli
          expectedUsage++;
        } else {
          // Table price: gemini-2.5-pro $1.25 / $10 per Mtok.
          const inTok = Math.floor(rnd() * 300_000);
          const outTok = Math.floor(rnd() * 20_000);
          meter.recordExternalUsage({
            provider: 'gemini',
            model: 'gemini-2.5-pro',
            task: 'prop',
            inputTokens: inTok,
            outputTokens: outTok,
          });
          const costNano = ceilDiv(BigInt(inTok) * 1_250_000_000n + BigInt(outTok) * 10_000_000_000n, 1_000_000n);
          expected -= ceilDiv(costNano * 15n, 100_000n);
          expectedUsage++;
        }
      }
      expect(ledger.balanceMilli()).toBe(expected);
      const history = ledger.history(100_000);
      expect(history.reduce((sum, t) => sum + t.creditsMilli, 0n)).toBe(expected);
      expect(ledger.transactionCount('usage_deduction')).toBe(expectedUsage);
      const summary = ledger.spendSummary();
      expect(summary.reduce((sum, r) => sum + r.creditsMilli, 0n)).toBe(
        initial + history.filter((t) => t.type === 'grant').reduce((s, t) => s + t.creditsMilli, 0n) - expected,
      );
      ledger.close();
    }
  });
});
