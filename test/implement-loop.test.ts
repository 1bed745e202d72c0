import Database from 'better-sqlite3';
import { chmodSync, lstatSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../src/core/config.js';
import type { AiderRunner } from '../src/core/implement/aiderRunner.js';
import { runChecks } from '../src/core/implement/checks.js';
import { gitWorkTree } from '../src/core/implement/gitTree.js';
import { implementItem, type ImplementDeps } from '../src/core/implement/implementItem.js';
import { recoverInterruptedWork } from '../src/core/implement/recovery.js';
import { RunsStore } from '../src/core/implement/runsStore.js';
import { Ledger } from '../src/core/ledger/ledger.js';
import { createMeter } from '../src/core/llm/meter.js';
import { MeteredModel } from '../src/core/llm/meteredModel.js';
import { parsePlan, renderPlan } from '../src/core/plan/planFile.js';
import { loadPlan, planLocation } from '../src/core/plan/planStore.js';
import { silentReporter, type Reporter } from '../src/core/reporter.js';
import { ensureStateDir, workspaceFor } from '../src/core/workspace.js';
import { treeState } from './helpers/aider.js';
import { appliedEditRun } from './helpers/implementRepo.js';
import { git, makeGitRepo } from './helpers/repo.js';
import { scriptedModel } from './helpers/scriptedModel.js';

/**
 * The loop's own decisions, driven in-process with real git, SQLite and ledger; Aider is replaced by
 * a runner that edits files the way a scripted Aider would (the CLI tests use the real one).
 */

const GREET = "export function greet(name) {\n  return 'hi ' + name;\n}\n";
const HELLO = "export function greet(name) {\n  return 'Hello, ' + name + '!';\n}\n";

const closers: Array<() => void> = [];
afterEach(() => {
  while (closers.length) closers.pop()!();
});

/** An Aider stand-in: applies `edit` to the work tree and reports one priced call. */
function scriptedAider(edit: (root: string) => void): AiderRunner {
  return async (request) => {
    edit(request.cwd);
    return appliedEditRun('src/greet.js');
  };
}

const approve = () => JSON.stringify({ status: 'APPROVED', feedback: 'ok', problems: [] });

async function setup(runAider: AiderRunner, files: Record<string, string> = {}) {
  const root = makeGitRepo({ 'src/greet.js': GREET, ...files });
  writeFileSync(
    path.join(root, 'TODO.md'),
    renderPlan({
      goal: 'g',
      items: [
        {
          id: 'P1',
          title: 'Greet with Hello',
          status: 'open',
          files: ['src/greet.js'],
          action: 'a',
          verification: 'v',
        },
      ],
    }),
  );
  const ws = workspaceFor(root, path.join(root, '.git'));
  ensureStateDir(ws);
  const config = configSchema.parse({ llm: { coder: { provider: 'openai', model: 'fake-coder' } } });
  const ledger = await Ledger.open({
    file: path.join(mkdtempSync(path.join(os.tmpdir(), 'aidb-loop-')), 'ledger.db'),
    initialGrantMilli: 1_000_000n,
  });
  const runs = RunsStore.open(ws.runsDb);
  closers.push(
    () => ledger.close(),
    () => runs.close(),
  );
  const warnings: string[] = [];
  const reporter: Reporter = { ...silentReporter, warn: (m) => warnings.push(m) };
  const location = planLocation(ws, config);
  const meter = createMeter({ config, ledger, reporter: silentReporter });
  const reviewer = await scriptedModel([approve], {
    meter,
    choice: { provider: 'openai', model: 'reviewer', maxOutputTokens: 500 },
  });
  const deps: ImplementDeps = {
    ws,
    config,
    plan: location,
    reporter,
    runs,
    aider: { bin: '/unused', version: '0.86.2', source: 'config' },
    runAider,
    tree: gitWorkTree(root),
    runChecks,
    coder: new MeteredModel(meter, { provider: 'openai', model: 'fake-coder', maxOutputTokens: 1000 }, () => {
      throw new Error('the coder is called by Aider only');
    }),
    reviewer,
    signal: new AbortController().signal,
    env: { OPENAI_API_KEY: 'sk-test' },
  };
  const item = () => loadPlan(location).plan.items[0]!;
  return { root, deps, item, warnings, runs, reviewer };
}

describe('implement loop (scripted Aider, real git)', () => {
  it('a failing commit (pre-commit hook) keeps the approved changes in the tree and the item open', async () => {
    const { root, deps, item } = await setup(scriptedAider((r) => writeFileSync(path.join(r, 'src/greet.js'), HELLO)));
    writeFileSync(path.join(root, '.git/hooks/pre-commit'), '#!/bin/sh\necho "hook says no" >&2\nexit 1\n');
    chmodSync(path.join(root, '.git/hooks/pre-commit'), 0o755);
    const outcome = await implementItem(deps, item(), { retries: 0, command: 'test' });
    expect(outcome.outcome).toBe('error');
    expect(outcome.error?.message).toContain('commit failed');
    expect(outcome.error?.message).toContain('hook says no');
    expect(outcome.restored).toBe(false);
    expect(readFileSync(path.join(root, 'src/greet.js'), 'utf8')).toBe(HELLO);
    expect(item().status).toBe('open');
    expect(git(root, 'rev-list', '--count', 'HEAD').trim()).toBe('1');
  });

  it("undoes Aider's edits to the plan file and keeps a user's dirty file out of the commit", async () => {
    const { root, deps, item, warnings } = await setup(
      scriptedAider((r) => {
        writeFileSync(path.join(r, 'src/greet.js'), HELLO);
        writeFileSync(path.join(r, 'TODO.md'), 'Aider scribbled over the plan\n');
        writeFileSync(path.join(r, 'notes.txt'), 'aider touched my notes\n');
      }),
    );
    writeFileSync(path.join(root, 'notes.txt'), 'my notes\n');
    const outcome = await implementItem(deps, item(), { retries: 0, command: 'test' });
    expect(outcome.outcome).toBe('approved');
    expect(warnings.some((w) => w.includes('Aider edited TODO.md'))).toBe(true);
    expect(warnings.some((w) => w.includes('notes.txt'))).toBe(true);
    expect(git(root, 'show', '--name-only', '--format=', 'HEAD').trim().split('\n').sort()).toEqual([
      'TODO.md',
      'src/greet.js',
    ]);
    expect(parsePlan(git(root, 'show', 'HEAD:TODO.md')).plan.items.map((i) => i.status)).toEqual(['done']);
    expect(git(root, 'status', '--porcelain')).toBe('?? notes.txt\n');
  });

  it('a secret file Aider writes stops the attempt: nothing reviewed or committed, the tree restored, exit 6', async () => {
    const { root, deps, item, reviewer } = await setup(
      scriptedAider((r) => {
        writeFileSync(path.join(r, 'src/greet.js'), HELLO);
        writeFileSync(path.join(r, '.env'), 'API_TOKEN=sk-secret-from-aider-000000\n');
      }),
    );
    const before = treeState(root);
    const prompts = reviewer.requests;
    const outcome = await implementItem(deps, item(), { retries: 2, command: 'test' });
    expect(outcome.outcome).toBe('error');
    expect(outcome.error).toMatchObject({ code: 'aider_failed', exitCode: 6 });
    expect(outcome.error!.message).toContain('.env (secret)');
    expect(outcome.attempts).toHaveLength(1);
    expect(prompts).toEqual([]);
    expect(treeState(root)).toEqual(before);
    expect(git(root, 'rev-list', '--count', 'HEAD').trim()).toBe('1');
    expect(parsePlan(readFileSync(path.join(root, 'TODO.md'), 'utf8')).plan.items[0]!.status).toBe('open');
  });

  it('a write through a link to a file outside the repo is undone and stops the attempt (exit 6)', async () => {
    const outside = mkdtempSync(path.join(os.tmpdir(), 'aidb-outside-'));
    const victim = path.join(outside, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    chmodSync(victim, 0o640);
    const { root, deps, item } = await setup(
      scriptedAider((r) => {
        writeFileSync(path.join(r, 'src/greet.js'), HELLO);
        // What Aider's plain open() does with a link: the bytes land in the target.
        writeFileSync(path.join(r, 'link.txt'), 'owned\n');
      }),
    );
    symlinkSync(victim, path.join(root, 'link.txt'));
    git(root, 'add', 'link.txt');
    git(root, 'commit', '-qm', 'link out');
    const before = treeState(root);
    const outcome = await implementItem(deps, item(), { retries: 1, command: 'test' });
    expect(outcome.error).toMatchObject({ code: 'aider_failed', exitCode: 6 });
    expect(outcome.error!.message).toContain('link.txt (symlink out of the repository)');
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(statSync(victim).mode & 0o777).toBe(0o640);
    expect(lstatSync(path.join(root, 'link.txt')).isSymbolicLink()).toBe(true);
    expect(treeState(root)).toEqual(before);
  });

  it('recovery after a kill between commit and bookkeeping keeps the commit instead of restoring', async () => {
    const { root, deps, item, runs } = await setup(
      scriptedAider((r) => writeFileSync(path.join(r, 'src/greet.js'), HELLO)),
    );
    await implementItem(deps, item(), { retries: 0, command: 'test' });
    // Simulate the crash window: the work row still `running` with its snapshot, the commit made.
    const tree = gitWorkTree(root);
    const snapshotDir = path.join(deps.ws.stateDir, 'attempts', 'crashed');
    await tree.snapshot(snapshotDir);
    writeFileSync(path.join(root, 'src/greet.js'), `${HELLO}// more\n`);
    git(root, 'commit', '-q', '-am', 'ai-dev-bot: P1 Greet with Hello (again)');
    const work = runs.startWork({ command: 'test', itemId: 'P1', itemTitle: 't', snapshotDir });
    // A pid that cannot be alive marks the row abandoned.
    const db = new Database(deps.ws.runsDb);
    db.prepare('UPDATE work SET pid = ? WHERE id = ?').run(2 ** 22 + 12345, work.id);
    db.close();
    const before = treeState(root);
    const recovered = await recoverInterruptedWork(tree, runs, silentReporter);
    expect(recovered).toEqual([{ itemId: 'P1', startedAt: work.startedAt, restoredFiles: [] }]);
    expect(treeState(root)).toEqual(before);
    expect(runs.lastWork(1)[0]).toMatchObject({ id: work.id, state: 'approved' });
  });
});
