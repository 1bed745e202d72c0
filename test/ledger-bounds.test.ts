import Database from 'better-sqlite3';
import fc from 'fast-check';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../src/core/errors.js';
import {
  MAX_CREDITS_MILLI,
  MAX_USD_NANO,
  parseCreditsAmount,
  parsePricePerMtok,
  parseUsdAmount,
} from '../src/core/ledger/bounds.js';
import { Ledger } from '../src/core/ledger/ledger.js';
import { Meter } from '../src/core/llm/meter.js';
import { silentReporter } from '../src/core/reporter.js';
import { cliEnv, cliEnvWithConfig, runCli } from './helpers/cli.js';
import { makeGitRepo } from './helpers/repo.js';

const nogit = () => mkdtempSync(path.join(os.tmpdir(), 'aidb-nogit-'));

/** Rows the ledger held before bounds existed: sums past 2^63, REALs, a fraction, a TEXT. */
function brickLedger(file: string): bigint {
  const db = new Database(file);
  const insert = db.prepare(
    `INSERT INTO credit_transactions (id, type, credits, usd_cost, description, created_at)
     VALUES (?, 'grant', ?, NULL, 'legacy', '2026-01-01T00:00:00.000Z')`,
  );
  db.defaultSafeIntegers(true);
  const values: Array<bigint | number | string> = [
    9_000_000_000_000_000_000n,
    1_000_000_000_000_000_000n,
    9.223372036854776e18,
    0.5,
    'not a number',
  ];
  values.forEach((v, i) => insert.run(`legacy-${i}`, v));
  db.close();
  // 500 initial credits + the integers + the REAL as stored (2^63 exactly) + 0.5 rounded to 1.
  return 500_000n + 9_000_000_000_000_000_000n + 1_000_000_000_000_000_000n + 2n ** 63n + 1n;
}

