import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/core/config.js';
import { AppError } from '../src/core/errors.js';
import type { Reporter } from '../src/core/reporter.js';
import { openWorkspace } from '../src/core/workspace.js';
import type { ArchitectCall, ArchitectRequest } from '../src/core/plan/architect.js';
import { coerceArchitectShape, extractJson, validateArchitectAnswer } from '../src/core/plan/architect.js';
import { ARCHITECT_SYSTEM_PROMPT } from '../src/core/plan/architectPrompt.js';
import { createPlan } from '../src/core/plan/createPlan.js';
import { gatherPlanContext, isSecondaryPath, trimTree } from '../src/core/plan/planContext.js';
import { PLAN_MARKER, nextOpenItem, parsePlan, planProgress } from '../src/core/plan/planFile.js';
import { architectJsonSchema } from '../src/core/plan/planSchema.js';
import { writeFileAtomic } from '../src/core/atomicFile.js';
import { loadPlan, planLocation, updatePlanItemOnDisk } from '../src/core/plan/planStore.js';
import { outlineSymbols } from '../src/core/plan/symbolOutline.js';
import { makeGitRepo } from './helpers/repo.js';

const REPO_FILES: Record<string, string> = {
  'README.md': '# Weather CLI\n\nFetches forecasts from an HTTP API.\n',
  'package.json': JSON.stringify({ name: 'weather-cli', type: 'module', scripts: { test: 'vitest run' } }, null, 2),
  'src/http.ts':
    'export async function getJson(url: string) {\n  return (await fetch(url)).json();\n}\nexport class HttpError extends Error {}\n',
  'src/forecast.ts':
    "import { getJson } from './http.js';\nexport interface Forecast { temp: number }\nexport const fetchForecast = (city: string) => getJson(`/f/${city}`);\n",
  'test/http.test.ts': "import { it } from 'vitest';\nit('works', () => {});\n",
  '.env.production': 'API_TOKEN=sk-live-should-never-leak\n',
  'config/id_rsa': '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n',
};

const GOOD_PLAN = {
  items: [
    {
      id: 'P1',
      title: 'Add retry with backoff to getJson',
      files: ['src/http.ts', 'test/http.test.ts'],
      action: 'Wrap fetch in a loop with exponential backoff.\nRetry on 429 and 5xx.',
      verification: 'A 429 is retried; 3 failures throw HttpError.',
    },
    {
      id: 'P2',
      title: 'Use the retrying client in fetchForecast',
      files: ['src/forecast.ts'],
      action: 'Pass retry options through.',
      verification: 'forecast tests pass',
    },
  ],
};

function collectingReporter(): Reporter & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info() {}, debug() {}, warn: (m) => warnings.push(m) };
}

/** An architect that answers from a script and records every request it got. */
function scriptedArchitect(...answers: string[]): ArchitectCall & { requests: ArchitectRequest[] } {
  const requests: ArchitectRequest[] = [];
  const call = (async (request: ArchitectRequest) => {
    requests.push(request);
    const text = answers.shift();
    if (text === undefined) throw new Error('architect called more often than scripted');
    return { text, model: 'fake-architect-1', inputTokens: 100, outputTokens: 50 };
  }) as ArchitectCall & { requests: ArchitectRequest[] };
  call.requests = requests;
  return call;
}

function setup(files: Record<string, string> = REPO_FILES) {
  const root = makeGitRepo(files);
  const ws = openWorkspace(root);
  const config = resolveConfig([]);
  return { root, ws, config, location: planLocation(ws, config) };
}

function run(env: ReturnType<typeof setup>, call: ArchitectCall, extra: { replace?: boolean; goal?: string } = {}) {
  return createPlan({
    ws: env.ws,
    config: env.config,
    goal: extra.goal ?? 'add retries to the HTTP client',
    replace: extra.replace ?? false,
    call,
    modelLabel: 'openai/fake-architect',
    maxOutputTokens: 4096,
    reporter: collectingReporter(),
    now: new Date('2026-11-26T07:00:00Z'),
  });
}

