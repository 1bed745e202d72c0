import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configSchema } from '../src/core/config.js';
import { Ledger } from '../src/core/ledger/ledger.js';
import { Budget } from '../src/core/llm/budget.js';
import type { AnswerSchema } from '../src/core/llm/jsonAnswer.js';
import { createMeter } from '../src/core/llm/meter.js';
import { MeteredModel } from '../src/core/llm/meteredModel.js';
import { OpenAiCompatibleProvider } from '../src/core/llm/openaiCompatible.js';
import { inMemoryShapeMemory } from '../src/core/llm/shapeMemory.js';
import type { Reporter } from '../src/core/reporter.js';
import { FakeOpenAiServer, type ShapeRejections } from './fakes/llmServers.js';
import { rejection } from './helpers/errors.js';

/**
 * The one seam every use case talks to: a real provider client against the loopback OpenAI
 * server, a real ledger. What it guarantees: one validate-and-re-ask loop, the structured-output
 * fallback entered from it, Aider's spend held → recorded → released, and the command's cost read
 * from its budget.
 */

const answer: AnswerSchema<{ status: 'ok' | 'no'; notes: string[] }> = {
  json: {
    type: 'object',
    properties: { status: { type: 'string', enum: ['ok', 'no'] }, notes: { type: 'array', items: { type: 'string' } } },
    required: ['status', 'notes'],
  },
  zod: z.object({ status: z.enum(['ok', 'no']), notes: z.array(z.string()) }),
};
const prompt = { system: 'You judge.', user: 'Is it ok?', answer: 'verdict' };

