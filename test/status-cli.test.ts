import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderPlan } from '../src/core/plan/planFile.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { makeGitRepo } from './helpers/repo.js';

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
