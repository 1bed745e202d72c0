import { spawn } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPlan } from '../src/core/plan/planFile.js';
import { FakeGeminiServer, FakeOpenAiServer } from './fakes/llmServers.js';
import { editBlock, editReply } from './helpers/aider.js';
import { cliBin, cliEnv, projectRoot, runCli, runCliAsync } from './helpers/cli.js';
import { GREET, greetRepo, reviewReply } from './helpers/implementRepo.js';
import { makeGitRepo } from './helpers/repo.js';

/** Runs the CLI on a pseudo-terminal (test/helpers/pty_run.py) and returns what it wrote. */
function onTerminal(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; out: string }> {
  const ptyEnv = { ...env };
  delete ptyEnv.CI;
  const helper = path.join(projectRoot, 'test', 'helpers', 'pty_run.py');
  return new Promise((resolve) => {
    const child = spawn('python3', [helper, 'y', process.execPath, cliBin, ...args], { cwd, env: ptyEnv });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('status through bin/', () => {
  it('reports plan progress, credits, index freshness and sync state from local state only', () => {
    const env = cliEnv();
    const root = makeGitRepo({ 'src/a.ts': 'export const a = 1;\n', 'src/b.ts': 'export const b = 2;\n' });

    const empty = runCli(['status', '--json'], { cwd: root, env });
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.json).toMatchObject({
      plan: null,
      index: null,
      credits: { balance: 500, spentToday: 0 },
      sync: { configured: false, unsynced: 0, lastSyncAt: null },
    });

    expect(runCli(['index'], { cwd: root, env }).code).toBe(0);
    expect(runCli(['status', '--json'], { cwd: root, env }).json.index).toMatchObject({ files: 2, stale: 0 });
    appendFileSync(path.join(root, 'src/a.ts'), 'export const c = 3;\n');
    writeFileSync(path.join(root, 'src/new.ts'), 'export const d = 4;\n');
    expect(runCli(['status', '--json'], { cwd: root, env }).json.index).toMatchObject({ files: 2, stale: 2 });

    const item = { files: ['src/a.ts'], action: 'do it', verification: 'it is done' };
    writeFileSync(
      path.join(root, 'TODO.md'),
      renderPlan({
        goal: 'ship it',
        items: [
          { id: 'P1', title: 'first', status: 'done', ...item },
          { id: 'P2', title: 'second', status: 'rejected', feedback: 'no', ...item },
          { id: 'P3', title: 'third', status: 'open', ...item },
        ],
      }),
    );
    const withPlan = runCli(['status', '--json'], { cwd: root, env });
    expect(withPlan.json.plan).toEqual({
      file: 'TODO.md',
      goal: 'ship it',
      date: null,
      total: 3,
      done: 1,
      rejected: 1,
      next: 'P3',
    });

    const human = runCli(['status'], { cwd: root, env });
    expect(human.stdout).toContain('Plan TODO.md: 1/3 done, 1 rejected; next P3');
    // TODO.md is a new file too.
    expect(human.stdout).toContain('3 files changed since the last run');
  });

  it('a TODO.md the tool did not write is an error, not silently ignored', () => {
    const root = makeGitRepo({ 'TODO.md': '# my own notes\n' });
    const res = runCli(['status', '--json'], { cwd: root });
    expect(res.code).toBe(2);
    expect(res.json.error.code).toBe('plan_foreign');
  });
});

describe('status mid-plan: last attempt, spend for the plan and today, colours on a terminal only', () => {
  let coder: FakeOpenAiServer;
  let architect: FakeGeminiServer;
  let root: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    coder = await FakeOpenAiServer.start({ apiKey: 'sk-coder-test' });
    architect = await FakeGeminiServer.start({ apiKey: 'test-key' });
    ({ root, env } = greetRepo({ coderUrl: coder.url, architectUrl: architect.url, date: '2026-01-02 03:04 UTC' }));
    const bad = "export function greet(name) {\n  return 'Hey ' + name;\n}\n";
    coder.enqueue({ text: editReply(editBlock('src/greet.js', GREET, bad)), inputTokens: 900, outputTokens: 40 });
    architect.enqueue(reviewReply('REJECTED', 'It must say Hello, not Hey. '.repeat(10)));
    const res = await runCliAsync(['implement', 'P1', '--retries', '0', '--json'], { cwd: root, env }).done;
    expect(res.code, res.stderr).toBe(4);
  }, 180_000);
  afterAll(async () => {
    await coder.close();
    await architect.close();
  });

  it('--json: the last attempt with a feedback excerpt and when, spend by task and model', () => {
    const res = runCli(['status', '--json'], { cwd: root, env });
    expect(res.code, res.stderr).toBe(0);
    const s = res.json;
    expect(s.plan).toMatchObject({ total: 2, done: 0, rejected: 1, next: 'P2', date: '2026-01-02 03:04 UTC' });
    expect(s.lastAttempt).toMatchObject({
      item: 'P1',
      title: 'Greet with Hello',
      outcome: 'rejected',
      verdict: 'REJECTED',
      attempts: 1,
    });
    expect(s.lastAttempt.feedback).toMatch(/^It must say Hello, not Hey\. It must/);
    expect(s.lastAttempt.feedback.length).toBeLessThanOrEqual(160);
    expect(s.lastAttempt.feedback.endsWith('…')).toBe(true);
    expect(Date.now() - Date.parse(s.lastAttempt.at)).toBeLessThan(10 * 60_000);
    expect(s.spend.plan.since).toBe('2026-01-02T03:04:00.000Z');
    const tasks = (rows: Array<{ task: string; provider: string }>) =>
      rows.map((r) => `${r.task}:${r.provider}`).sort();
    expect(tasks(s.spend.plan.rows)).toEqual(['coding:openai', 'verification:gemini']);
    expect(tasks(s.spend.today)).toEqual(['coding:openai', 'verification:gemini']);
    const sum = s.spend.today.reduce((n: number, r: { credits: number }) => n + r.credits, 0);
    expect(sum).toBeCloseTo(s.credits.spentToday, 3);
    expect(s.spend.plan.total.credits).toBeCloseTo(s.credits.spentToday, 3);
  });

  it('on a terminal the summary is coloured (NO_COLOR turns it off); piped it has no ANSI', async () => {
    const tty = await onTerminal(['status'], root, env);
    expect(tty.code).toBe(0);
    expect(tty.out).toContain('\x1b[');
    const plain = stripVTControlCharacters(tty.out);
    expect(plain).toMatch(/Last attempt P1 Greet with Hello: rejected after 1 attempt, (just now|\d+ min ago)/);
    expect(plain).toContain('feedback: It must say Hello, not Hey.');
    expect(plain).toMatch(/this plan \(since 2026-01-02 03:04 UTC\): [\d.]+ credits/);
    expect(plain).toMatch(/coding +openai\/fake-coder +1 calls/);

    const noColor = await onTerminal(['status'], root, { ...env, NO_COLOR: '1' });
    expect(noColor.out).not.toContain('\x1b[');
    expect(noColor.out).toContain('Last attempt P1');

    const piped = runCli(['status'], { cwd: root, env: { ...env, NO_COLOR: undefined, FORCE_COLOR: undefined } });
    expect(piped.stdout).not.toContain('\x1b');
    expect(piped.stdout).toContain('Last attempt P1');
    const forced = runCli(['status'], { cwd: root, env: { ...env, FORCE_COLOR: '1' } });
    expect(forced.stdout).toContain('\x1b[');
  });

  it('--watch is a live view: a change to the plan shows without a restart; q quits', async () => {
    const ptyEnv = { ...env };
    delete ptyEnv.CI;
    const steps = [
      { expect: 'q quits' },
      { expect: '0/2 done' },
      { run: ['sed', '-i', 's/- \\[ \\] P2/- [x] P2/', path.join(root, 'TODO.md')] },
      { expect: '1/2 done' },
      { send: 'q' },
    ];
    const helper = path.join(projectRoot, 'test', 'helpers', 'pty_script.py');
    const res = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('python3', [helper, JSON.stringify(steps), process.execPath, cliBin, 'status', '--watch'], {
        cwd: root,
        env: ptyEnv,
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(res.code, res.out).toBe(0);
    expect(stripVTControlCharacters(res.out)).toContain('Last attempt P1');
  });

  it('--watch refuses without a terminal (exit 2, says what to use instead)', () => {
    const res = runCli(['status', '--watch', '--json'], { cwd: root, env });
    expect(res.code).toBe(2);
    expect(res.json.error.hint).toContain('status --json');
  });
});
