import { describe, expect, it } from 'vitest';
import { planShowText } from '../src/cli/commands/planRun.js';
import { renderPlanView } from '../src/cli/views/PlanView.js';
import { parsePlan, renderPlan, type PlanData } from '../src/core/plan/planFile.js';

const DATA: PlanData = {
  goal: 'add retries to the HTTP client',
  date: '2026-11-26 07:00 UTC',
  model: 'gemini/gemini-2.5-flash',
  items: [
    { id: 'P1', title: 'Add backoff', status: 'done', files: ['src/http.ts'], action: 'a', verification: 'v' },
    {
      id: 'P2',
      title: 'Handle Retry-After in the client, with a title long enough that it has to be cut at the terminal edge',
      status: 'rejected',
      files: ['src/http.ts'],
      action: 'a',
      verification: 'v',
      feedback: 'no test for HTTP dates',
    },
    {
      id: 'P3',
      title: 'Document retries',
      status: 'open',
      files: ['README.md', 'docs/retry.md'],
      action: 'a',
      verification: 'v',
    },
    { id: 'P4', title: 'Later', status: 'open', files: [], action: 'a', verification: 'v' },
  ],
};
const plan = parsePlan(renderPlan(DATA)).plan;
// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');

describe('plan show views', () => {
  it('the ink view shows progress, marks, the next item with its files, and feedback', () => {
    const out = stripAnsi(renderPlanView(plan, 'TODO.md', 80));
    const lines = out.split('\n');
    expect(lines[0]).toBe('TODO.md: add retries to the HTTP client');
    expect(out).toContain('gemini/gemini-2.5-flash · 2026-11-26 07:00 UTC');
    expect(out).toMatch(/█{6}░{18} 1\/4 done · 1 rejected · 2 open/);
    expect(out).toMatch(/✔ {2}P1 {6}Add backoff/);
    expect(out).toMatch(/✘ {2}P2 {6}Handle Retry-After/);
    expect(out).toContain('feedback: no test for HTTP dates');
    expect(out).toMatch(/▶ {2}P3 {6}Document retries\n {11}README\.md, docs\/retry\.md/);
    expect(out).toMatch(/○ {2}P4 {6}Later/);
    // Nothing is wider than the terminal: long titles are truncated, not wrapped.
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(out).toContain('…');
  });

  it('the plain view marks items the way the file does', () => {
    expect(planShowText(plan, 'TODO.md').split('\n')).toEqual([
      'TODO.md: add retries to the HTTP client',
      '  planned by gemini/gemini-2.5-flash, 2026-11-26 07:00 UTC',
      'Progress: 1/4 done, 1 rejected, 2 open',
      '',
      '[x] P1  Add backoff',
      `[!] P2  ${DATA.items[1]!.title}`,
      '      feedback: no test for HTTP dates',
      '[ ] P3  Document retries   <- next',
      '[ ] P4  Later',
    ]);
  });
});
