import { rejection } from './helpers/errors.js';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GeminiProvider } from '../src/core/llm/gemini.js';
import { OpenAiCompatibleProvider } from '../src/core/llm/openaiCompatible.js';
import type { LlmRequest } from '../src/core/llm/types.js';
import { Budget } from '../src/core/llm/budget.js';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { Ledger } from '../src/core/ledger/ledger.js';
import { migrations, type LedgerDatabase } from '../src/core/ledger/schema.js';
import { Meter } from '../src/core/llm/meter.js';
import type { Reporter } from '../src/core/reporter.js';
import { FakeGeminiServer, FakeOpenAiServer } from './fakes/llmServers.js';

const settings = { creditValueUsd: 0.01, markup: 1.5, fallbackPrice: { input: 5, output: 20 } };
const request: LlmRequest = {
  messages: [{ role: 'user', content: 'What does src/app.ts do?' }],
  maxOutputTokens: 1000,
};

function recordingReporter(): Reporter & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info() {}, debug() {}, warn: (m: string) => void warnings.push(m) };
}

async function openLedger(initialCredits = 500): Promise<Ledger> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aidb-ledger-'));
  return Ledger.open({ file: path.join(dir, 'ledger.db'), initialGrantMilli: BigInt(initialCredits * 1000) });
}

