import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureActionlint } from '../scripts/setup-actionlint.mjs';
import { FakeGeminiServer, FakeOpenAiServer } from './fakes/llmServers.js';
import { editBlock, editReply } from './helpers/aider.js';
import { cliBin, projectRoot } from './helpers/cli.js';
import { GREET, GREET_ITEMS, HELLO, greetRepo, reviewReply } from './helpers/implementRepo.js';
import { git } from './helpers/repo.js';

const WORKFLOW = path.join(projectRoot, 'examples', 'github-actions', 'ai-dev-bot.yml');

interface Step {
  id?: string;
  if?: string;
  run?: string;
  env?: Record<string, string>;
}

describe('the example GitHub workflow', () => {
  it('passes actionlint (and actionlint does catch a broken copy)', () => {
    const actionlint = ensureActionlint();
    const ok = spawnSync(actionlint, ['-no-color', WORKFLOW], { encoding: 'utf8' });
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);

    const broken = path.join(mkdtempSync(path.join(os.tmpdir(), 'aidb-wf-')), 'ai-dev-bot.yml');
    writeFileSync(broken, readFileSync(WORKFLOW, 'utf8').replace('steps.implement.outputs', 'steps.nope.outputs'));
    const bad = spawnSync(actionlint, ['-no-color', broken], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toContain('nope');
  });
});

/**
 * Runs the workflow's own `doctor`, `implement` and `publish` steps (their `run` scripts, as
 * GitHub's bash runs them) with CI=true, no TTY, a bare git remote standing in for GitHub, the real
 * Aider and the loopback model fakes. Install and cache steps are the runner's set-up and are not run.
 */
