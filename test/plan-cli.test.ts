import Database from 'better-sqlite3';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PLAN_MARKER, parsePlan } from '../src/core/plan/planFile.js';
import { FakeGeminiServer, FakeOpenAiServer, type ReceivedRequest } from './fakes/llmServers.js';
import { cliEnv, cliEnvWithConfig, runCli, runCliAsync, type CliResult } from './helpers/cli.js';
import { readFixtureTree } from './helpers/fixtures.js';
import { makeGitRepo } from './helpers/repo.js';

const SECRET = 'sk-live-plan-secret-never-sent-0000';

const PLAN_JSON = JSON.stringify({
  items: [
    {
      id: 'P1',
      title: 'Add full jitter to computeRetryDelay',
      files: ['src/http/retry.ts'],
      action: 'Multiply the exponential delay by a random factor in [0, 1).\nKeep the cap.',
      verification: 'Delays stay within [0, cap]; a seeded random gives a fixed sequence.',
    },
    {
      id: 'P2',
      title: 'Document the retry policy',
      files: ['docs/deploy.md'],
      action: 'Add a "Retries" section.',
      verification: 'docs/deploy.md has a Retries section naming the cap.',
    },
  ],
});

interface UsageRow {
  task: string;
  provider: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  status: string;
  project: string;
}

/** Reads the ledger the CLI wrote, directly: the rows are the contract, not a command's output. */
function ledgerRows(env: NodeJS.ProcessEnv): { usage: UsageRow[]; deductions: number } {
  const file = path.join(env.AI_DEV_BOT_HOME!, 'ledger.db');
  if (!existsSync(file)) return { usage: [], deductions: 0 };
  const db = new Database(file, { readonly: true });
  try {
    const usage = db
      .prepare(
        'SELECT task, provider, model, input_tokens, output_tokens, status, project FROM api_usage ORDER BY created_at',
      )
      .all() as UsageRow[];
    const { n } = db.prepare("SELECT COUNT(*) AS n FROM credit_transactions WHERE type = 'usage_deduction'").get() as {
      n: number;
    };
    return { usage, deductions: n };
  } finally {
    db.close();
  }
}

const promptText = (r: ReceivedRequest): string =>
  r.body.contents.map((c: { parts: Array<{ text: string }> }) => c.parts[0]!.text).join('\n');

