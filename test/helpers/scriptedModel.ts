import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import { configSchema } from '../../src/core/config.js';
import { Ledger } from '../../src/core/ledger/ledger.js';
import { createMeter, type Meter } from '../../src/core/llm/meter.js';
import { MeteredModel } from '../../src/core/llm/meteredModel.js';
import type { LlmProvider, LlmRequest, ModelChoice } from '../../src/core/llm/types.js';
import { silentReporter, type Reporter } from '../../src/core/reporter.js';

export type Answer = string | ((request: LlmRequest) => string);

/**
 * A `MeteredModel` whose client answers from a script in process (for tests of a use case's own
 * decisions; the providers' wire formats are tested against loopback fakes), metered against a
 * real ledger in a temp dir. `requests` holds every request the client got.
 */
export async function scriptedModel(
  answers: Answer[],
  options: {
    choice?: Partial<ModelChoice>;
    /** The model name the answers carry (a provider may answer with a dated version). */
    answeredBy?: string;
    reporter?: Reporter;
    usage?: [number, number];
    /** Share a command's meter (ledger and budget) with other models; default: a fresh ledger. */
    meter?: Meter;
  } = {},
): Promise<MeteredModel & { requests: LlmRequest[] }> {
  const choice: ModelChoice = { provider: 'openai', model: 'fake-model', maxOutputTokens: 1000, ...options.choice };
  const meter = options.meter ?? (await freshMeter(options.reporter ?? silentReporter));
  const requests: LlmRequest[] = [];
  const [inputTokens, outputTokens] = options.usage ?? [100, 50];
  const client: LlmProvider = {
    id: choice.provider,
    model: choice.model,
    keyEnvVar: 'OPENAI_API_KEY',
    async complete(request) {
      requests.push(request);
      // A function as the last answer answers every call from then on.
      const next = answers.length === 1 && typeof answers[0] === 'function' ? answers[0] : answers.shift();
      if (next === undefined) throw new Error('the model was called more often than scripted');
      const text = typeof next === 'function' ? next(request) : next;
      const model = options.answeredBy ?? choice.model;
      return { text, inputTokens, outputTokens, model, provider: choice.provider, latencyMs: 1 };
    },
  };
  return Object.assign(new MeteredModel(meter, choice, client), { requests });
}

/** A meter on a ledger of its own in a temp dir (1000 credits), closed when the test ends. */
async function freshMeter(reporter: Reporter): Promise<Meter> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aidb-scripted-'));
  const ledger = await Ledger.open({ file: path.join(dir, 'ledger.db'), initialGrantMilli: 1_000_000n });
  onTestFinished(() => {
    ledger.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return createMeter({ config: configSchema.parse({}), ledger, reporter });
}