describe('CI steps end to end (CI=true, no TTY, bare remote, real Aider, loopback models)', () => {
  let coder: FakeOpenAiServer;
  let architect: FakeGeminiServer;
  let shims: string;
  const workflow = parse(readFileSync(WORKFLOW, 'utf8')) as {
    jobs: { implement: { env: Record<string, string>; steps: Step[] } };
  };
  const job = workflow.jobs.implement;
  const step = (id: string) => job.steps.find((s) => s.id === id)!;

  beforeAll(async () => {
    coder = await FakeOpenAiServer.start({ apiKey: 'sk-coder-test' });
    architect = await FakeGeminiServer.start({ apiKey: 'test-key' });
    // `ai-dev-bot` as installed by npm -g, and a `gh` that records the pull request it was asked for.
    shims = mkdtempSync(path.join(os.tmpdir(), 'aidb-shims-'));
    writeFileSync(path.join(shims, 'ai-dev-bot'), `#!/bin/sh\nexec "${process.execPath}" "${cliBin}" "$@"\n`);
    writeFileSync(
      path.join(shims, 'gh'),
      '#!/bin/sh\nprintf "%s\\n" "$@" > "$GH_RECORD"\nwhile [ $# -gt 0 ]; do [ "$1" = --body-file ] && cp "$2" "$GH_RECORD.body"; shift; done\n',
    );
    chmodSync(path.join(shims, 'ai-dev-bot'), 0o755);
    chmodSync(path.join(shims, 'gh'), 0o755);
  });
  afterAll(async () => {
    await coder.close();
    await architect.close();
  });

  /** A repository with its plan committed and pushed to a bare remote, as a CI checkout sees it. */
  function checkout(options: { items?: typeof GREET_ITEMS; config?: Record<string, unknown> } = {}) {
    const { root, env } = greetRepo({
      coderUrl: coder.url,
      architectUrl: architect.url,
      ...(options.items ? { items: options.items } : {}),
      config: { implement: { retries: 0 }, ...options.config },
    });
    git(root, 'add', 'TODO.md');
    git(root, 'commit', '-qm', 'plan');
    const remote = path.join(mkdtempSync(path.join(os.tmpdir(), 'aidb-remote-')), 'origin.git');
    spawnSync('git', ['init', '-q', '--bare', remote]);
    git(root, 'remote', 'add', 'origin', remote);
    git(root, 'push', '-q', 'origin', 'main');
    const out = path.join(root, '..', `${path.basename(root)}-gh`);
    mkdirSync(out);
    return {
      root,
      remote,
      env,
      temp: out,
      ghRecord: path.join(out, 'gh-args'),
      output: path.join(out, 'github-output'),
    };
  }

  function runStep(s: Step, repo: ReturnType<typeof checkout>, extra: Record<string, string> = {}) {
    const literal = (vars: Record<string, string> = {}) =>
      Object.fromEntries(Object.entries(vars).filter(([, v]) => !String(v).includes('${{')));
    const env = {
      ...repo.env,
      ...literal(job.env),
      ...literal(s.env),
      ...extra,
      CI: 'true',
      GITHUB_OUTPUT: repo.output,
      GH_RECORD: repo.ghRecord,
      RUNNER_TEMP: repo.temp,
      PATH: `${shims}${path.delimiter}${process.env.PATH}`,
    };
    if (!existsSync(repo.output)) writeFileSync(repo.output, '');
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      // GitHub runs `run:` with `bash --noprofile --norc -eo pipefail {0}`; stdin is not a terminal.
      const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', s.run!], {
        cwd: repo.root,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }
  const outputs = (repo: ReturnType<typeof checkout>) =>
    Object.fromEntries(
      readFileSync(repo.output, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('=') as [string, string]),
    );
  const publishRuns = (repo: ReturnType<typeof checkout>) => {
    expect(step('publish').if).toBe("steps.implement.outputs.exit-code == '0'");
    return outputs(repo)['exit-code'] === '0';
  };
  const result = (repo: ReturnType<typeof checkout>) =>
    JSON.parse(readFileSync(path.join(repo.temp, 'result.json'), 'utf8'));
  const remoteBranches = (repo: ReturnType<typeof checkout>) =>
    git(repo.root, 'ls-remote', '--heads', 'origin')
      .trim()
      .split('\n')
      .map((l) => l.split('\trefs/heads/')[1]);

  it('done: approved, the branch is pushed to the remote and a pull request asked for with title, review and cost', async () => {
    const repo = checkout();
    coder.enqueue({ text: editReply(editBlock('src/greet.js', GREET, HELLO)), inputTokens: 900, outputTokens: 40 });
    architect.enqueue(reviewReply('APPROVED', 'Greets with Hello as asked.'));
    const doctor = await runStep(step('doctor'), repo);
    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
    const implement = await runStep(step('implement'), repo);
    expect(implement.code, implement.stderr).toBe(0);
    expect(doctor.stdout + doctor.stderr + implement.stdout + implement.stderr).not.toContain('\x1b');
    expect(result(repo)).toMatchObject({ outcome: 'approved', item: { id: 'P1' } });
    expect(publishRuns(repo)).toBe(true);

    const publish = await runStep(step('publish'), repo, { BASE_BRANCH: 'main', RUN_ID: '42' });
    expect(publish.code, publish.stderr).toBe(0);
    expect(remoteBranches(repo)).toContain('ai-dev-bot/P1-42');
    expect(git(repo.root, 'rev-parse', 'refs/remotes/origin/main').trim()).not.toBe(
      git(repo.root, 'rev-parse', 'HEAD').trim(),
    );
    expect(git(repo.remote, 'rev-parse', 'ai-dev-bot/P1-42').trim()).toBe(git(repo.root, 'rev-parse', 'HEAD').trim());
    expect(git(repo.remote, 'show', 'ai-dev-bot/P1-42:src/greet.js')).toBe(HELLO);
    const args = readFileSync(repo.ghRecord, 'utf8').split('\n');
    expect(args.slice(0, 2)).toEqual(['pr', 'create']);
    expect(args[args.indexOf('--title') + 1]).toBe('ai-dev-bot: P1 Greet with Hello');
    expect(args[args.indexOf('--head') + 1]).toBe('ai-dev-bot/P1-42');
    expect(args[args.indexOf('--base') + 1]).toBe('main');
    const body = readFileSync(`${repo.ghRecord}.body`, 'utf8');
    expect(body).toContain('Review: Greets with Hello as asked.');
    expect(body).toMatch(/Cost: [\d.]+ credits \(\$[\d.]+\)/);
    expect(outputs(repo).branch).toBe('ai-dev-bot/P1-42');
  }, 180_000);

  it('rejected: exit code 4 recorded, the step passes, nothing is pushed', async () => {
    const repo = checkout();
    coder.enqueue({ text: editReply(editBlock('src/greet.js', GREET, HELLO)), inputTokens: 900, outputTokens: 40 });
    architect.enqueue(reviewReply('REJECTED', 'Not what was asked.'));
    const implement = await runStep(step('implement'), repo);
    expect(implement.code, implement.stderr).toBe(0);
    expect(outputs(repo)['exit-code']).toBe('4');
    expect(result(repo)).toMatchObject({ outcome: 'rejected' });
    expect(publishRuns(repo)).toBe(false);
    expect(remoteBranches(repo)).toEqual(['main']);
  }, 180_000);

  it('out of credits: exit 3 fails the step before Aider runs; nothing to do: exit 5 passes', async () => {
    const poor = checkout({ config: { ledger: { initialGrant: 0 } } });
    const requestsBefore = coder.requests.length;
    const stopped = await runStep(step('implement'), poor);
    expect(stopped.code).toBe(3);
    expect(outputs(poor)['exit-code']).toBe('3');
    expect(result(poor).error.code).toEqual(expect.stringMatching(/credits|budget/));
    expect(coder.requests.length).toBe(requestsBefore);

    const finished = checkout({ items: GREET_ITEMS.map((i) => ({ ...i, status: 'done' as const })) });
    const idle = await runStep(step('implement'), finished);
    expect(idle.code, idle.stderr).toBe(0);
    expect(outputs(finished)['exit-code']).toBe('5');
    expect(result(finished)).toMatchObject({ outcome: 'nothing-to-do' });
    expect(publishRuns(finished)).toBe(false);
  }, 120_000);
});