describe('ledger money bounds (D6)', () => {
  it('refuses the grants that used to brick the ledger, with exit 2, and stays readable', () => {
    const env = cliEnv();
    const cwd = nogit();
    const cli = (...args: string[]) => runCli([...args, '--json'], { cwd, env });
    for (const amount of ['9000000000000000', '1000000000000000', '9007199254740993', '9223372036854775', '1e3']) {
      const res = cli('credits', 'grant', amount);
      expect(res.code, amount).toBe(2);
      expect(res.json.error.code).toBe('bad_argument');
      expect(res.json.error.message).toContain(amount);
    }
    expect(cli('credits', 'grant', '0.0001').json.error.message).toMatch(/more than 3 decimal places/);
    expect(cli('credits').json.balance).toBe(500);

    // Up to the maximum balance exactly, then not a milli-credit more.
    const top = cli('credits', 'grant', '999999999499.999');
    expect(top.code, top.stderr).toBe(0);
    expect(top.json.balance).toBe(999_999_999_999.999);
    expect(cli('credits', 'grant', '0.001').code).toBe(0);
    const over = cli('credits', 'grant', '0.001');
    expect(over.code).toBe(2);
    expect(over.json.error.message).toMatch(/above the ledger's maximum of 1,000,000,000,000\.000 credits/);
    const after = cli('credits');
    expect(after.code).toBe(0);
    expect(after.json.balance).toBe(1e12);

    const db = new Database(Ledger.fileIn(env.AI_DEV_BOT_HOME!), { readonly: true });
    const types = db.prepare(`SELECT DISTINCT typeof(credits) AS t FROM credit_transactions`).all();
    db.close();
    expect(types).toEqual([{ t: 'integer' }]);
  });

  it('bounds prices, --max-cost and the config values that feed money, with exit 2', () => {
    const env = cliEnv();
    const cwd = nogit();
    const cli = (...args: string[]) => runCli([...args, '--json'], { cwd, env });
    const tooFine = cli('pricing', 'set', 'gemini', 'x', '--input', '1', '--output', '0.0000000001');
    expect(tooFine.code).toBe(2);
    expect(tooFine.json.error.message).toMatch(/--output has more than 9 decimal places/);
    const tooDear = cli('pricing', 'set', 'gemini', 'x', '--input', '100000.000000001', '--output', '1');
    expect(tooDear.code).toBe(2);
    expect(tooDear.json.error.message).toMatch(/--input is above the maximum 100,000/);
    const exact = cli('pricing', 'set', 'gemini', 'x', '--input', '100000', '--output', '0.000000001');
    expect(exact.code, exact.stderr).toBe(0);
    expect(exact.json.price).toMatchObject({ inputUsdPerMtok: 100000, outputUsdPerMtok: 1e-9 });

    const repo = makeGitRepo({ 'a.txt': 'a\n' });
    const ask = runCli(['ask', 'what is a', '--max-cost', '1000001', '--json'], { cwd: repo, env });
    expect(ask.code).toBe(2);
    expect(ask.json.error.message).toMatch(/--max-cost is above the maximum 1,000,000/);

    for (const [ledger, key] of [
      [{ markup: 1000 }, 'ledger.markup'],
      [{ creditValueUsd: 1e-9 }, 'ledger.creditValueUsd'],
      [{ initialGrant: 1e13 }, 'ledger.initialGrant'],
      [{ fallbackPrice: { input: 1e6, output: 1 } }, 'ledger.fallbackPrice.input'],
    ] as const) {
      const res = runCli(['credits', '--json'], { cwd, env: cliEnvWithConfig({ ledger }) });
      expect(res.code, key).toBe(2);
      expect(res.json.error).toMatchObject({ code: 'bad_config' });
      expect(res.json.error.message).toContain(key);
    }
  });

  it('reads a ledger bricked by the old bug: credits, history and status exit 0 with the exact sum', () => {
    const env = cliEnv();
    const cwd = nogit();
    expect(runCli(['credits'], { cwd, env }).code).toBe(0);
    const exact = brickLedger(Ledger.fileIn(env.AI_DEV_BOT_HOME!));

    const credits = runCli(['credits', '--json'], { cwd, env });
    expect(credits.code, credits.stderr).toBe(0);
    expect(credits.json.balance).toBe(Number(exact) / 1000);
    expect(runCli(['credits', '--json'], { cwd, env }).json.recent).toHaveLength(6);
    const history = runCli(['credits', 'history', '--json'], { cwd, env });
    expect(history.code, history.stderr).toBe(0);
    expect(history.json.recent.map((t: { credits: number }) => t.credits)).toEqual([
      0,
      0.001,
      Number(2n ** 63n) / 1000,
      1e15,
      9e15,
      500,
    ]);
    expect(runCli(['credits'], { cwd, env }).stdout).toContain(
      `Balance: ${(exact / 1000n).toLocaleString('en-US')}.${String(exact % 1000n).padStart(3, '0')} credits`,
    );
    const status = runCli(['status', '--json'], { cwd: makeGitRepo({ 'a.txt': 'a\n' }), env });
    expect(status.code, status.stderr).toBe(0);
    expect(status.json.credits.balance).toBe(Number(exact) / 1000);
    // The balance is far above the maximum: a further grant is refused, not stored.
    expect(runCli(['credits', 'grant', '1', '--json'], { cwd, env }).code).toBe(2);
  });

  it('property: no sequence of amounts the CLI accepts can make the ledger unreadable or inexact', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aidb-ledger-prop-'));
    const amount = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String),
      fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 13n }), fc.nat({ max: 9999 })).map(([w, f]) => `${w}.${f}`),
      fc.double().map(String),
      fc.string({ maxLength: 25 }),
      fc.constantFrom('9000000000000000', '1000000000000000', '9007199254740993', '999999999999.999', '0.001'),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(amount, { maxLength: 12 }), async (amounts) => {
        const ledger = await Ledger.open({ file: path.join(dir, `l${run++}.db`), initialGrantMilli: 500_000n });
        try {
          let expected = 500_000n;
          for (const text of amounts) {
            let milli: bigint;
            try {
              milli = parseCreditsAmount(text);
            } catch (error) {
              expect(error).toBeInstanceOf(AppError);
              expect((error as AppError).exitCode).toBe(2);
              continue;
            }
            expect(milli > 0n && milli <= MAX_CREDITS_MILLI).toBe(true);
            try {
              ledger.grant(milli);
              expected += milli;
            } catch (error) {
              expect((error as AppError).exitCode).toBe(2);
              expect(expected + milli > MAX_CREDITS_MILLI).toBe(true);
            }
          }
          expect(ledger.balanceMilli()).toBe(expected);
          expect(ledger.history(100).reduce((sum, t) => sum + t.creditsMilli, 0n)).toBe(expected);
          expect(ledger.spendSummary()).toEqual([]);
        } finally {
          ledger.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('property: the dearest call at any accepted price, under the most extreme accepted config, stays storable', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aidb-ledger-price-'));
    const ledger = await Ledger.open({ file: path.join(dir, 'ledger.db'), initialGrantMilli: 500_000n });
    // The config bounds' corners: the cheapest credit, the highest markup (config.ts).
    const meter = new Meter({
      ledger,
      settings: { creditValueUsd: 0.0001, markup: 100, fallbackPrice: { input: 1e5, output: 1e5 } },
      reporter: silentReporter,
      retry: { maxRetries: 0, baseDelayMs: 0, maxDelayMs: 0 },
    });
    const price = fc.oneof(
      fc.bigInt({ min: 0n, max: 10n ** 16n }).map((n) => `${n / 10n ** 9n}.${String(n % 10n ** 9n).padStart(9, '0')}`),
      fc.double({ min: 0, max: 2e5, noNaN: true }).map(String),
      fc.constantFrom('100000', '100000.000000001', '0', '0.000000001'),
    );
    try {
      fc.assert(
        fc.property(price, price, (input, output) => {
          let parsed: { inputNanoPerMtok: bigint; outputNanoPerMtok: bigint };
          try {
            parsed = {
              inputNanoPerMtok: parsePricePerMtok(input, '--input'),
              outputNanoPerMtok: parsePricePerMtok(output, '--output'),
            };
          } catch (error) {
            expect((error as AppError).exitCode).toBe(2);
            return;
          }
          ledger.setPrice('gemini', 'dear', parsed);
          // A full 1M-token prompt and the 1M-token output cap (llm.*.maxOutputTokens' maximum).
          const worst = meter.estimateTokens('gemini', 'dear', 1_000_000, 1_000_000);
          expect(worst.costNano <= MAX_USD_NANO && worst.creditsMilli <= MAX_CREDITS_MILLI).toBe(true);
          const recorded = meter.recordExternalUsage({
            provider: 'gemini',
            model: 'dear',
            task: 'prop',
            inputTokens: 1_000_000,
            outputTokens: 1_000_000,
          });
          expect(recorded.creditsMilli).toBe(worst.creditsMilli);
        }),
        { numRuns: 80 },
      );
      expect(() => ledger.balanceMilli()).not.toThrow();
      expect(ledger.history(1000).length).toBeGreaterThan(0);
      expect(ledger.listPrices().find((p) => p.model === 'dear')).toBeDefined();
    } finally {
      ledger.close();
    }
  });

  it('parses decimal amounts exactly, with the unit and range in the error', () => {
    expect(parseCreditsAmount('2.5')).toBe(2500n);
    expect(parseCreditsAmount(' 1000000000000 ')).toBe(MAX_CREDITS_MILLI);
    expect(parseUsdAmount('0.3', '--max-cost')).toBe(300_000_000n);
    expect(parseUsdAmount('1000000', '--max-cost')).toBe(10n ** 15n);
    expect(parsePricePerMtok('0', '--input')).toBe(0n);
    expect(parsePricePerMtok('2.50', '--input')).toBe(2_500_000_000n);
    for (const bad of ['', ' ', '-1', '1e3', '0x10', 'Infinity', 'NaN', '1.2.3', '١٢']) {
      expect(() => parseCreditsAmount(bad), bad).toThrow(AppError);
    }
    expect(() => parseUsdAmount('0', '--max-cost')).toThrow(/must be positive/);
  });
});