describe('plan through bin/ against a fake Gemini architect (real index, real ledger)', () => {
  let gemini: FakeGeminiServer;
  let indexedRoot: string;
  const config = () => ({ llm: { gemini: { baseUrl: gemini.url }, maxRetries: 1, retryBaseDelayMs: 10 } });
  const plan = (root: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> =>
    runCliAsync(['plan', ...args], { cwd: root, env }).done;

  beforeAll(async () => {
    gemini = await FakeGeminiServer.start({ apiKey: 'test-key' });
    indexedRoot = makeGitRepo({ ...readFixtureTree('sample-repo'), '.env': `API_TOKEN=${SECRET}\n` });
    const res = runCli(['index', '--json'], { cwd: indexedRoot, env: cliEnv() });
    expect(res.code, res.stderr).toBe(0);
  });
  afterEach(() => {
    gemini.reset();
  });
  afterAll(async () => {
    await gemini.close();
  });

  it('writes TODO.md from the architect\'s plan, with index context, metered as "planning"', async () => {
    const root = makeGitRepo({ ...readFixtureTree('sample-repo'), '.env': `API_TOKEN=${SECRET}\n` });
    expect(runCli(['index', '--json'], { cwd: root, env: cliEnv() }).code).toBe(0);
    const env = cliEnvWithConfig(config());
    gemini.enqueue({ text: PLAN_JSON, inputTokens: 4000, outputTokens: 300 });
    const res = await plan(root, ['add', 'jitter to the retry delay', '--json'], env);
    expect(res.code, res.stderr).toBe(0);

    expect(res.json).toMatchObject({
      file: 'TODO.md',
      goal: 'add jitter to the retry delay',
      model: 'gemini/gemini-2.5-flash',
      archived: null,
      items: [
        { id: 'P1', title: 'Add full jitter to computeRetryDelay', status: 'open', files: ['src/http/retry.ts'] },
        { id: 'P2', status: 'open' },
      ],
      context: { indexNote: null },
    });
    // gemini-2.5-flash at $0.30/$2.50 per Mtok: 4000 in + 300 out = $0.00195 → ×1.5 / $0.01 = 0.2925 credits.
    expect(res.json.usage).toEqual({ calls: 1, inputTokens: 4000, outputTokens: 300, credits: 0.293, usd: 0.00195 });
    expect(res.json.balance).toBe(499.707);
    expect(res.json.context.indexHits).toBeGreaterThan(0);

    const text = readFileSync(path.join(root, 'TODO.md'), 'utf8');
    expect(text.startsWith(`${PLAN_MARKER}\n`)).toBe(true);
    const parsed = parsePlan(text);
    expect(parsed.warnings).toEqual([]);
    expect(parsed.plan.items.map((i) => i.id)).toEqual(['P1', 'P2']);
    expect(parsed.plan.items[0]!.action).toBe(
      'Multiply the exponential delay by a random factor in [0, 1).\nKeep the cap.',
    );

    // What the architect saw: the goal, index hits for it, the tree and outline; never the secret.
    expect(gemini.requests).toHaveLength(1);
    const request = gemini.requests[0]!;
    const prompt = promptText(request);
    expect(prompt).toMatch(/^# Goal\n\nadd jitter to the retry delay/);
    expect(prompt).toContain('# Code most relevant to the goal (semantic index search)');
    expect(prompt).toMatch(/### src\/http\/retry\.ts:\d+-\d+/);
    expect(prompt).toContain('src/http/retry.ts: ');
    expect(JSON.stringify(request.body)).not.toContain(SECRET);
    expect(prompt).not.toMatch(/^\.env$/m);
    expect(request.body.generationConfig.responseMimeType).toBe('application/json');
    expect(request.body.generationConfig.responseSchema.properties.items.type).toBe('array');

    const rows = ledgerRows(env);
    expect(rows.usage).toEqual([
      {
        task: 'planning',
        provider: 'gemini',
        model: 'gemini-2.5-flash',
        input_tokens: 4000,
        output_tokens: 300,
        status: 'ok',
        project: path.basename(root),
      },
    ]);
    expect(rows.deductions).toBe(1);

    // plan show reads it back: JSON and the plain view (no TTY in tests).
    const show = runCli(['plan', 'show', '--json'], { cwd: root, env });
    expect(show.code, show.stderr).toBe(0);
    expect(show.json).toMatchObject({
      file: 'TODO.md',
      goal: 'add jitter to the retry delay',
      items: [
        {
          id: 'P1',
          title: 'Add full jitter to computeRetryDelay',
          status: 'open',
          files: ['src/http/retry.ts'],
          line: expect.any(Number),
        },
        { id: 'P2', status: 'open', verification: 'docs/deploy.md has a Retries section naming the cap.' },
      ],
      progress: { total: 2, done: 0, rejected: 0, open: 2 },
      next: 'P1',
      warnings: [],
    });
    const human = runCli(['plan', 'show'], { cwd: root, env });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('TODO.md: add jitter to the retry delay');
    expect(human.stdout).toContain('Progress: 0/2 done, 0 rejected, 2 open');
    expect(human.stdout).toContain('[ ] P1  Add full jitter to computeRetryDelay   <- next');
  });

  it('plans without an index, saying so, and prints a human summary', async () => {
    const root = makeGitRepo(readFixtureTree('sample-repo'));
    const env = cliEnvWithConfig(config());
    gemini.enqueue({ text: PLAN_JSON, inputTokens: 1000, outputTokens: 100 });
    const res = await plan(root, ['add jitter'], env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/No index in .* Planning without index hits/);
    expect(res.stdout).toContain('Wrote TODO.md: 2 items for "add jitter".');
    expect(res.stdout).toContain('[ ] P1  Add full jitter to computeRetryDelay');
    expect(promptText(gemini.requests[0]!)).toContain('(none: No index in');
  });

  it('retries an invalid plan once, then exits 7 and writes nothing; both calls are charged', async () => {
    const env = cliEnvWithConfig(config());
    gemini.enqueue(
      { text: '{"items": [{"id": "P1", "title": "no fields"}]}', inputTokens: 1000, outputTokens: 20 },
      { text: 'I cannot produce JSON today.', inputTokens: 1100, outputTokens: 10 },
    );
    const res = await plan(indexedRoot, ['add jitter', '--json'], env);
    expect(res.code, res.stderr).toBe(7);
    expect(res.json.error.code).toBe('provider_failed');
    expect(res.json.error.message).toContain('invalid plan twice');
    expect(res.json.error.message).toContain('not valid JSON');
    expect(existsSync(path.join(indexedRoot, 'TODO.md'))).toBe(false);
    // The retry carries the first answer and what was wrong with it.
    expect(gemini.requests).toHaveLength(2);
    const retry = gemini.requests[1]!.body.contents;
    expect(retry.map((c: { role: string }) => c.role)).toEqual(['user', 'model', 'user']);
    expect(retry[2].parts[0].text).toContain('items.0.files');
    expect(ledgerRows(env).usage.map((r) => [r.task, r.input_tokens])).toEqual([
      ['planning', 1000],
      ['planning', 1100],
    ]);
  });

  it('leaves a foreign TODO.md untouched, with exit 2 and a hint, before any call', async () => {
    const mine = '# Shopping\n- [ ] milk\n';
    const root = makeGitRepo({ ...readFixtureTree('sample-repo'), 'TODO.md': mine });
    const env = cliEnvWithConfig(config());
    for (const args of [
      ['x', '--json'],
      ['x', '--replace', '--json'],
    ]) {
      const res = await plan(root, args, env);
      expect(res.code).toBe(2);
      expect(res.json.error.code).toBe('plan_foreign');
      expect(res.json.error.hint).toContain('plan.file');
    }
    expect(gemini.requests).toHaveLength(0);
    expect(readFileSync(path.join(root, 'TODO.md'), 'utf8')).toBe(mine);
    expect(runCli(['plan', 'show'], { cwd: root, env }).code).toBe(2);
  });

  it('needs --replace for an existing plan and archives the old one', async () => {
    const root = makeGitRepo(readFixtureTree('sample-repo'));
    const env = cliEnvWithConfig(config());
    gemini.enqueue({ text: PLAN_JSON });
    expect((await plan(root, ['first goal'], env)).code).toBe(0);
    const first = readFileSync(path.join(root, 'TODO.md'), 'utf8');

    const refused = await plan(root, ['second goal', '--json'], env);
    expect(refused.code).toBe(2);
    expect(refused.json.error.hint).toContain('--replace');
    expect(gemini.requests).toHaveLength(1);

    gemini.enqueue({ text: JSON.stringify({ items: [JSON.parse(PLAN_JSON).items[1]] }) });
    const replaced = await plan(root, ['second goal', '--replace', '--json'], env);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.json.archived).toMatch(/^\.ai-dev-bot\/plans\/\d{8}T\d{6}Z-TODO\.md$/);
    expect(readFileSync(path.join(root, replaced.json.archived), 'utf8')).toBe(first);
    expect(readdirSync(path.join(root, '.ai-dev-bot', 'plans'))).toHaveLength(1);
    expect(parsePlan(readFileSync(path.join(root, 'TODO.md'), 'utf8')).plan.goal).toBe('second goal');
  });

  it('stops with exit 3 and sends nothing when --max-cost cannot cover the call', async () => {
    const root = makeGitRepo(readFixtureTree('sample-repo'));
    const env = cliEnvWithConfig(config());
    const res = await plan(root, ['add jitter', '--max-cost', '0.0001', '--json'], env);
    expect(res.code).toBe(3);
    expect(res.json.error.code).toBe('budget_exceeded');
    expect(gemini.requests).toHaveLength(0);
    expect(existsSync(path.join(root, 'TODO.md'))).toBe(false);
    expect(ledgerRows(env).usage).toEqual([]);
  });

  it('--provider/--model pick the architect, and a bad flag is exit 2', async () => {
    const root = makeGitRepo(readFixtureTree('sample-repo'));
    const env = cliEnvWithConfig(config());
    gemini.enqueue({ text: PLAN_JSON });
    const res = await plan(root, ['g', '--provider', 'gemini', '--model', 'gemini-2.5-pro', '--json'], env);
    expect(res.code, res.stderr).toBe(0);
    expect(gemini.requests[0]!.path).toContain('gemini-2.5-pro');
    expect(res.json.model).toBe('gemini/gemini-2.5-pro');
    expect(ledgerRows(env).usage[0]).toMatchObject({ task: 'planning', model: 'gemini-2.5-pro' });
    const bad = await plan(root, ['g', '--provider', 'nope', '--replace', '--json'], env);
    expect(bad.code).toBe(2);
    const cost = await plan(root, ['g', '--max-cost', 'lots', '--replace', '--json'], env);
    expect(cost.code).toBe(2);
  });

  it('works with an OpenAI-compatible server in strict JSON-schema mode (OPENAI_BASE_URL)', async () => {
    const openai = await FakeOpenAiServer.start();
    try {
      const root = makeGitRepo(readFixtureTree('sample-repo'));
      const env = cliEnv({ OPENAI_BASE_URL: openai.url });
      openai.enqueue({ text: PLAN_JSON, inputTokens: 2000, outputTokens: 200 });
      const res = await plan(root, ['add jitter', '--provider', 'openai', '--model', 'gpt-4o-mini', '--json'], env);
      expect(res.code, res.stderr).toBe(0);
      expect(res.json.model).toBe('openai/gpt-4o-mini');
      const body = openai.requests[0]!.body;
      expect(body.messages[0]).toMatchObject({ role: 'system' });
      expect(body.response_format.type).toBe('json_schema');
      expect(body.response_format.json_schema.strict).toBe(true);
      expect(body.response_format.json_schema.schema.properties.items.items.additionalProperties).toBe(false);
      expect(ledgerRows(env).usage).toMatchObject([
        { task: 'planning', provider: 'openai', model: 'gpt-4o-mini', input_tokens: 2000 },
      ]);
    } finally {
      await openai.close();
    }
  });

  it('a server refusing json_schema (like llama-cpp) gets json_object at once, --verbose says so, and the next plan starts there', async () => {
    const openai = await FakeOpenAiServer.start({ rejects: { jsonSchema: true } });
    try {
      const root = makeGitRepo(readFixtureTree('sample-repo'));
      const env = cliEnv({ OPENAI_BASE_URL: openai.url });
      openai.enqueue({ text: PLAN_JSON, inputTokens: 2000, outputTokens: 200 });
      const args = ['add jitter', '--provider', 'openai', '--model', 'local-model', '--verbose', '--json'];
      const res = await plan(root, args, env);
      expect(res.code, res.stderr).toBe(0);
      expect(openai.requests.map((r) => r.body.response_format?.type)).toEqual(['json_schema', 'json_object']);
      expect(openai.requests[1]!.body.messages[0].content).toContain('matches this JSON Schema');
      expect(res.stderr).toMatch(/rejected json_schema with max_tokens \(HTTP 500: .*\); trying json_object/);
      // The refused request was not billed: one usage row, for the answer.
      expect(ledgerRows(env).usage).toMatchObject([{ task: 'planning', input_tokens: 2000 }]);

      openai.reset();
      openai.enqueue({ text: PLAN_JSON, inputTokens: 2000, outputTokens: 200 });
      const again = await plan(root, [...args, '--replace'], env);
      expect(again.code, again.stderr).toBe(0);
      expect(openai.requests.map((r) => r.body.response_format?.type)).toEqual(['json_object']);
      expect(again.stderr).toMatch(/using json_object for JSON answers .*remembered since/);
    } finally {
      await openai.close();
    }
  });

  it('plan show reports malformed lines of a human-edited plan as warnings with line numbers', () => {
    const root = makeGitRepo({
      'TODO.md': [
        PLAN_MARKER,
        '- Goal: hand written',
        '',
        '- [x] P2: done first',
        '  - Action: a',
        '  - Verification: v',
        '- [ ] this line has no id',
        '- [!] P1: rejected later',
        '  - Files: a.ts',
        '  - Action: a',
        '  - Verification: v',
        '  - Feedback: tests fail',
        '',
      ].join('\n'),
    });
    const env = cliEnv();
    const res = runCli(['plan', 'show', '--json'], { cwd: root, env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.json.items.map((i: { id: string; status: string }) => [i.id, i.status])).toEqual([
      ['P2', 'done'],
      ['P1', 'rejected'],
    ]);
    expect(res.json.items[1].feedback).toBe('tests fail');
    expect(res.json.next).toBeNull();
    expect(res.json.warnings).toEqual([{ line: 7, message: expect.stringContaining('without an "ID: title" prefix') }]);
    expect(res.stderr).toContain('warning: TODO.md:7: checkbox line without');
    const human = runCli(['plan', 'show'], { cwd: root, env });
    expect(human.stdout).toContain('[!] P1  rejected later\n      feedback: tests fail');
    expect(human.stdout).toContain('Progress: 1/2 done, 1 rejected, 0 open');
  });

  it('plan show without a plan is exit 2 with a hint', () => {
    const root = makeGitRepo({ 'a.txt': 'x' });
    const res = runCli(['plan', 'show', '--json'], { cwd: root, env: cliEnv() });
    expect(res.code).toBe(2);
    expect(res.json.error).toMatchObject({ code: 'plan_missing', hint: expect.stringContaining('ai-dev-bot plan') });
  });
});
