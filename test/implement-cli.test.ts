import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parsePlan, type PlanItemData } from '../src/core/plan/planFile.js';
import { FakeGeminiServer, FakeOpenAiServer, requestText, type ReceivedRequest } from './fakes/llmServers.js';
import { editBlock, editReply, treeState } from './helpers/aider.js';
import { GREET, GREET_ITEMS, HELLO, greetRepo, reviewReply } from './helpers/implementRepo.js';
import { cliBin, projectRoot, runCliAsync, type CliResult } from './helpers/cli.js';
import { git } from './helpers/repo.js';

const approved = (feedback = 'Meets the criteria.') => reviewReply('APPROVED', feedback);
const rejected = (feedback: string, problems: string[] = []) =>
  reviewReply('REJECTED', feedback, { problems, outputTokens: 80 });

interface UsageRow {
  task: string;
  provider: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  cost: number;
  cost_source: string;
}

function usageRows(env: NodeJS.ProcessEnv): UsageRow[] {
  const file = path.join(env.AI_DEV_BOT_HOME!, 'ledger.db');
  if (!existsSync(file)) return [];
  const db = new Database(file, { readonly: true });
  try {
    return db
      .prepare(
        'SELECT task, provider, model, input_tokens, output_tokens, cost, cost_source FROM api_usage ORDER BY rowid',
      )
      .all() as UsageRow[];
  } finally {
    db.close();
  }
}