describe('metering wrapper', () => {
  let gemini: FakeGeminiServer;
  let openrouter: FakeOpenAiServer;
  const ledgers: Ledger[] = [];

  const geminiProvider = (model = 'gemini-2.5-flash') =>
    new GeminiProvider({ apiKey: 'k', model, baseUrl: gemini.url, timeoutMs: 5000 });
  const openrouterProvider = (model = 'anthropic/claude-sonnet-4.5', apiKey = 'k') =>
    new OpenAiCompatibleProvider({
      provider: 'openrouter',
      baseUrl: openrouter.url,
      apiKey,
      model,
      timeoutMs: 5000,
      keyEnvVar: 'OPENROUTER_API_KEY',
    });

  async function setup(options: { credits?: number; budget?: Budget; maxRetries?: number } = {}) {
    const ledger = await openLedger(options.credits ?? 500);
    ledgers.push(ledger);
    const reporter = recordingReporter();
    const meter = new Meter({
      ledger,
      settings,
      reporter,
      project: 'demo',
      retry: { maxRetries: options.maxRetries ?? 3, baseDelayMs: 1, maxDelayMs: 5000 },
      ...(options.budget ? { budget: options.budget } : {}),
    });
    return { ledger, meter, reporter };
  }

  beforeAll(async () => {
    gemini = await FakeGeminiServer.start({ apiKey: 'k' });
    openrouter = await FakeOpenAiServer.start({ apiKey: 'k' });
  });
  afterEach(() => {
    gemini.reset();
    openrouter.reset();
    for (const ledger of ledgers.splice(0)) ledger.close();
  });
  afterAll(async () => {
    await gemini.close();
    await openrouter.close();
  });

  it('charges a call from the price table: one usage row and one deduction, exact credits', async () => {
    const { ledger, meter } = await setup();
    gemini.enqueue({ text: 'It starts the server.', inputTokens: 1200, outputTokens: 300 });
    const response = await meter.call(geminiProvider(), request, { task: 'ask' });
    // gemini-2.5-flash: $0.30 in / $2.50 out per Mtok → 1200×0.30 + 300×2.50 = 1110 µUSD... per Mtok:
    // cost = (1200×300_000_000 + 300×2_500_000_000) / 1e6 nano = 360_000 + 750_000 = 1_110_000 nano-USD.
    expect(response.costNano).toBe(1_110_000n);
    // credits = $0.00111 / 0.01 × 1.5 = 0.1665 credits = 166.5 → 167 milli-credits (rounded up).
    expect(response.creditsMilli).toBe(167n);
    expect(ledger.balanceMilli()).toBe(500_000n - 167n);
    expect(ledger.transactionCount('usage_deduction')).toBe(1);
    const [summary] = ledger.spendSummary();
    expect(summary).toMatchObject({
      task: 'ask',
      provider: 'gemini',
      model: 'gemini-2.5-flash',
      calls: 1,
      inputTokens: 1200,
      outputTokens: 300,
    });
    expect(ledger.heldMilli()).toBe(0n);
    expect(ledger.integrityProblems()).toEqual([]);
  });

  it('prefers the provider-reported cost (OpenRouter usage.cost) over the table', async () => {
    const { ledger, meter } = await setup();
    openrouter.enqueue({ text: 'ok', inputTokens: 1000, outputTokens: 100, cost: 0.0042 });
    const response = await meter.call(openrouterProvider(), request, { task: 'plan' });
    expect(response.costNano).toBe(4_200_000n);
    expect(response.creditsMilli).toBe(630n); // 0.0042 / 0.01 × 1.5 = 0.63 credits
    expect(ledger.balanceMilli()).toBe(500_000n - 630n);
  });

  it('refuses before sending when the balance cannot cover the estimate (exit 3, no request)', async () => {
    const { ledger, meter } = await setup({ credits: 0.1 });
    const before = gemini.requests.length;
    const error = await rejection(
      meter.call(geminiProvider('gemini-2.5-pro'), { ...request, maxOutputTokens: 8192 }, { task: 'ask' }),
    );
    expect(error.exitCode).toBe(3);
    expect(error.code).toBe('insufficient_credits');
    expect(error.hint).toContain('credits grant');
    expect(gemini.requests.length).toBe(before);
    expect(ledger.balanceMilli()).toBe(100n);
    expect(ledger.heldMilli()).toBe(0n);
    // Resumable: after a grant the same call goes through.
    ledger.grant(20_000n, { description: 'top-up' });
    gemini.enqueue({ text: 'fine', inputTokens: 10, outputTokens: 10 });
    await meter.call(geminiProvider('gemini-2.5-pro'), { ...request, maxOutputTokens: 8192 }, { task: 'ask' });
    expect(gemini.requests.length).toBe(before + 1);
  });

  it('refuses before sending when --max-cost would be exceeded, counting earlier calls', async () => {
    // 1000 output tokens at $2.50/Mtok = $0.0025 + input: the first call fits in $0.004, the second does not.
    const budget = new Budget(0.004);
    const { meter } = await setup({ budget });
    gemini.enqueue({ text: 'first', inputTokens: 2000, outputTokens: 1000 });
    await meter.call(geminiProvider(), request, { task: 'implement' });
    expect(budget.spentNano).toBe(3_100_000n);
    const before = gemini.requests.length;
    const error = await rejection(meter.call(geminiProvider(), request, { task: 'implement' }));
    expect(error.code).toBe('budget_exceeded');
    expect(error.exitCode).toBe(3);
    expect(gemini.requests.length).toBe(before);
  });

  it('a 429 then success is charged once', async () => {
    const { ledger, meter, reporter } = await setup();
    gemini.enqueue({ status: 429, retryDelay: '0.05s' }, { text: 'after retry', inputTokens: 100, outputTokens: 10 });
    const before = gemini.requests.length;
    const response = await meter.call(geminiProvider(), request, { task: 'ask' });
    expect(response.attempts).toBe(2);
    expect(gemini.requests.length).toBe(before + 2);
    expect(ledger.transactionCount('usage_deduction')).toBe(1);
    expect(reporter.warnings.some((w) => w.includes('retry 1/3'))).toBe(true);
  });

  it('401 is not retried and not charged (exit 2 naming the key)', async () => {
    const { ledger, meter } = await setup();
    const before = openrouter.requests.length;
    const error = await rejection(
      meter.call(openrouterProvider('openai/gpt-4o-mini', 'wrong'), request, { task: 'ask' }),
    );
    expect(error.exitCode).toBe(2);
    expect(error.hint).toContain('OPENROUTER_API_KEY');
    expect(openrouter.requests.length).toBe(before + 1);
    expect(ledger.transactionCount('usage_deduction')).toBe(0);
    expect(ledger.heldMilli()).toBe(0n);
  });

  it('exhausted retries give exit 7, charge nothing and release the hold', async () => {
    const { ledger, meter } = await setup({ maxRetries: 2 });
    gemini.enqueue({ status: 503 }, { status: 500 }, { status: 503 });
    const before = gemini.requests.length;
    const error = await rejection(meter.call(geminiProvider(), request, { task: 'ask' }));
    expect(error.exitCode).toBe(7);
    expect(gemini.requests.length).toBe(before + 3);
    expect(ledger.transactionCount('usage_deduction')).toBe(0);
    expect(ledger.heldMilli()).toBe(0n);
    expect(ledger.balanceMilli()).toBe(500_000n);
  });

  it('a failed attempt the provider billed is charged (status failed), then the retry too', async () => {
    const { ledger, meter } = await setup();
    openrouter.enqueue(
      { bodyError: { code: 502, message: 'upstream died' }, usage: { inputTokens: 50, outputTokens: 5, cost: 0.001 } },
      { text: 'second time lucky', inputTokens: 50, outputTokens: 20, cost: 0.002 },
    );
    await meter.call(openrouterProvider(), request, { task: 'ask' });
    expect(ledger.transactionCount('usage_deduction')).toBe(2);
    expect(ledger.balanceMilli()).toBe(500_000n - 150n - 300n);
    const statuses = await ledger.db.selectFrom('api_usage').select('status').orderBy('status').execute();
    expect(statuses.map((r) => r.status)).toEqual(['failed', 'ok']);
    expect(
      ledger
        .history(2)
        .map((t) => t.description)
        .some((d) => d.includes('(failed, billed)')),
    ).toBe(true);
  });

  it('charges an unknown model at the fallback price with a warning; an explicit 0 price is free', async () => {
    const { ledger, meter, reporter } = await setup();
    openrouter.enqueue({ text: 'a', inputTokens: 100_000, outputTokens: 0 });
    const unknown = await meter.call(
      openrouterProvider('mystery/model-x'),
      { ...request, maxOutputTokens: 10 },
      { task: 'ask' },
    );
    expect(unknown.costNano).toBe(500_000_000n); // fallback $5/Mtok input
    expect(reporter.warnings.join('\n')).toContain('No price for openrouter model "mystery/model-x"');
    ledger.setPrice('openrouter', 'local/free-model', { inputNanoPerMtok: 0n, outputNanoPerMtok: 0n });
    openrouter.enqueue({ text: 'b', inputTokens: 5000, outputTokens: 5000 });
    const free = await meter.call(openrouterProvider('local/free-model'), request, { task: 'ask' });
    expect(free.creditsMilli).toBe(0n);
    expect(ledger.transactionCount('usage_deduction')).toBe(2);
  });

  it('estimates with counted input tokens and output = maxOutputTokens', async () => {
    const { meter } = await setup();
    const estimate = await meter.estimate(geminiProvider(), {
      messages: [{ role: 'user', content: 'hello world' }],
      maxOutputTokens: 2000,
    });
    expect(estimate.inputTokens).toBeGreaterThan(2);
    expect(estimate.inputTokens).toBeLessThan(20);
    expect(estimate.outputTokens).toBe(2000);
    expect(estimate.costNano).toBe(
      BigInt(Math.ceil((estimate.inputTokens * 300_000_000 + 2000 * 2_500_000_000) / 1e6)),
    );
  });

  it('charges our own token count when a server reports no usage', async () => {
    const { meter } = await setup();
    gemini.enqueue({ text: 'one two three four five six', omitUsage: true });
    const response = await meter.call(geminiProvider(), request, { task: 'ask' });
    expect(response.usageEstimated).toBe(true);
    expect(response.inputTokens).toBeGreaterThan(5);
    expect(response.outputTokens).toBeGreaterThan(3);
    expect(response.creditsMilli).toBeGreaterThan(0n);
  });

  it('recordExternalUsage records Aider-style usage with its deduction and counts it against the budget', async () => {
    const budget = new Budget(0.01);
    const { ledger, meter } = await setup({ budget });
    const withCost = meter.recordExternalUsage({
      provider: 'openai',
      model: 'gpt-4o-mini',
      task: 'implement',
      inputTokens: 2000,
      outputTokens: 500,
      costUsd: 0.0006,
    });
    expect(withCost.creditsMilli).toBe(90n);
    const fromTable = meter.recordExternalUsage({
      provider: 'gemini',
      model: 'gemini-2.5-flash',
      task: 'implement',
      inputTokens: 1_000_000,
      outputTokens: 0,
    });
    expect(fromTable.costNano).toBe(300_000_000n);
    expect(ledger.balanceMilli()).toBe(500_000n - 90n - 45_000n);
    expect(budget.spentNano).toBe(300_600_000n);
    const error = await rejection(meter.call(geminiProvider(), request, { task: 'implement' }));
    expect(error.code).toBe('budget_exceeded');
  });

  it('estimates from token counts for outside work, at the table or fallback price', async () => {
    const { meter, reporter } = await setup();
    expect(meter.estimateTokens('gemini', 'gemini-2.5-pro', 100_000, 10_000)).toEqual({
      inputTokens: 100_000,
      outputTokens: 10_000,
      costNano: 225_000_000n, // 0.1 M × $1.25 + 0.01 M × $10
      creditsMilli: 33_750n,
      priceSource: 'table',
    });
    expect(meter.estimateTokens('openai', 'unknown-local', 1_000_000, 0).priceSource).toBe('fallback');
    expect(reporter.warnings).toHaveLength(1);
    expect(await meter.countTokens('hello world')).toBe(2);
  });

  it('reserve holds credits for outside work so a parallel caller cannot spend them', async () => {
    const { ledger, meter } = await setup({ credits: 1 });
    const holdId = meter.reserve({ costNano: 5_000_000n, creditsMilli: 750n }, 'an Aider run');
    expect(ledger.heldMilli()).toBe(750n);
    expect(() => meter.reserve({ costNano: 5_000_000n, creditsMilli: 750n }, 'a second Aider run')).toThrow(
      /Not enough credits/,
    );
    meter.recordExternalUsage(
      {
        provider: 'openai',
        model: 'gpt-4o-mini',
        task: 'implement',
        inputTokens: 10,
        outputTokens: 10,
        costUsd: 0.001,
      },
      holdId,
    );
    expect(ledger.heldMilli()).toBe(0n);
  });
});

