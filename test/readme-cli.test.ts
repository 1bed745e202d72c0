import Database from 'better-sqlite3';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { renderPlan } from '../src/core/plan/planFile.js';
import { FakeGeminiServer } from './fakes/llmServers.js';
import { cliEnvWithConfig, runCliAsync } from './helpers/cli.js';
import { git, makeGitRepo } from './helpers/repo.js';

const OLD_README = '# greeter\n\nMy own notes.\n';
const NEW_README = '# greeter\n\nA tiny greeting library.\n\n## Install\n\n```\nnpm install\n```\n';
const SECRET = 'AIzaSyD-this-is-a-secret-that-must-never-leave-0000';

const draft = (readme = NEW_README, leftOut = ['Configuration']) => ({
  text: JSON.stringify({ readme, leftOut }),
  inputTokens: 3000,
  outputTokens: 400,
});
const verdict = (status: 'APPROVED' | 'REJECTED', feedback: string) => ({
  text: JSON.stringify({ status, feedback, problems: status === 'REJECTED' ? ['"npm start" is invented'] : [] }),
  inputTokens: 3500,
  outputTokens: 60,
});

function readmeTasks(env: NodeJS.ProcessEnv): string[] {
  const file = path.join(env.AI_DEV_BOT_HOME!, 'ledger.db');
  if (!existsSync(file)) return [];
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT task FROM api_usage ORDER BY rowid').all() as Array<{ task: string }>).map(
      (r) => r.task,
    );
  } finally {
    db.close();
  }
}

describe('readme through bin/ with the loopback architect', () => {
  let architect: FakeGeminiServer;
  beforeAll(async () => {
    architect = await FakeGeminiServer.start({ apiKey: 'test-key' });
  });
  afterEach(() => architect.reset());
  afterAll(async () => {
    await architect.close();
  });

  function setup(status: 'done' | 'open' = 'done') {
    const root = makeGitRepo({
      'package.json': JSON.stringify({ name: 'greeter', version: '1.0.0', type: 'module', main: 'src/greet.js' }),
      'src/greet.js': "export function greet(name) {\n  return 'Hello, ' + name + '!';\n}\n",
      'README.md': OLD_README,
      '.env': `GEMINI_API_KEY=${SECRET}\n`,
    });
    const item = { files: ['src/greet.js'], action: 'Make greet say Hello.', verification: 'greet says Hello' };
    writeFileSync(
      path.join(root, 'TODO.md'),
      renderPlan({ goal: 'a greeting library', items: [{ id: 'P1', title: 'Greet with Hello', status, ...item }] }),
    );
    git(root, 'add', 'TODO.md');
    git(root, 'commit', '-qm', 'plan');
    const env = cliEnvWithConfig({ llm: { gemini: { baseUrl: architect.url }, maxRetries: 0, retryBaseDelayMs: 10 } });
    return { root, env };
  }
  const readme = (root: string, env: NodeJS.ProcessEnv, args: string[] = []) =>
    runCliAsync(['readme', ...args, '--json'], { cwd: root, env }).done;

  it('writes, reviews, backs up the old README and commits the new one alone; metered as task readme', async () => {
    const { root, env } = setup();
    architect.enqueue(draft());
    architect.enqueue(verdict('APPROVED', 'Supported by package.json and src/greet.js.'));
    const res = await readme(root, env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.json).toMatchObject({
      outcome: 'approved',
      file: 'README.md',
      leftOut: ['Configuration'],
      review: { verdict: 'APPROVED' },
      usage: { calls: 2 },
    });
    expect(readFileSync(path.join(root, 'README.md'), 'utf8')).toBe(NEW_README);
    expect(readFileSync(path.join(root, res.json.backup), 'utf8')).toBe(OLD_README);
    expect(res.json.backup).toMatch(/^\.ai-dev-bot\/readme\/README-.*\.md$/);
    expect(res.json.commit).toBe(git(root, 'rev-parse', 'HEAD').trim());
    expect(git(root, 'show', '--name-only', '--format=%s', 'HEAD').trim().split('\n')).toEqual([
      'ai-dev-bot: README.md from the plan and the code',
      '',
      'README.md',
    ]);
    expect(git(root, 'status', '--porcelain')).toBe('');
    expect(readmeTasks(env)).toEqual(['readme', 'readme']);

    // The architect saw the plan, the manifest and the tree; never the secret; not the old README.
    const prompt = JSON.stringify(architect.requests[0]!.body);
    expect(prompt).toContain('[x] P1 Greet with Hello');
    expect(prompt).toContain('\\"name\\":\\"greeter\\"');
    expect(prompt).toContain('src/greet.js');
    expect(prompt).not.toContain(SECRET);
    expect(prompt).not.toContain('My own notes');
    // The reviewer judged the new README as a diff against the old one.
    const reviewPrompt = JSON.stringify(architect.requests[1]!.body);
    expect(reviewPrompt).toContain('+A tiny greeting library.');
    expect(reviewPrompt).toContain('-My own notes.');
  });

  it('a rejected README is not written or committed (exit 4)', async () => {
    const { root, env } = setup();
    const head = git(root, 'rev-parse', 'HEAD');
    architect.enqueue(draft('# greeter\n\nRun `npm start`.\n'));
    architect.enqueue(verdict('REJECTED', 'npm start is not defined in package.json.'));
    const res = await readme(root, env);
    expect(res.code).toBe(4);
    expect(res.json).toMatchObject({ outcome: 'rejected', commit: null, backup: null });
    expect(res.json.review.feedback).toContain('npm start');
    expect(readFileSync(path.join(root, 'README.md'), 'utf8')).toBe(OLD_README);
    expect(git(root, 'rev-parse', 'HEAD')).toBe(head);
  });

  it('--dry-run prints the README and writes nothing; an incomplete plan needs --force', async () => {
    const { root, env } = setup('open');
    const refused = await readme(root, env);
    expect(refused.code).toBe(2);
    expect(refused.json.error.hint).toContain('--force');
    expect(architect.requests).toHaveLength(0);

    architect.enqueue(draft());
    const dry = await runCliAsync(['readme', '--force', '--dry-run'], { cwd: root, env }).done;
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe(NEW_README);
    expect(architect.requests).toHaveLength(1);
    expect(readFileSync(path.join(root, 'README.md'), 'utf8')).toBe(OLD_README);
    expect(git(root, 'status', '--porcelain')).toBe('');
  });

  it('--max-cost too small: exit 3 before anything is sent; uncommitted README edits: exit 2', async () => {
    const { root, env } = setup();
    const poor = await readme(root, env, ['--max-cost', '0.0000001']);
    expect(poor.code).toBe(3);
    expect(architect.requests).toHaveLength(0);

    writeFileSync(path.join(root, 'README.md'), `${OLD_README}An edit not committed yet.\n`);
    const dirty = await readme(root, env);
    expect(dirty.code).toBe(2);
    expect(dirty.json.error.code).toBe('dirty_tree');
    expect(readFileSync(path.join(root, 'README.md'), 'utf8')).toContain('An edit not committed yet.');
  });
});