describe('implement / verify through bin/ with the real Aider and loopback LLM fakes', () => {
  let coder: FakeOpenAiServer;
  let architect: FakeGeminiServer;

  beforeAll(async () => {
    coder = await FakeOpenAiServer.start({
      apiKey: 'sk-coder-test',
      fallback: { text: 'I have nothing to change.', inputTokens: 100, outputTokens: 10 },
    });
    architect = await FakeGeminiServer.start({ apiKey: 'test-key', fallback: approved('fallback approval') });
  });
  afterEach(() => {
    coder.reset();
    architect.reset();
  });
  afterAll(async () => {
    await coder.close();
    await architect.close();
  });

  function setup(
    options: {
      config?: Record<string, unknown>;
      files?: Record<string, string>;
      env?: NodeJS.ProcessEnv;
      items?: PlanItemData[];
    } = {},
  ) {
    return greetRepo({
      coderUrl: coder.url,
      architectUrl: architect.url,
      ...options,
      env: { AI_DEV_BOT_DEBUG: '1', ...options.env },
    });
  }

  const implement = (root: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> =>
    runCliAsync(['implement', ...args], { cwd: root, env }).done;

  it('approves on the first try: file edited, [x], one commit with code + plan, coding and verification charged', async () => {
    const { root, env } = setup();
    coder.enqueue({ text: editReply(editBlock('src/greet.js', GREET, HELLO)), inputTokens: 1234, outputTokens: 56 });
    architect.enqueue(approved('Greets with Hello as required.'));

    const res = await implement(root, ['next', '--json'], env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.json).toMatchObject({
      outcome: 'approved',
      item: { id: 'P1', title: 'Greet with Hello' },
      attempts: [
        { n: 1, verdict: 'APPROVED', feedback: 'Greets with Hello as required.', changedFiles: ['src/greet.js'] },
      ],
      restored: false,
    });
    expect(readFileSync(path.join(root, 'src/greet.js'), 'utf8')).toBe(HELLO);

    // The plan: P1 done, P2 still open; committed together with the code.
    const plan = parsePlan(readFileSync(path.join(root, 'TODO.md'), 'utf8')).plan;
    expect(plan.items.map((i) => i.status)).toEqual(['done', 'open']);
    expect(git(root, 'status', '--porcelain')).toBe('');
    const message = git(root, 'log', '-1', '--format=%B');
    expect(message.split('\n')[0]).toBe('ai-dev-bot: P1 Greet with Hello');
    expect(message).toMatch(/^Verification: APPROVED by gemini\/gemini-2.5-flash after 1 attempt$/m);
    expect(message).toMatch(/^Checks: no check command configured/m);
    expect(message).toMatch(/^Cost: [\d.]+ credits \(\$[\d.]+\)$/m);
    expect(git(root, 'show', '--name-only', '--format=', 'HEAD').trim().split('\n').sort()).toEqual([
      'TODO.md',
      'src/greet.js',
    ]);
    expect(res.json.commit).toBe(git(root, 'rev-parse', 'HEAD').trim());

    // Aider really asked the fake coder, with the item in its message.
    expect(coder.requests).toHaveLength(1);
    expect(coder.requests[0]!.body.model).toBe('fake-coder');
    expect(requestText(coder.requests[0]!)).toContain('P1: Greet with Hello');

    // Ledger: Aider's call as "coding" at the cost Aider reported (its metadata price: 1234 × $2/M +
    // 56 × $10/M = $0.003028, not our fallback price), the review as "verification".
    const rows = usageRows(env);
    expect(rows.map((r) => r.task)).toEqual(['coding', 'verification']);
    expect(rows[0]).toMatchObject({
      provider: 'openai',
      model: 'fake-coder',
      input_tokens: 1234,
      output_tokens: 56,
      cost_source: 'provider',
    });
    expect(rows[0]!.cost).toBe(3_028_000);
    expect(rows[1]).toMatchObject({ provider: 'gemini', input_tokens: 2000, output_tokens: 50, cost_source: 'table' });
    expect(res.json.usd).toBeCloseTo(0.003028 + (2000 * 0.3 + 50 * 2.5) / 1e6, 9);

    // Transcript kept, key redacted.
    const transcript = readFileSync(path.join(root, res.json.attempts[0].aider.transcript), 'utf8');
    expect(transcript).toContain('Applied edit to src/greet.js');
    expect(transcript).not.toContain('sk-coder-test');
  }, 180_000);

  it("retries a rejection with the feedback in Aider's request, then approves", async () => {
    const { root, env } = setup();
    const halfway = "export function greet(name) {\n  return 'Hello ' + name;\n}\n";
    coder.enqueue(
      { text: editReply(editBlock('src/greet.js', GREET, halfway)), inputTokens: 1000, outputTokens: 40 },
      { text: editReply(editBlock('src/greet.js', halfway, HELLO)), inputTokens: 1100, outputTokens: 40 },
    );
    architect.enqueue(rejected('Add the comma and the exclamation mark (QX-FEEDBACK-7).', ['missing "!"']), approved());

    const res = await implement(root, ['P1', '--json'], env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.json.outcome).toBe('approved');
    expect(res.json.attempts.map((a: { verdict: string }) => a.verdict)).toEqual(['REJECTED', 'APPROVED']);
    expect(coder.requests).toHaveLength(2);
    expect(requestText(coder.requests[0]!)).not.toContain('QX-FEEDBACK-7');
    const second = requestText(coder.requests[1]!);
    expect(second).toContain('QX-FEEDBACK-7');
    expect(second).toContain('missing "!"');
    // The reviewer saw the cumulative diff from the pre-item state both times.
    const reviewPrompt = (r: ReceivedRequest) => JSON.stringify(r.body);
    expect(reviewPrompt(architect.requests[1]!)).toContain("+  return 'Hello, ' + name + '!';");
    expect(readFileSync(path.join(root, 'src/greet.js'), 'utf8')).toBe(HELLO);
    expect(git(root, 'log', '-1', '--format=%B')).toMatch(/after 2 attempts/);
    expect(usageRows(env).map((r) => r.task)).toEqual(['coding', 'verification', 'coding', 'verification']);
  }, 240_000);

  it('rejected twice: the tree is byte-identical to before (user work included), [!] with feedback, exit 4', async () => {
    const { root, env } = setup();
    // The user's own uncommitted work in files the item does not touch (--allow-dirty).
    writeFileSync(path.join(root, 'README.md'), '# demo\n\nwork in progress\n');
    writeFileSync(path.join(root, 'notes.txt'), 'my notes\n');
    const before = treeState(root);
    const wrong = "export function greet(name) {\n  return 'Yo ' + name;\n}\n";
    coder.enqueue(
      // Attempt 1 edits the item file and creates a new one; attempt 2 edits again.
      {
        text: editReply(
          editBlock('src/greet.js', GREET, wrong),
          editBlock('src/extra/util.js', '', 'export const x = 1;\n'),
        ),
      },
      {
        text: editReply(
          editBlock('src/greet.js', wrong, "export function greet(name) {\n  return 'Yo! ' + name;\n}\n"),
        ),
      },
    );
    architect.enqueue(rejected('Wrong greeting.'), rejected('Still wrong: it must say Hello (QX-LAST).', ['says Yo']));

    const res = await implement(root, ['next', '--retries', '1', '--allow-dirty', '--json'], env);
    expect(res.code, res.stderr).toBe(4);
    expect(res.json).toMatchObject({ outcome: 'rejected', item: { id: 'P1' }, commit: null, restored: true });
    expect(res.json.error.code).toBe('verification_rejected');
    expect(res.json.attempts).toHaveLength(2);
    expect(res.json.attempts[0].changedFiles.sort()).toEqual(['src/extra/util.js', 'src/greet.js']);

    // Everything but the plan's mark is exactly as before.
    const after = treeState(root);
    const { ['TODO.md']: planBefore, ...restBefore } = before;
    const { ['TODO.md']: planAfter, ...restAfter } = after;
    expect(restAfter).toEqual(restBefore);
    expect(planAfter).not.toBe(planBefore);
    expect(existsSync(path.join(root, 'src/extra'))).toBe(false);
    const item = parsePlan(readFileSync(path.join(root, 'TODO.md'), 'utf8')).plan.items[0]!;
    expect(item.status).toBe('rejected');
    expect(item.feedback).toContain('QX-LAST');
    expect(item.feedback).toContain('says Yo');

    // The rejected diff is kept.
    const patch = readFileSync(path.join(root, res.json.patch), 'utf8');
    expect(patch).toContain("+  return 'Yo! ' + name;");
    expect(patch).toContain('+++ b/src/extra/util.js');
    // No commit was made.
    expect(git(root, 'rev-list', '--count', 'HEAD').trim()).toBe('1');
  }, 240_000);

  it('a failing check rejects without a review call and its output reaches Aider; the fix passes', async () => {
    const check =
      "import { greet } from './src/greet.js';\nconst got = greet('Bob');\nif (got !== 'Hello, Bob!') { console.error(`CHECK-FAILED expected Hello, Bob! got ${got}`); process.exit(1); }\nconsole.log('check ok');\n";
    const { root, env } = setup({
      files: { 'check.mjs': check, 'package.json': '{"type":"module"}\n' },
      config: { verify: { command: 'node check.mjs', timeoutSec: 60 } },
    });
    const halfway = "export function greet(name) {\n  return 'Hello ' + name;\n}\n";
    coder.enqueue(
      { text: editReply(editBlock('src/greet.js', GREET, halfway)) },
      { text: editReply(editBlock('src/greet.js', halfway, HELLO)) },
    );
    architect.enqueue(approved('Good.'));

    const res = await implement(root, ['--json'], env);
    expect(res.code, res.stderr).toBe(0);
    const [first, second] = res.json.attempts;
    expect(first).toMatchObject({
      verdict: 'REJECTED',
      checks: { command: 'node check.mjs', passed: false, exitCode: 1 },
    });
    expect(first.checks.outputTail).toContain('CHECK-FAILED expected Hello, Bob! got Hello Bob');
    expect(second).toMatchObject({ verdict: 'APPROVED', checks: { passed: true, exitCode: 0 } });
    expect(architect.requests).toHaveLength(1);
    expect(requestText(coder.requests[1]!)).toContain('CHECK-FAILED expected Hello, Bob! got Hello Bob');
    expect(JSON.stringify(architect.requests[0]!.body)).toContain('check ok');
    expect(git(root, 'log', '-1', '--format=%B')).toMatch(/^Checks: `node check.mjs` passed/m);
  }, 240_000);

  it('stops an Aider that runs past aider.timeoutSec: process group killed, tree restored, exit 6', async () => {
    const { root, env } = setup({ config: { aider: { mapTokens: 0, timeoutSec: 4 } } });
    const before = treeState(root);
    coder.enqueue({ text: editReply(editBlock('src/greet.js', GREET, HELLO)), delayMs: 60_000 });
    const started = Date.now();
    const res = await implement(root, ['--json'], env);
    expect(res.code, res.stderr).toBe(6);
    expect(Date.now() - started).toBeLessThan(45_000);
    expect(res.json.outcome).toBe('error');
    expect(res.json.error.code).toBe('aider_failed');
    expect(res.json.error.message).toContain('aider.timeoutSec = 4');
    expect(treeState(root)).toEqual(before);
    expect(parsePlan(readFileSync(path.join(root, 'TODO.md'), 'utf8')).plan.items[0]!.status).toBe('open');
    const db = new Database(path.join(root, '.ai-dev-bot', 'runs.db'), { readonly: true });
    const work = db.prepare('SELECT state, aider_pid FROM work').all();
    db.close();
    expect(work).toEqual([{ state: 'restored', aider_pid: null }]);
  }, 120_000);

  it('--max-cost too small for the attempt: exit 3 before Aider runs, nothing changed', async () => {
    const { root, env } = setup();
    const before = treeState(root);
    const res = await implement(root, ['--max-cost', '0.0001', '--json'], env);
    expect(res.code, res.stderr).toBe(3);
    expect(res.json).toMatchObject({ outcome: 'stopped', error: { code: 'budget_exceeded' }, attempts: [] });
    expect(coder.requests).toHaveLength(0);
    expect(treeState(root)).toEqual(before);
    expect(usageRows(env)).toEqual([]);
  });

  it('asks before starting on a terminal (answer n: nothing runs, exit 130); --yes skips the question', async () => {
    const { root, env } = setup();
    const ptyEnv = { ...env };
    delete ptyEnv.CI;
    const helper = path.join(projectRoot, 'test', 'helpers', 'pty_run.py');
    /** The CLI on a pseudo-terminal, the prompt answered with `answer` (asynchronous: the fakes live here). */
    const onTerminal = (answer: string, args: string[]) =>
      new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn('python3', [helper, answer, process.execPath, cliBin, ...args], { cwd: root, env: ptyEnv });
        let output = '';
        child.stdout.on('data', (d: Buffer) => (output += d.toString()));
        child.on('close', (code) => resolve({ code, output }));
      });

    let res = await onTerminal('n', ['implement']);
    expect(res.output).toContain(
      'Implement P1 "Greet with Hello" with Aider (openai/fake-coder), up to 3 attempts each? [Y/n]',
    );
    expect(res.output).toContain('Cancelled; nothing was changed.');
    expect(res.code).toBe(130);
    expect(coder.requests).toHaveLength(0);

    coder.enqueue({ text: editReply(editBlock('src/greet.js', GREET, HELLO)) });
    architect.enqueue(approved());
    res = await onTerminal('n', ['implement', '--yes']);
    expect(res.output).not.toContain('[Y/n]');
    expect(res.code, res.output).toBe(0);
    expect(readFileSync(path.join(root, 'src/greet.js'), 'utf8')).toBe(HELLO);
  }, 120_000);

  it('Aider missing: exit 6 with the install command', async () => {
    const { root, env } = setup({ env: { AIDER_BIN: '/nonexistent/bin/aider' } });
    const res = await implement(root, ['--json'], env);
    expect(res.code).toBe(6);
    expect(res.json.error.code).toBe('aider_missing');
    expect(res.json.error.hint).toContain('pip install aider-chat==0.86.2');
    expect(res.json.error.hint).toContain('pipx install aider-chat');
    expect(coder.requests).toHaveLength(0);
  });

  it("refuses a dirty tree (naming the files), and --allow-dirty does not cover the item's own files", async () => {
    const { root, env } = setup();
    writeFileSync(path.join(root, 'README.md'), '# changed\n');
    let res = await implement(root, ['--json'], env);
    expect(res.code).toBe(2);
    expect(res.json.error.code).toBe('dirty_tree');
    expect(res.json.error.message).toContain('README.md');

    writeFileSync(path.join(root, 'src/greet.js'), `${GREET}// mine\n`);
    res = await implement(root, ['--allow-dirty', '--json'], env);
    expect(res.code).toBe(2);
    expect(res.json.error.message).toContain('src/greet.js');
    expect(coder.requests).toHaveLength(0);
    expect(readFileSync(path.join(root, 'src/greet.js'), 'utf8')).toBe(`${GREET}// mine\n`);
  });

  it('credits running out between attempts: exit 3 before the second Aider run, tree restored', async () => {
    // Reserve per attempt: up to 100k output tokens at the fallback $20/M = $2 = 300 credits.
    const { root, env } = setup({
      config: {
        ledger: { initialGrant: 400 },
        llm: { coder: { provider: 'openai', model: 'fake-coder', maxOutputTokens: 100_000 } },
      },
      files: { '.aider.model.metadata.json': '{}' },
    });
    const before = treeState(root);
    // Aider's call costs 200k × $5/M = $1 = 150 credits, leaving less than the next reserve.
    coder.enqueue({ text: editReply(editBlock('src/greet.js', GREET, HELLO)), inputTokens: 200_000, outputTokens: 10 });
    architect.enqueue(rejected('Not quite.'));
    const res = await implement(root, ['--json'], env);
    expect(res.code, res.stderr).toBe(3);
    expect(res.json.outcome).toBe('stopped');
    expect(res.json.error.code).toBe('insufficient_credits');
    expect(res.json.attempts).toHaveLength(1);
    expect(coder.requests).toHaveLength(1);
    expect(treeState(root)).toEqual(before);
    const rows = usageRows(env);
    expect(rows.map((r) => r.task)).toEqual(['coding', 'verification']);
    expect(rows[0]).toMatchObject({ input_tokens: 200_000, cost_source: 'fallback', cost: 1_000_200_000 });
  }, 180_000);

  it('walks a two-item plan to two verified commits with `implement all`, then has nothing to do (exit 5)', async () => {
    const { root, env } = setup();
    const farewell = "export function farewell(name) {\n  return 'Bye, ' + name + '.';\n}\n";
    coder.enqueue(
      { text: editReply(editBlock('src/greet.js', GREET, HELLO)) },
      { text: editReply(editBlock('src/farewell.js', '', farewell)) },
    );
    architect.enqueue(approved(), approved());
    const res = await implement(root, ['all', '--json'], env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.json.items.map((o: { outcome: string; item: { id: string } }) => `${o.item.id}:${o.outcome}`)).toEqual([
      'P1:approved',
      'P2:approved',
    ]);
    expect(git(root, 'log', '--format=%s').trim().split('\n')).toEqual([
      'ai-dev-bot: P2 Add a farewell function',
      'ai-dev-bot: P1 Greet with Hello',
      'initial',
    ]);
    expect(readFileSync(path.join(root, 'src/farewell.js'), 'utf8')).toBe(farewell);
    expect(git(root, 'status', '--porcelain')).toBe('');
    expect(parsePlan(readFileSync(path.join(root, 'TODO.md'), 'utf8')).plan.items.map((i) => i.status)).toEqual([
      'done',
      'done',
    ]);

    const again = await implement(root, ['next', '--json'], env);
    expect(again.code).toBe(5);
    expect(again.json.outcome).toBe('nothing-to-do');
  }, 240_000);

  it('implement all --keep-going goes past a rejection: P1 [!] restored, P2 committed, exit 4', async () => {
    const { root, env } = setup();
    const farewell = "export function farewell(name) {\n  return 'Bye, ' + name + '.';\n}\n";
    coder.enqueue(
      { text: editReply(editBlock('src/greet.js', GREET, HELLO)) },
      { text: editReply(editBlock('src/farewell.js', '', farewell)) },
    );
    architect.enqueue(rejected('Not what was asked.'), approved());
    const res = await implement(root, ['all', '--retries', '0', '--keep-going'], env);
    expect(res.code, res.stderr).toBe(4);
    // Human output: one line per item on stdout, the error on stderr.
    expect(res.stdout).toMatch(/^\[!\] P1 Greet with Hello: rejected after 1 attempt; tree restored/m);
    expect(res.stdout).toMatch(/^\[x\] P2 Add a farewell function: approved after 1 attempt, committed [0-9a-f]{12}/m);
    expect(res.stdout).toContain('No check command is configured');
    expect(res.stderr).toMatch(/^error: P1 was rejected after 1 attempt: Not what was asked\./m);
    expect(readFileSync(path.join(root, 'src/greet.js'), 'utf8')).toBe(GREET);
    expect(git(root, 'log', '--format=%s').trim().split('\n')).toEqual([
      'ai-dev-bot: P2 Add a farewell function',
      'initial',
    ]);
    expect(parsePlan(readFileSync(path.join(root, 'TODO.md'), 'utf8')).plan.items.map((i) => i.status)).toEqual([
      'rejected',
      'done',
    ]);
    expect(git(root, 'status', '--porcelain')).toBe('');
  }, 240_000);

  it("verify reviews a human's uncommitted change against the item (approved 0, rejected 4, nothing 5)", async () => {
    const { root, env } = setup();
    const verify = (args: string[]) => runCliAsync(['verify', ...args], { cwd: root, env }).done;
    let res = await verify(['--json']);
    expect(res.code).toBe(5);

    writeFileSync(path.join(root, 'src/greet.js'), HELLO);
    architect.enqueue(approved('Looks right.'));
    res = await verify(['P1', '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.json).toMatchObject({
      outcome: 'approved',
      item: { id: 'P1' },
      verdict: 'APPROVED',
      changedFiles: ['src/greet.js'],
    });
    expect(JSON.stringify(architect.requests[0]!.body)).toContain("+  return 'Hello, ' + name + '!';");

    architect.enqueue({ text: 'not json' }, { text: 'still not json' });
    res = await verify(['P1', '--json']);
    expect(res.code).toBe(4);
    expect(res.json.verdict).toBe('REJECTED');
    expect(res.json.feedback).toContain('invalid answer twice');
    // verify never commits or marks the plan.
    expect(git(root, 'rev-list', '--count', 'HEAD').trim()).toBe('1');
    expect(parsePlan(readFileSync(path.join(root, 'TODO.md'), 'utf8')).plan.items[0]!.status).toBe('open');
  }, 120_000);

  /** Waits until `check` holds (polling), failing after `ms`. */
  async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const aiderPidOf = (root: string): number | null => {
    const db = new Database(path.join(root, '.ai-dev-bot', 'runs.db'), { readonly: true });
    try {
      return (
        (
          db.prepare("SELECT aider_pid FROM work WHERE state = 'running'").get() as
            { aider_pid: number | null } | undefined
        )?.aider_pid ?? null
      );
    } finally {
      db.close();
    }
  };
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  /** P1 also names a new file: Aider creates (and git-adds) it as soon as it starts. */
  function setupWithNewFile() {
    return setup({ items: [{ ...GREET_ITEMS[0]!, files: ['src/greet.js', 'src/new.js'] }, GREET_ITEMS[1]!] });
  }

  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s during Aider: Aider killed, tree restored, exit 130',
    async (signal) => {
      const { root, env } = setupWithNewFile();
      const before = treeState(root);
      coder.enqueue({ text: editReply(editBlock('src/greet.js', GREET, HELLO)), delayMs: 60_000 });
      const run = runCliAsync(['implement', '--json'], { cwd: root, env });
      await waitFor(() => coder.requests.length === 1, 60_000, "Aider's request");
      expect(existsSync(path.join(root, 'src/new.js'))).toBe(true);
      const aiderPid = aiderPidOf(root);
      expect(aiderPid).not.toBeNull();
      run.child.kill(signal);
      const res = await run.done;
      expect(res.code, res.stderr).toBe(130);
      expect(res.stderr).toContain(`${signal}: stopping Aider and restoring the working tree`);
      expect(res.json).toMatchObject({ outcome: 'stopped', restored: true, error: { code: 'interrupted' } });
      expect(treeState(root)).toEqual(before);
      expect(alive(aiderPid!)).toBe(false);
      expect(parsePlan(readFileSync(path.join(root, 'TODO.md'), 'utf8')).plan.items[0]!.status).toBe('open');
    },
    120_000,
  );

  it('kill -9 during Aider: the next run stops the orphaned Aider, restores the tree and says so', async () => {
    const { root, env } = setupWithNewFile();
    const before = treeState(root);
    coder.enqueue({ text: editReply(editBlock('src/greet.js', GREET, HELLO)), delayMs: 90_000 });
    const run = runCliAsync(['implement', '--json'], { cwd: root, env });
    await waitFor(() => coder.requests.length === 1, 60_000, "Aider's request");
    const aiderPid = aiderPidOf(root)!;
    run.child.kill('SIGKILL');
    await run.done;
    // The tree is half-edited and Aider lives on without its parent.
    expect(existsSync(path.join(root, 'src/new.js'))).toBe(true);
    expect(treeState(root)).not.toEqual(before);
    expect(alive(aiderPid)).toBe(true);

    const res = await runCliAsync(['verify', '--json'], { cwd: root, env }).done;
    expect(res.stderr).toMatch(/Found an interrupted attempt at P1 .*restored the working tree/);
    expect(res.code, res.stderr).toBe(5); // nothing left to verify: the attempt's changes are gone
    expect(treeState(root)).toEqual(before);
    await waitFor(() => !alive(aiderPid), 10_000, 'the orphaned Aider to exit');

    // And the item can be implemented normally afterwards.
    coder.enqueue({ text: editReply(editBlock('src/greet.js', GREET, HELLO)) });
    architect.enqueue(approved());
    const next = await implement(root, ['--json'], env);
    expect(next.code, next.stderr).toBe(0);
    expect(next.json.recovered).toEqual([]);
  }, 180_000);

  it('an attempt whose edits match nothing counts as failed and is retried with that feedback', async () => {
    const retryMarker = 'The previous attempt changed no files';
    // Replies by content: the second attempt (its message carries the marker) gets a good edit;
    // everything else (attempt 1 and Aider's own reflections on the failed match) gets no usable edit.
    const byContent = await FakeOpenAiServer.start({
      apiKey: 'sk-coder-test',
      fallback: (request) =>
        requestText(request).includes(retryMarker)
          ? { text: editReply(editBlock('src/greet.js', GREET, HELLO)) }
          : { text: editReply(editBlock('src/greet.js', 'this line is not in the file\n', 'x\n')) },
    });
    try {
      const { root, env } = setup({ config: { llm: { openai: { baseUrl: byContent.url } } } });
      architect.enqueue(approved());
      const res = await implement(root, ['--json'], env);
      expect(res.code, res.stderr).toBe(0);
      expect(res.json.attempts.map((a: { verdict: string }) => a.verdict)).toEqual(['FAILED', 'APPROVED']);
      // Aider's first try plus its 3 reflections on the failed SEARCH block.
      expect(res.json.attempts[0]).toMatchObject({ changedFiles: [], aider: { calls: 4 } });
      expect(res.json.attempts[0].feedback).toContain(retryMarker);
      expect(byContent.requests).toHaveLength(5);
      // Every call Aider made was charged.
      expect(usageRows(env).filter((r) => r.task === 'coding')).toHaveLength(5);
      expect(readFileSync(path.join(root, 'src/greet.js'), 'utf8')).toBe(HELLO);
    } finally {
      await byContent.close();
    }
  }, 240_000);

  it('a provider error that retrying cannot fix (bad key) stops with exit 6 and the tree restored', async () => {
    const { root, env } = setup({ env: { OPENAI_API_KEY: 'sk-wrong-key-000000' } });
    const before = treeState(root);
    const res = await implement(root, ['--json'], env);
    expect(res.code, res.stderr).toBe(6);
    expect(res.json.error.code).toBe('aider_failed');
    expect(res.json.error.message).toContain('AuthenticationError');
    expect(res.json.attempts).toHaveLength(1);
    expect(treeState(root)).toEqual(before);
    expect(architect.requests).toHaveLength(0);
  }, 120_000);

  it('with a Gemini coder: Aider calls gemini/<model> at llm.gemini.baseUrl with our key, usage charged as gemini', async () => {
    // One Gemini fake for both roles: our review prompt is recognisable, everything else is Aider.
    const gemini = await FakeGeminiServer.start({
      apiKey: 'test-key',
      fallback: (request) =>
        JSON.stringify(request.body).includes('reviewing architect')
          ? approved('Looks right.')
          : { text: editReply(editBlock('src/greet.js', GREET, HELLO)), inputTokens: 3000, outputTokens: 60 },
    });
    try {
      const { root, env } = setup({
        config: { llm: { coder: { provider: 'gemini', model: 'gemini-2.5-flash' }, gemini: { baseUrl: gemini.url } } },
      });
      const res = await implement(root, ['--json'], env);
      expect(res.code, res.stderr).toBe(0);
      expect(res.json.outcome).toBe('approved');
      const aiderCall = gemini.requests.find((r) => !JSON.stringify(r.body).includes('reviewing architect'))!;
      expect(FakeGeminiServer.modelOf(aiderCall)).toBe('gemini-2.5-flash');
      expect(aiderCall.headers['x-goog-api-key']).toBe('test-key');
      expect(readFileSync(path.join(root, 'src/greet.js'), 'utf8')).toBe(HELLO);
      const coding = usageRows(env).find((r) => r.task === 'coding')!;
      expect(coding).toMatchObject({
        provider: 'gemini',
        model: 'gemini-2.5-flash',
        input_tokens: 3000,
        output_tokens: 60,
        // Aider priced it (litellm's bundled map: $0.30/$2.50 per Mtok, as our table): reported cost wins.
        cost_source: 'provider',
        cost: 1_050_000,
      });
    } finally {
      await gemini.close();
    }
  }, 120_000);

  it('with an OpenRouter coder: Aider calls openrouter/<model> at llm.openrouter.baseUrl with our attribution', async () => {
    const { root, env } = setup({
      config: {
        llm: {
          coder: { provider: 'openrouter', model: 'fake/coder' },
          openrouter: { baseUrl: coder.url, appUrl: 'https://example.com/ai-dev-bot-test' },
        },
      },
      env: { OPENROUTER_API_KEY: 'sk-coder-test' },
    });
    coder.enqueue({
      text: editReply(editBlock('src/greet.js', GREET, HELLO)),
      inputTokens: 500,
      outputTokens: 20,
      cost: 0.5,
    });
    architect.enqueue(approved());
    const res = await implement(root, ['--json'], env);
    expect(res.code, res.stderr).toBe(0);
    expect(coder.requests[0]!.body.model).toBe('fake/coder');
    expect(coder.requests[0]!.headers['http-referer']).toBe('https://example.com/ai-dev-bot-test');
    // Aider does not pass OpenRouter's usage.cost on: an unpriced model is charged from our table.
    const coding = usageRows(env).find((r) => r.task === 'coding')!;
    expect(coding).toMatchObject({
      provider: 'openrouter',
      model: 'fake/coder',
      input_tokens: 500,
      output_tokens: 20,
      cost_source: 'fallback',
    });
  }, 120_000);
});