describe('MeteredModel', () => {
  const servers: FakeOpenAiServer[] = [];
  const ledgers: Ledger[] = [];
  let server: FakeOpenAiServer;

  beforeAll(async () => {
    server = await FakeOpenAiServer.start({ apiKey: 'k' });
  });
  afterEach(() => {
    server.reset();
    for (const ledger of ledgers.splice(0)) ledger.close();
  });
  afterAll(async () => {
    await server.close();
    for (const s of servers) await s.close();
  });

  async function setup(options: { on?: FakeOpenAiServer; credits?: number; maxCostUsd?: number } = {}) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'aidb-model-'));
    const ledger = await Ledger.open({
      file: path.join(dir, 'ledger.db'),
      initialGrantMilli: BigInt((options.credits ?? 100) * 1000),
    });
    ledgers.push(ledger);
    const warnings: string[] = [];
    const reporter: Reporter = { info() {}, debug() {}, warn: (m) => void warnings.push(m) };
    const config = configSchema.parse({ llm: { maxRetries: 0 } });
    const budget = options.maxCostUsd === undefined ? undefined : new Budget(options.maxCostUsd);
    const meter = createMeter({ config, ledger, reporter, project: 'demo', ...(budget ? { budget } : {}) });
    const choice = { provider: 'openai' as const, model: 'gpt-4o-mini', maxOutputTokens: 500 };
    const client = new OpenAiCompatibleProvider({
      provider: 'openai',
      baseUrl: (options.on ?? server).url,
      apiKey: 'k',
      model: choice.model,
      timeoutMs: 5000,
      keyEnvVar: 'OPENAI_API_KEY',
      shapeMemory: inMemoryShapeMemory(),
    });
    return { ledger, warnings, model: new MeteredModel(meter, choice, client) };
  }

  it('completeJson re-asks once with the problems, and the budget holds exactly what the ledger charged', async () => {
    const { ledger, warnings, model } = await setup();
    const before = ledger.balanceMilli();
    server.enqueue(
      { text: 'Sure, it is fine!', inputTokens: 300, outputTokens: 20 },
      { text: '{"status":"ok","notes":[]}', inputTokens: 400, outputTokens: 10 },
    );
    const result = await model.completeJson(answer, prompt, { task: 'verification' });
    expect(result).toEqual({ ok: true, value: { status: 'ok', notes: [] }, model: 'gpt-4o-mini' });
    expect(server.requests).toHaveLength(2);
    const retry = server.requests[1]!.body;
    expect(retry.response_format.type).toBe('json_schema');
    expect(retry.messages.map((m: { role: string }) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(retry.messages[2].content).toBe('Sure, it is fine!');
    expect(retry.messages[3].content).toContain('not valid JSON');
    // The reminder of the shape comes from the JSON Schema itself.
    expect(retry.messages[3].content).toContain('{"status", "notes"}');
    expect(warnings.join('\n')).toContain('The verdict from openai/gpt-4o-mini was invalid; asking once more.');

    const spent = model.budget.spent();
    expect(spent).toMatchObject({ calls: 2, inputTokens: 700, outputTokens: 30 });
    expect(spent.creditsMilli).toBeGreaterThan(0n);
    expect(before - ledger.balanceMilli()).toBe(spent.creditsMilli);
  });

  it('completeJson returns a second invalid answer as such (the caller decides), naming each problem by path', async () => {
    const { model } = await setup();
    server.enqueue({ text: '{"status":"maybe"}' }, { text: '{"status":"maybe","notes":"x"}' });
    const result = await model.completeJson(answer, prompt, { task: 'verification' });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problems.some((p) => p.startsWith('status:'))).toBe(true);
      expect(result.problems.some((p) => p.startsWith('notes:'))).toBe(true);
    }
    expect(server.requests).toHaveLength(2);
    expect(model.budget.spent().calls).toBe(2);
  });

  it('a server refusing json_schema gets json_object with the schema in the prompt, still validated', async () => {
    const rejects: ShapeRejections = { jsonSchema: true };
    const strict = await FakeOpenAiServer.start({ apiKey: 'k', rejects });
    servers.push(strict);
    const { model } = await setup({ on: strict });
    strict.enqueue({ text: '{"status":"no","notes":["too vague"]}' });
    const result = await model.completeJson(answer, prompt, { task: 'verification' });
    expect(result).toMatchObject({ ok: true, value: { status: 'no', notes: ['too vague'] } });
    expect(strict.requests.map((r) => r.body.response_format?.type)).toEqual(['json_schema', 'json_object']);
    expect(strict.requests[1]!.body.messages[0].content).toContain('"enum":["ok","no"]');
    // The refused request was not billed: one call charged.
    expect(model.budget.spent().calls).toBe(1);
  });

  it('reserveExternal holds credits for Aider, records its calls against the hold, and frees it', async () => {
    const { ledger, model } = await setup();
    const estimate = model.estimate(10_000);
    const spend = model.reserveExternal(estimate, { what: 'an Aider run', task: 'coding', ttlMs: 60_000 });
    expect(ledger.heldMilli()).toBe(estimate.creditsMilli);
    const mark = model.budget.spent();
    const recorded = spend.record([
      { inputTokens: 1000, outputTokens: 100, costUsd: 0.01 },
      { inputTokens: 2000, outputTokens: 200 },
    ]);
    expect(ledger.heldMilli()).toBe(0n);
    expect(recorded).toEqual(model.budget.since(mark));
    expect(recorded).toMatchObject({ calls: 2, inputTokens: 3000, outputTokens: 300 });
    // $0.01 × 1.5 / $0.01 = 1.5 credits for the call Aider priced, plus the table price of the other.
    expect(recorded.creditsMilli).toBeGreaterThan(1500n);
    spend.release();
    expect(ledger.heldMilli()).toBe(0n);

    const unused = model.reserveExternal(estimate, { what: 'another run', task: 'coding', ttlMs: 60_000 });
    expect(ledger.heldMilli()).toBe(estimate.creditsMilli);
    unused.release();
    expect(ledger.heldMilli()).toBe(0n);
    expect(unused.record([]).calls).toBe(0);
    expect(model.budget.spent().calls).toBe(2);
  });

  it('reserveExternal beyond --max-cost stops with exit 3 and holds nothing', async () => {
    const { ledger, model } = await setup({ maxCostUsd: 0.0001 });
    const error = await rejection(
      (async () =>
        model.reserveExternal(model.estimate(100_000), { what: 'an Aider run', task: 'coding', ttlMs: 60_000 }))(),
    );
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain('an Aider run');
    expect(ledger.heldMilli()).toBe(0n);
  });
});
