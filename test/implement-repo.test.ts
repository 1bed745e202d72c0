import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlan, renderPlan } from '../src/core/plan/planFile.js';
import { FakeGeminiServer, FakeOpenAiServer, requestText } from './fakes/llmServers.js';
import { editBlock, editReply } from './helpers/aider.js';
import { runCli, runCliAsync } from './helpers/cli.js';
import { fakeLlmEnv } from './helpers/implementRepo.js';
import { readFixtureTree } from './helpers/fixtures.js';
import { git, makeGitRepo } from './helpers/repo.js';

const SECRET = 'sk-live-never-leaves-the-repo-123456';

/**
 * The "done when" walk: a copy of a real (fixture) repository with an index and Aider's repo map
 * on, a two-item plan taken to two verified commits by `implement next` twice.
 */
describe('implement next on an indexed copy of a repository (real Aider, model, index)', () => {
  let coder: FakeOpenAiServer;
  let architect: FakeGeminiServer;
  beforeAll(async () => {
    coder = await FakeOpenAiServer.start({ apiKey: 'sk-coder-test', fallback: { text: 'Nothing to change.' } });
    architect = await FakeGeminiServer.start({ apiKey: 'test-key' });
  });
  afterAll(async () => {
    await coder.close();
    await architect.close();
  });

  it('walks a two-item plan to two verified commits, with index context, a refreshed index and no secrets sent', async () => {
    const root = makeGitRepo({ ...readFixtureTree('sample-repo'), '.env': `OPENAI_API_KEY=${SECRET}\n` });
    const env = fakeLlmEnv({
      coderUrl: coder.url,
      architectUrl: architect.url,
      config: {
        aider: { mapTokens: 1024, timeoutSec: 180 },
        verify: { command: 'git diff --check HEAD', timeoutSec: 60 },
      },
    });
    expect(runCli(['index', '--json'], { cwd: root, env }).code).toBe(0);
    writeFileSync(
      path.join(root, 'TODO.md'),
      renderPlan({
        goal: 'make the retry policy explicit',
        items: [
          {
            id: 'P1',
            title: 'Export a default retry policy',
            status: 'open',
            files: ['src/http/retry.ts'],
            action: 'Export DEFAULT_RETRY_POLICY: RetryOptions with 3 retries, 100 ms base delay, 2000 ms cap.',
            verification: 'src/http/retry.ts exports DEFAULT_RETRY_POLICY with those values.',
          },
          {
            id: 'P2',
            title: 'Document the retry policy in the deploy guide',
            status: 'open',
            files: ['docs/deploy.md'],
            action: 'Add a "Retries" section naming DEFAULT_RETRY_POLICY and its 2000 ms cap.',
            verification: 'docs/deploy.md has a Retries section.',
          },
        ],
      }),
    );

    const retryTs = readFileSync(path.join(root, 'src/http/retry.ts'), 'utf8');
    const anchor =
      'export interface RetryOptions {\n  retries: number;\n  baseDelayMs: number;\n  maxDelayMs: number;\n}\n';
    expect(retryTs.startsWith(anchor)).toBe(true);
    const policy = `${anchor}\nexport const DEFAULT_RETRY_POLICY: RetryOptions = { retries: 3, baseDelayMs: 100, maxDelayMs: 2000 };\n`;
    coder.enqueue({ text: editReply(editBlock('src/http/retry.ts', anchor, policy)) });
    architect.enqueue({ text: JSON.stringify({ status: 'APPROVED', feedback: 'Policy exported.', problems: [] }) });
    let res = await runCliAsync(['implement', 'next', '--json'], { cwd: root, env }).done;
    expect(res.code, res.stderr).toBe(0);
    expect(res.json.item.id).toBe('P1');
    expect(res.json.attempts[0].checks).toMatchObject({ command: 'git diff --check HEAD', passed: true });

    const deployEnd = 'replace pods one at a time, so the service stays available during a release.\n';
    expect(readFileSync(path.join(root, 'docs/deploy.md'), 'utf8').endsWith(deployEnd)).toBe(true);
    coder.enqueue({
      text: editReply(
        editBlock(
          'docs/deploy.md',
          deployEnd,
          `${deployEnd}\n## Retries\n\nClients use DEFAULT_RETRY_POLICY (cap 2000 ms).\n`,
        ),
      ),
    });
    architect.enqueue({ text: JSON.stringify({ status: 'APPROVED', feedback: 'Documented.', problems: [] }) });
    res = await runCliAsync(['implement', 'next', '--json'], { cwd: root, env }).done;
    expect(res.code, res.stderr).toBe(0);
    expect(res.json.item.id).toBe('P2');

    expect(git(root, 'log', '--format=%s').trim().split('\n')).toEqual([
      'ai-dev-bot: P2 Document the retry policy in the deploy guide',
      'ai-dev-bot: P1 Export a default retry policy',
      'initial',
    ]);
    expect(git(root, 'status', '--porcelain')).toBe('');
    expect(parsePlan(readFileSync(path.join(root, 'TODO.md'), 'utf8')).plan.items.map((i) => i.status)).toEqual([
      'done',
      'done',
    ]);

    // Aider worked with the repo map and read-only context files from the index; no secret left the repo.
    const first = requestText(coder.requests[0]!);
    expect(first).toContain('READ ONLY files');
    expect(first).toContain('Here are summaries of some files present in my git repository');
    for (const r of [...coder.requests, ...architect.requests]) expect(JSON.stringify(r.body)).not.toContain(SECRET);

    // The index was refreshed with Aider's edits.
    const search = runCli(['search', 'DEFAULT_RETRY_POLICY', '--mode', 'keyword', '--json'], { cwd: root, env });
    const paths = (search.json.results as Array<{ path: string; text: string }>).map((r) => r.path);
    expect(paths).toContain('src/http/retry.ts');
    expect(paths).toContain('docs/deploy.md');
  }, 300_000);
});