describe('ledger storage', () => {
  it('grants the initial credits exactly once, even when opened again', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aidb-ledger-'));
    const file = path.join(dir, 'ledger.db');
    const a = await Ledger.open({ file, initialGrantMilli: 500_000n });
    a.close();
    const b = await Ledger.open({ file, initialGrantMilli: 999_000n });
    expect(b.balanceMilli()).toBe(500_000n);
    expect(b.transactionCount('initial_grant')).toBe(1);
    b.close();
  });

  it('upgrades a ledger made by an earlier version, keeping its transactions', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aidb-ledger-'));
    const file = path.join(dir, 'ledger.db');
    // What the first release wrote: migration 0001 only, user_version 1, an initial grant and a hold.
    const raw = new Database(file);
    const db = new Kysely<LedgerDatabase>({ dialect: new SqliteDialect({ database: raw }) });
    const first = new Migrator({
      db,
      provider: { getMigrations: async () => ({ '0001_ledger': migrations['0001_ledger']! }) },
    });
    expect((await first.migrateToLatest()).error).toBeUndefined();
    raw.pragma('user_version = 1');
    raw
      .prepare(
        `INSERT INTO credit_transactions (id, type, credits, project, description, created_at) VALUES (?, 'initial_grant', 123000, NULL, 'old', ?)`,
      )
      .run('00000000-0000-4000-8000-000000000001', new Date().toISOString());
    raw
      .prepare(`INSERT INTO credit_holds (id, credits, expires_at, created_at) VALUES ('h', 1000, ?, ?)`)
      .run(Date.now() + 60_000, new Date().toISOString());
    await db.destroy();

    const ledger = await Ledger.open({ file, initialGrantMilli: 500_000n });
    expect(ledger.balanceMilli()).toBe(123_000n);
    expect(ledger.transactionCount('initial_grant')).toBe(1);
    expect(ledger.heldMilli()).toBe(1000n); // an old hold (no owner) waits for its expiry
    expect(ledger.tryHold(500n, 60_000).ok).toBe(true);
    ledger.close();
    const check = new Database(file, { readonly: true });
    const indexes = check.prepare(`SELECT name FROM sqlite_master WHERE type = 'index'`).all() as Array<{
      name: string;
    }>;
    check.close();
    expect(indexes.map((r) => r.name)).not.toContain('credit_transactions_created');
  });

  it('is append-only: updating or deleting a transaction is refused by SQLite', async () => {
    const ledger = await openLedger();
    const [grant] = ledger.history(1);
    await expect(
      ledger.db.updateTable('credit_transactions').set({ credits: 1n }).where('id', '=', grant!.id).execute(),
    ).rejects.toThrow(/append-only/);
    await expect(ledger.db.deleteFrom('credit_transactions').execute()).rejects.toThrow(/append-only/);
    // synced_at is the one column sync may fill in.
    await ledger.db.updateTable('credit_transactions').set({ synced_at: new Date().toISOString() }).execute();
    expect(ledger.balanceMilli()).toBe(500_000n);
    ledger.close();
  });

  it('reports what was spent since a moment (today, for status)', async () => {
    let now = new Date('2026-11-25T23:00:00Z');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aidb-ledger-'));
    const ledger = await Ledger.open({
      file: path.join(dir, 'ledger.db'),
      initialGrantMilli: 500_000n,
      now: () => now,
    });
    const meter = new Meter({
      ledger,
      settings,
      reporter: recordingReporter(),
      retry: { maxRetries: 0, baseDelayMs: 0, maxDelayMs: 0 },
    });
    meter.recordExternalUsage({
      provider: 'openai',
      model: 'gpt-4o-mini',
      task: 'a',
      inputTokens: 1,
      outputTokens: 1,
      costUsd: 0.01,
    });
    now = new Date('2026-11-26T08:00:00Z');
    meter.recordExternalUsage({
      provider: 'openai',
      model: 'gpt-4o-mini',
      task: 'a',
      inputTokens: 1,
      outputTokens: 1,
      costUsd: 0.02,
    });
    ledger.grant(1000n);
    expect(ledger.spentSinceMilli('2026-11-26T00:00:00.000Z')).toBe(3000n);
    expect(ledger.spentSinceMilli('2026-11-01T00:00:00.000Z')).toBe(4500n);
    ledger.close();
  });

  it('pricing set keeps the old price as history and puts the new one in force', async () => {
    const ledger = await openLedger();
    expect(ledger.listPrices().find((p) => p.model === 'gemini-2.5-flash')).toMatchObject({
      inputUsdPerMtok: 0.3,
      outputUsdPerMtok: 2.5,
    });
    ledger.setPrice('gemini', 'gemini-2.5-flash', {
      inputNanoPerMtok: 350_000_000n,
      outputNanoPerMtok: 2_750_000_000n,
    });
    expect(ledger.activePrice('gemini', 'gemini-2.5-flash')).toEqual({
      inputNanoPerMtok: 350_000_000n,
      outputNanoPerMtok: 2_750_000_000n,
    });
    const rows = await ledger.db
      .selectFrom('model_pricing')
      .selectAll()
      .where('model', '=', 'gemini-2.5-flash')
      .execute();
    expect(rows.map((r) => r.active).sort()).toEqual([0, 1]);
    ledger.close();
  });
});