describe('createPlan with a scripted architect', () => {
  it("writes a plan file that parses back to the architect's items", async () => {
    const env = setup();
    const call = scriptedArchitect(JSON.stringify(GOOD_PLAN));
    const result = await run(env, call);
    const text = readFileSync(path.join(env.root, 'TODO.md'), 'utf8');
    expect(text.split('\n')[0]).toBe(PLAN_MARKER);
    const { plan, warnings } = parsePlan(text);
    expect(warnings).toEqual([]);
    expect(plan).toMatchObject({
      goal: 'add retries to the HTTP client',
      date: '2026-11-26 07:00 UTC',
      model: 'openai/fake-architect-1',
    });
    expect(plan.items.map((i) => [i.id, i.status, i.title, i.files])).toEqual([
      ['P1', 'open', 'Add retry with backoff to getJson', ['src/http.ts', 'test/http.test.ts']],
      ['P2', 'open', 'Use the retrying client in fetchForecast', ['src/forecast.ts']],
    ]);
    expect(plan.items[0]!.action).toBe(GOOD_PLAN.items[0]!.action);
    expect(result.archivedTo).toBeUndefined();
    expect(call.requests).toHaveLength(1);
    // The provider gets the JSON schema and the system prompt; no temp files are left behind.
    expect(call.requests[0]!.jsonSchema).toEqual(architectJsonSchema());
    expect(call.requests[0]!.system).toBe(ARCHITECT_SYSTEM_PROMPT);
    expect(readdirSync(env.root).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('sends the goal, tree, README, manifests and outline, but never secret files', async () => {
    const env = setup();
    const call = scriptedArchitect(JSON.stringify(GOOD_PLAN));
    await run(env, call);
    const prompt = call.requests[0]!.messages[0]!.content;
    expect(prompt).toMatch(/^# Goal\n\nadd retries to the HTTP client/);
    expect(prompt).toContain('src/forecast.ts');
    expect(prompt).toContain('Fetches forecasts from an HTTP API.');
    expect(prompt).toContain('"name": "weather-cli"');
    expect(prompt).toContain('src/http.ts: getJson(), HttpError');
    expect(prompt).toContain('src/forecast.ts: Forecast, fetchForecast');
    expect(prompt).toContain('(none: No index search available.)');
    expect(prompt).not.toContain('.env.production');
    expect(prompt).not.toContain('sk-live-should-never-leak');
    expect(prompt).not.toContain('id_rsa');
  });

  it('retries once with the validation error, then writes the valid second answer', async () => {
    const env = setup();
    const invalid = JSON.stringify({
      items: [{ id: 'P1', title: '', files: ['../outside.ts'], action: 'x', verification: 'y' }],
    });
    const call = scriptedArchitect(invalid, '```json\n' + JSON.stringify(GOOD_PLAN) + '\n```');
    const reporter = collectingReporter();
    const result = await createPlan({
      ws: env.ws,
      config: env.config,
      goal: 'add retries',
      replace: false,
      call,
      modelLabel: 'openai/fake',
      maxOutputTokens: 1000,
      reporter,
    });
    expect(result.plan.items).toHaveLength(2);
    expect(result.replies).toHaveLength(2);
    const retry = call.requests[1]!.messages;
    expect(retry.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(retry[1]!.content).toBe(invalid);
    expect(retry[2]!.content).toContain('items.0.title: title must not be empty');
    expect(retry[2]!.content).toContain('items.0.files.0: file paths must stay inside the repository');
    expect(reporter.warnings.join('\n')).toContain('asking once more');
  });

  it('gives up with exit 7 after a second invalid answer and writes nothing', async () => {
    const env = setup();
    const call = scriptedArchitect('Sure! Here is your plan: step 1, step 2.', JSON.stringify({ items: [] }));
    const error = await run(env, call).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).exitCode).toBe(7);
    expect((error as AppError).message).toContain('invalid plan twice');
    expect((error as AppError).message).toContain('the plan needs at least one item');
    expect(call.requests[1]!.messages[2]!.content).toContain('not valid JSON');
    expect(existsSync(path.join(env.root, 'TODO.md'))).toBe(false);
  });

  it('leaves a foreign TODO.md untouched (exit 2) without calling the architect', async () => {
    const env = setup({ ...REPO_FILES, 'TODO.md': '# my own todo list\n- [ ] buy milk\n' });
    const call = scriptedArchitect(JSON.stringify(GOOD_PLAN));
    for (const replace of [false, true]) {
      const error = await run(env, call, { replace }).catch((e: unknown) => e);
      expect((error as AppError).code).toBe('plan_foreign');
      expect((error as AppError).exitCode).toBe(2);
      expect((error as AppError).hint).toMatch(/plan\.file/);
    }
    expect(call.requests).toHaveLength(0);
    expect(readFileSync(path.join(env.root, 'TODO.md'), 'utf8')).toBe('# my own todo list\n- [ ] buy milk\n');
  });

  it('writes over an empty TODO.md (nothing to lose) without --replace or an archive', async () => {
    const env = setup({ ...REPO_FILES, 'TODO.md': '\n' });
    const result = await run(env, scriptedArchitect(JSON.stringify(GOOD_PLAN)));
    expect(result.archivedTo).toBeUndefined();
    expect(isPlanText(path.join(env.root, 'TODO.md'))).toBe(true);
    expect(existsSync(env.ws.plansDir)).toBe(false);
  });

  it('refuses to replace its own plan without --replace, and archives it with --replace', async () => {
    const env = setup();
    await run(env, scriptedArchitect(JSON.stringify(GOOD_PLAN)), { goal: 'first goal' });
    const todo = path.join(env.root, 'TODO.md');
    // A human edit that must survive in the archive.
    writeFileSync(todo, readFileSync(todo, 'utf8').replace('- [ ] P1:', '- [x] P1:') + '\nNotes from review.\n');
    chmodSync(todo, 0o640);
    const firstText = readFileSync(todo, 'utf8');

    const call = scriptedArchitect(JSON.stringify({ items: [GOOD_PLAN.items[1]] }));
    const refused = await run(env, call, { goal: 'second goal' }).catch((e: unknown) => e);
    expect((refused as AppError).exitCode).toBe(2);
    expect((refused as AppError).message).toContain('already holds a plan (1/2 items done)');
    expect((refused as AppError).hint).toContain('--replace');
    expect(call.requests).toHaveLength(0);
    expect(readFileSync(todo, 'utf8')).toBe(firstText);

    const result = await run(env, call, { goal: 'second goal', replace: true });
    expect(result.archivedTo).toBe(path.join(env.ws.plansDir, '20261126T070000Z-TODO.md'));
    expect(readFileSync(result.archivedTo!, 'utf8')).toBe(firstText);
    expect(parsePlan(readFileSync(todo, 'utf8')).plan).toMatchObject({ goal: 'second goal', items: [{ id: 'P2' }] });
    expect(statSync(todo).mode & 0o777).toBe(0o640);

    // A second replace in the same second does not overwrite the first archive.
    const again = await run(env, scriptedArchitect(JSON.stringify(GOOD_PLAN)), { goal: 'third', replace: true });
    expect(again.archivedTo).toBe(path.join(env.ws.plansDir, '20261126T070000Z-TODO-2.md'));
  });

  it('honours config plan.file and refuses a path outside the repository', async () => {
    const env = setup();
    const config = resolveConfig([{ source: 'test', values: { plan: { file: 'docs/PLAN.md' } } }]);
    await createPlan({
      ws: env.ws,
      config,
      goal: 'g',
      replace: false,
      call: scriptedArchitect(JSON.stringify(GOOD_PLAN)),
      modelLabel: 'openai/x',
      maxOutputTokens: 100,
      reporter: collectingReporter(),
    });
    expect(isPlanText(path.join(env.root, 'docs/PLAN.md'))).toBe(true);
    const outside = resolveConfig([{ source: 'test', values: { plan: { file: '../elsewhere.md' } } }]);
    expect(() => planLocation(env.ws, outside)).toThrow(/outside the repository/);
  });

  it('a written plan can be walked to the end the way implement will: next → done', async () => {
    const env = setup();
    await run(env, scriptedArchitect(JSON.stringify(GOOD_PLAN)));
    const visited: string[] = [];
    for (;;) {
      const next = nextOpenItem(loadPlan(env.location).plan);
      if (!next) break;
      visited.push(next.id);
      updatePlanItemOnDisk(env.location, next.id, { status: 'done' });
      expect(visited.length).toBeLessThanOrEqual(GOOD_PLAN.items.length);
    }
    expect(visited).toEqual(['P1', 'P2']);
    expect(planProgress(loadPlan(env.location).plan)).toEqual({ total: 2, done: 2, rejected: 0, open: 0 });
  });

  it('updates an item on disk in place, keeping human edits', async () => {
    const env = setup();
    await run(env, scriptedArchitect(JSON.stringify(GOOD_PLAN)));
    const todo = path.join(env.root, 'TODO.md');
    writeFileSync(todo, readFileSync(todo, 'utf8') + '\n## Reviewer notes\nkeep this\n');
    const before = readFileSync(todo, 'utf8');
    const updated = updatePlanItemOnDisk(env.location, 'P1', { status: 'rejected', feedback: 'missing 5xx test' });
    expect(updated.plan.items[0]).toMatchObject({ status: 'rejected', feedback: 'missing 5xx test' });
    const after = readFileSync(todo, 'utf8');
    expect(after).toContain('## Reviewer notes\nkeep this\n');
    expect(after.replace('- [!] P1:', '- [ ] P1:').replace('  - Feedback: missing 5xx test\n', '')).toBe(before);
  });
});

function isPlanText(file: string): boolean {
  return readFileSync(file, 'utf8').startsWith(PLAN_MARKER);
}

describe('plan context', () => {
  it('uses index hits when available, skipping secrets and the plan file', async () => {
    const env = setup();
    const context = await gatherPlanContext({
      root: env.root,
      goal: 'retry',
      exclude: ['TODO.md'],
      search: async (query, k) => {
        expect([query, k]).toEqual(['retry', 8]);
        return [
          { path: '.env.production', startLine: 1, endLine: 1, text: 'API_TOKEN=sk-live-should-never-leak' },
          { path: 'src/forecast.ts', startLine: 1, endLine: 3, text: 'x\n'.repeat(2000) },
        ];
      },
      limits: { hitChars: 100 },
    });
    expect(context.hits.map((h) => h.path)).toEqual(['src/forecast.ts']);
    expect(context.hits[0]!.text.length).toBeLessThanOrEqual(100);
    expect(context.hits[0]!.endLine).toBe(context.hits[0]!.text.split('\n').length);
    // Files the index found come first in the outline.
    expect(context.outline.split('\n')[0]).toMatch(/^src\/forecast\.ts: /);
    expect(context.indexNote).toBeUndefined();
  });

  it('redacts key-shaped strings from README, manifests and hits before they reach the prompt', async () => {
    const key = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123';
    const env = setup({
      'README.md': `Set OPENAI_API_KEY=${key}\n`,
      'package.json': `{"config": {"token": "${key}"}}\n`,
      'src/a.ts': 'x\n',
    });
    const context = await gatherPlanContext({
      root: env.root,
      goal: 'g',
      search: async () => [{ path: 'src/a.ts', startLine: 1, endLine: 1, text: `const apiKey = "${key}";` }],
    });
    expect(JSON.stringify(context)).not.toContain(key);
    expect(context.readme!.text).toContain('[REDACTED]');
  });

  it('goes on without hits when there is no index, and says so', async () => {
    const env = setup();
    const reporter = collectingReporter();
    const context = await gatherPlanContext({
      root: env.root,
      goal: 'retry',
      search: async () => {
        throw new AppError('index_missing', `No index in ${env.root} yet.`, 'Run `ai-dev-bot index` first.');
      },
      reporter,
    });
    expect(context.hits).toEqual([]);
    expect(context.indexNote).toContain('No index');
    expect(reporter.warnings[0]).toContain('Run `ai-dev-bot index` first.');
  });

  it('does not swallow other search failures', async () => {
    const env = setup();
    await expect(
      gatherPlanContext({ root: env.root, goal: 'g', search: async () => Promise.reject(new Error('boom')) }),
    ).rejects.toThrow('boom');
  });

  it('caps the README and manifests', async () => {
    const env = setup({
      'README.md': 'line of readme text\n'.repeat(1000),
      'package.json': '{\n' + '  "k": 1,\n'.repeat(2000) + '}\n',
    });
    const context = await gatherPlanContext({
      root: env.root,
      goal: 'g',
      limits: { readmeChars: 200, manifestChars: 100 },
    });
    expect(context.readme!.truncated).toBe(true);
    expect(context.readme!.text.length).toBeLessThanOrEqual(200);
    expect(context.readme!.text.endsWith('line of readme text')).toBe(true);
    expect(context.manifests[0]!.text.length).toBeLessThanOrEqual(100);
  });

  it('outlines application code before tests, fixtures and docs', async () => {
    const env = setup({
      'a/test/z.test.ts': 'export const inTest = 1;\n',
      'docs/guide.md': '# Guide\n',
      'lib/core.ts': 'export function core() {}\n',
      'lib/core.spec.ts': 'export const spec = 1;\n',
      'zzz/main.py': 'def main():\n    pass\n',
    });
    const context = await gatherPlanContext({ root: env.root, goal: 'g' });
    expect(context.outline.split('\n').map((l) => l.split(':')[0])).toEqual([
      'lib/core.ts',
      'zzz/main.py',
      'a/test/z.test.ts',
      'docs/guide.md',
      'lib/core.spec.ts',
    ]);
    expect(['test/x.ts', 'src/x_test.go', 'pkg/test_x.py', 'examples/a.ts'].every(isSecondaryPath)).toBe(true);
    expect(['src/testing.ts', 'src/contest/x.ts', 'README.md'].some(isSecondaryPath)).toBe(false);
  });

  it('collapses deep directories to fit the tree budget', () => {
    const paths = ['README.md', 'src/a.ts', 'src/deep/x/1.ts', 'src/deep/x/2.ts', 'src/deep/y.ts', 'test/t.ts'];
    expect(trimTree(paths, 10).split('\n')).toEqual(paths);
    expect(trimTree(paths, 5).split('\n')).toEqual([
      'README.md',
      'src/a.ts',
      'src/deep/x/ (2 files)',
      'src/deep/y.ts',
      'test/t.ts',
    ]);
    expect(trimTree(paths, 4).split('\n')).toEqual(['README.md', 'src/a.ts', 'src/deep/ (3 files)', 'test/t.ts']);
    expect(trimTree(paths, 3).split('\n')).toEqual(['README.md', 'src/ (4 files)', 'test/ (1 file)']);
    expect(trimTree(paths, 2).split('\n')).toEqual(['README.md', 'src/ (4 files)', '… 1 more entries']);
  });
});

describe('symbol outline', () => {
  it.each([
    // Exports are the module's interface; unexported helpers only show when there are no exports.
    [
      'a.ts',
      'export default async function main() {}\nexport type Id = string;\nclass Local {}\n  function nested() {}\n',
      ['main()', 'Id'],
    ],
    ['script.js', 'class Local {}\nasync function run() {}\n  function nested() {}\n', ['Local', 'run()']],
    ['a.py', 'class Cache:\n    def get(self): pass\ndef evict(cache):\n    pass\n', ['Cache', 'evict()']],
    ['a.go', 'package x\nfunc (c *Cache) Get(k string) {}\ntype Cache struct{}\n', ['Get()', 'Cache']],
    ['a.rs', 'pub struct Lru;\nimpl Lru {}\npub(crate) async fn evict() {}\n', ['Lru', 'evict()']],
    ['A.java', 'public final class Lru {\n  private static class Node {}\n}\n', ['Lru', 'Node']],
    ['doc.md', '# Title\n```\n# not a heading\n```\n## Section\n', ['Title', 'Section']],
    ['data.json', '{"a": 1}', []],
  ])('%s', (file, text, expected) => {
    expect(outlineSymbols(file, text)).toEqual(expected);
  });

  it('caps the names per file', () => {
    const text = Array.from({ length: 40 }, (_, i) => `export const c${i} = ${i};`).join('\n');
    const names = outlineSymbols('many.ts', text);
    expect(names).toHaveLength(16);
    expect(names.at(-1)).toBe('…');
  });
});

describe('architect answer parsing', () => {
  it('accepts fenced JSON and JSON with prose around it', () => {
    expect(extractJson('```json\n{"a":1}\n```')).toEqual({ a: 1 });
    expect(extractJson('Here you go:\n{"a":{"b":2}}\nThanks')).toEqual({ a: { b: 2 } });
    expect(() => extractJson('no json at all')).toThrow();
  });

  it('repairs common shape slips instead of spending a retry on them', () => {
    const slipped = [
      { id: 1, title: 't', files: 'src/a.ts, src/b.ts', action: ['edit a', 'edit b'], verification: 'v' },
      { id: '2.1', title: 't', files: [], action: 'a', verification: ['tests pass'] },
    ];
    expect(coerceArchitectShape(slipped)).toEqual({
      items: [
        { id: 'P1', title: 't', files: ['src/a.ts', 'src/b.ts'], action: '- edit a\n- edit b', verification: 'v' },
        { id: 'P2.1', title: 't', files: [], action: 'a', verification: '- tests pass' },
      ],
    });
    expect(validateArchitectAnswer(JSON.stringify(slipped)).ok).toBe(true);
    // Real problems are still rejected.
    expect(
      validateArchitectAnswer(JSON.stringify([{ id: 'P1', title: 't', files: 7, action: 'a', verification: 'v' }])).ok,
    ).toBe(false);
  });

  it('reports duplicate ids and bad ids by path', () => {
    const result = validateArchitectAnswer(
      JSON.stringify({
        items: [
          { id: 'P1', title: 't', files: [], action: 'a', verification: 'v' },
          { id: 'p1', title: 't', files: [], action: 'a', verification: 'v' },
          { id: '1st', title: 't', files: ['/etc/passwd'], action: 'a', verification: 'v' },
        ],
      }),
    );
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problems).toContain('items.1.id: duplicate id "p1" (also items[0])');
      expect(result.problems).toContain('items.2.id: an id looks like P1');
      expect(result.problems).toContain('items.2.files.0: file paths must be relative');
    }
  });

  it('the JSON schema closes objects and requires every field (OpenAI strict mode)', () => {
    const schema = architectJsonSchema() as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['items']);
    const item = schema.properties.items.items;
    expect(item.required).toEqual(['id', 'title', 'files', 'action', 'verification']);
    expect(item.additionalProperties).toBe(false);
    expect(JSON.stringify(schema)).not.toMatch(/"(pattern|minLength|maxLength|\$schema)"/);
  });
});

describe('atomic writes', () => {
  it('replaces the file in one rename and leaves no temp file', () => {
    const env = setup({ 'a.txt': 'x' });
    const file = path.join(env.root, 'nested', 'out.md');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, 'one');
    writeFileAtomic(file, 'two');
    expect(readFileSync(file, 'utf8')).toBe('two');
    expect(readdirSync(path.dirname(file))).toEqual(['out.md']);
  });

  it("refuses a symlink (a repo's TODO.md linked to a file outside it): the target stays as it was", () => {
    const env = setup({ 'a.txt': 'x' });
    const outside = path.join(mkdtempSync(path.join(os.tmpdir(), 'aidb-outside-')), 'bashrc');
    writeFileSync(outside, 'export PATH=/usr/bin\n');
    const link = path.join(env.root, 'TODO.md');
    symlinkSync(outside, link);
    expect(() => writeFileAtomic(link, 'plan')).toThrow(/symbolic link/);
    expect(readFileSync(outside, 'utf8')).toBe('export PATH=/usr/bin\n');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });
});
