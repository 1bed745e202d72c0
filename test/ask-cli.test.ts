import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, cliEnvWithConfig, runCli, runCliAsync, type CliResult } from './helpers/cli.js';
import { readFixtureTree } from './helpers/fixtures.js';
import { makeGitRepo } from './helpers/repo.js';
import { FakeGeminiServer, FakeOpenAiServer, type ReceivedRequest } from './fakes/llmServers.js';

const SECRET = 'AIzaSyD-this-is-a-secret-that-must-never-leave-0000';

/** The fake answers like a good model: it cites the first excerpt label it was given. */
function citeFirstExcerpt(request: ReceivedRequest) {
  const prompt: string = request.body.contents[0].parts[0].text;
  const label = /^\[1\] (\S+:\d+-\d+)$/m.exec(prompt)?.[1] ?? 'nothing';
  return { text: `The delay is computed by computeRetryDelay (${label}).`, inputTokens: 1500, outputTokens: 120 };
}

const promptOf = (r: ReceivedRequest): string => JSON.stringify(r.body);

describe('ask through bin/ against fake providers (real index, real ledger)', () => {
  let gemini: FakeGeminiServer;
  let openrouter: FakeOpenAiServer;
  let root: string;
  let indexEnv: NodeJS.ProcessEnv;

  const ask = (args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> =>
    runCliAsync(['ask', ...args], { cwd: root, env }).done;
  const baseConfig = () => ({
    llm: {
      gemini: { baseUrl: gemini.url },
      openrouter: { baseUrl: openrouter.url },
      maxRetries: 1,
      retryBaseDelayMs: 10,
    },
  });

  beforeAll(async () => {
    gemini = await FakeGeminiServer.start({ apiKey: 'test-key', fallback: citeFirstExcerpt });
    openrouter = await FakeOpenAiServer.start({ apiKey: 'or-key' });
    root = makeGitRepo({ ...readFixtureTree('sample-repo'), '.env': `GEMINI_API_KEY=${SECRET}\n` });
    indexEnv = cliEnv();
    const res = runCli(['index', '--json'], { cwd: root, env: indexEnv });
    expect(res.code, res.stderr).toBe(0);
  });
  afterEach(() => {
    gemini.reset();
    openrouter.reset();
  });
  afterAll(async () => {
    await gemini.close();
    await openrouter.close();
  });

  it('answers with cited sources from the index and charges exactly one usage row and deduction', async () => {
    const env = cliEnvWithConfig(baseConfig());
    const res = await ask(['where', 'is', 'the', 'retry', 'delay', 'computed?', '--json'], env);
    expect(res.code, res.stderr).toBe(0);
    expect(gemini.requests).toHaveLength(1);

    const body = gemini.requests[0]!.body;
    expect(gemini.requests[0]!.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(body.systemInstruction.parts[0].text).toMatch(/only the numbered excerpts/);
    const prompt: string = body.contents[0].parts[0].text;
    expect(prompt).toContain('Question: where is the retry delay computed?');
    expect(prompt).toMatch(/^\[1\] src\/http\/retry\.ts:\d+-\d+$/m);
    expect(prompt).toContain('computeRetryDelay');

    expect(res.json.answer).toMatch(/\(src\/http\/retry\.ts:\d+-\d+\)/);
    expect(res.json.sources[0]).toMatchObject({ path: 'src/http/retry.ts', cited: true });
    for (const source of res.json.sources) {
      expect(typeof source.startLine).toBe('number');
      expect(source.endLine).toBeGreaterThanOrEqual(source.startLine);
    }
    // gemini-2.5-flash: 1500 × $0.30/M + 120 × $2.50/M = $0.00075 → ×1.5 / $0.01 = 0.1125 → 0.113 credits.
    expect(res.json.usage).toEqual({ inputTokens: 1500, outputTokens: 120, credits: 0.113, usd: 0.00075 });
    expect(res.json.balance).toBe(499.887);

    const credits = runCli(['credits', '--json'], { cwd: root, env });
    expect(credits.code, credits.stderr).toBe(0);
    expect(credits.json.balance).toBe(499.887);
    expect(credits.json.spentToday).toBe(0.113);
    const deductions = credits.json.recent.filter((t: { type: string }) => t.type === 'usage_deduction');
    expect(deductions).toHaveLength(1);
    expect(deductions[0]).toMatchObject({ credits: -0.113, usd: 0.00075 });
    expect(deductions[0].description).toContain('ask: gemini/gemini-2.5-flash');
    expect(credits.json.spend.calls).toBe(1);
    expect(credits.json.spend.byTask).toEqual([
      { task: 'ask', calls: 1, inputTokens: 1500, outputTokens: 120, credits: 0.113, usd: 0.00075 },
    ]);
    expect(credits.json.spend.byModel[0].model).toBe('gemini/gemini-2.5-flash');
  });

  it('never sends secret files', async () => {
    const env = cliEnvWithConfig(baseConfig());
    const res = await ask(
      ['which', 'API', 'key', 'is', 'configured', 'in', 'the', 'env', 'file?', '-k', '20', '--json'],
      env,
    );
    expect(res.code, res.stderr).toBe(0);
    const sent = gemini.requests.map(promptOf).join('\n');
    expect(sent).not.toContain(SECRET);
    expect(sent).not.toContain('sk-test-secret-value');
    expect(res.json.sources.map((s: { path: string }) => s.path)).not.toContain('.env');
  });

  it('refuses with exit 3 and sends nothing when credits cannot cover the call', async () => {
    const env = cliEnvWithConfig({ ...baseConfig(), ledger: { initialGrant: 0.01 } });
    const res = await ask(['where is the retry delay computed?', '--json'], env);
    expect(res.code).toBe(3);
    expect(res.json.error.code).toBe('insufficient_credits');
    expect(res.json.error.hint).toContain('credits grant');
    expect(gemini.requests).toHaveLength(0);
    // Resumable: grant, ask again.
    expect(runCli(['credits', 'grant', '5'], { cwd: root, env }).code).toBe(0);
    const again = await ask(['where is the retry delay computed?', '--json'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(gemini.requests).toHaveLength(1);
  });

  it('refuses with exit 3 and sends nothing when --max-cost is too small', async () => {
    const env = cliEnvWithConfig(baseConfig());
    const res = await ask(['where is the retry delay computed?', '--max-cost', '0.0001', '--json'], env);
    expect(res.code).toBe(3);
    expect(res.json.error.code).toBe('budget_exceeded');
    expect(gemini.requests).toHaveLength(0);
    const credits = runCli(['credits', '--json'], { cwd: root, env });
    expect(credits.json.balance).toBe(500);
  });

  it('a 429 then success is charged once; a bad key is exit 2 and not retried; exhausted retries are exit 7', async () => {
    const env = cliEnvWithConfig(baseConfig());
    gemini.enqueue({ status: 429, retryDelay: '0.2s' });
    const retried = await ask(['where is the retry delay computed?', '--json'], env);
    expect(retried.code, retried.stderr).toBe(0);
    expect(gemini.requests).toHaveLength(2);
    expect(retried.stderr).toMatch(/retry 1\/1/);
    const afterRetry = runCli(['credits', 'history', '--json'], { cwd: root, env });
    expect(afterRetry.json.recent.filter((t: { type: string }) => t.type === 'usage_deduction')).toHaveLength(1);

    gemini.reset();
    const badKey = await ask(['anything', '--json'], { ...env, GEMINI_API_KEY: 'wrong-key' });
    expect(badKey.code).toBe(2);
    expect(badKey.json.error.code).toBe('provider_auth');
    expect(badKey.json.error.hint).toContain('GEMINI_API_KEY');
    expect(gemini.requests).toHaveLength(1);

    gemini.reset();
    gemini.enqueue({ status: 503 }, { status: 503 });
    const down = await ask(['anything', '--json'], env);
    expect(down.code).toBe(7);
    expect(down.json.error.code).toBe('provider_failed');
    expect(gemini.requests).toHaveLength(2);
    const credits = runCli(['credits', '--json'], { cwd: root, env });
    expect(credits.json.spend.calls).toBe(1);
    expect(credits.json.reserved).toBe(0);
  });

  it('an empty answer (all tokens spent thinking) is exit 7, and charged because the provider billed it', async () => {
    const env = cliEnvWithConfig(baseConfig());
    gemini.enqueue({ text: '', inputTokens: 1000, outputTokens: 0, thoughtsTokens: 8192, finishReason: 'MAX_TOKENS' });
    const res = await ask(['where is the retry delay computed?', '--json'], env);
    expect(res.code).toBe(7);
    expect(res.json.error.message).toContain('empty answer after 8192 output tokens');
    expect(res.json.error.hint).toContain('maxOutputTokens');
    const credits = runCli(['credits', '--json'], { cwd: root, env });
    // 1000 × $0.30/M + 8192 × $2.50/M = $0.02078 → 3.117 credits.
    expect(credits.json.spend).toMatchObject({ calls: 1, usd: 0.02078, credits: 3.117 });
  });

  it('a missing key is exit 2 naming the variable, before anything is sent', async () => {
    const env = cliEnvWithConfig(baseConfig());
    delete env.GEMINI_API_KEY;
    const res = await ask(['anything', '--json'], env);
    expect(res.code).toBe(2);
    expect(res.json.error.message).toContain('GEMINI_API_KEY');
    expect(gemini.requests).toHaveLength(0);
  });

  it('--provider openrouter charges the cost OpenRouter reports', async () => {
    const env = cliEnvWithConfig(baseConfig(), { OPENROUTER_API_KEY: 'or-key' });
    openrouter.enqueue({ text: 'See src/http/retry.ts.', inputTokens: 2000, outputTokens: 50, cost: 0.0123 });
    const res = await ask(
      [
        'where is the retry delay computed?',
        '--provider',
        'openrouter',
        '--model',
        'anthropic/claude-sonnet-4.5',
        '--json',
      ],
      env,
    );
    expect(res.code, res.stderr).toBe(0);
    expect(openrouter.requests[0]!.body).toMatchObject({
      model: 'anthropic/claude-sonnet-4.5',
      usage: { include: true },
    });
    expect(openrouter.requests[0]!.headers['x-openrouter-title']).toBe('ai-dev-bot');
    // $0.0123 × 1.5 / $0.01 = 1.845 credits.
    expect(res.json.usage).toEqual({ inputTokens: 2000, outputTokens: 50, credits: 1.845, usd: 0.0123 });
    expect(res.json.balance).toBe(498.155);
  });

  it('pricing set changes what the next call is charged', async () => {
    const env = cliEnvWithConfig(baseConfig());
    const set = runCli(['pricing', 'set', 'gemini', 'gemini-2.5-flash', '--input', '1', '--output', '10', '--json'], {
      cwd: root,
      env,
    });
    expect(set.code, set.stderr).toBe(0);
    expect(set.json.price).toMatchObject({
      provider: 'gemini',
      model: 'gemini-2.5-flash',
      inputUsdPerMtok: 1,
      outputUsdPerMtok: 10,
    });
    const res = await ask(['where is the retry delay computed?', '--json'], env);
    // 1500 × $1/M + 120 × $10/M = $0.0027 → 0.405 credits.
    expect(res.json.usage).toMatchObject({ credits: 0.405, usd: 0.0027 });
    const list = runCli(['pricing', '--json'], { cwd: root, env });
    expect(list.json.prices.find((p: { model: string }) => p.model === 'gemini-2.5-flash')).toMatchObject({
      inputUsdPerMtok: 1,
      source: 'user',
    });
  });
});
