import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/core/errors.js';
import type { AiderRunner } from '../src/core/implement/aiderRunner.js';
import type { ItemOutcome } from '../src/core/implement/implementItem.js';
import { implementPlan } from '../src/core/implement/implementPlan.js';
import { loadPlan, planLocation } from '../src/core/plan/planStore.js';
import { silentReporter } from '../src/core/reporter.js';
import { openRuntime } from '../src/core/runtime.js';
import { FakeOpenAiServer } from './fakes/llmServers.js';
import { AIDER_BIN, writeUserConfig } from './helpers/aider.js';
import { cliEnv } from './helpers/cli.js';
import { appliedEditRun, GREET, GREET_ITEMS, HELLO, greetPlan, reviewReply } from './helpers/implementRepo.js';
import { git, makeGitRepo } from './helpers/repo.js';

/**
 * `implementPlan` as a server or CI runner would call it: no CLI, a runtime opened on the repo,
 * the confirmation and interruption passed in. Real git, SQLite ledger and reviewer wire format
 * (loopback fake); Aider is a scripted stand-in (the CLI tests run the real one).
 */

const FAREWELL = 'export function farewell(name) {\n  return `Bye, ${name}.`;\n}\n';

/** Does what each item asks, the way Aider would, and reports one priced call. */
const scriptedAider: AiderRunner = async (request) => {
  const target = request.message.includes('farewell') ? 'src/farewell.js' : 'src/greet.js';
  writeFileSync(path.join(request.cwd, target), target === 'src/greet.js' ? HELLO : FAREWELL);
  return appliedEditRun(target);
};

let reviewer: FakeOpenAiServer;
beforeAll(async () => {
  reviewer = await FakeOpenAiServer.start({ fallback: reviewReply('APPROVED', 'ok') });
});
afterAll(async () => {
  await reviewer.close();
});

function repoWithPlan() {
  const root = makeGitRepo({ 'src/greet.js': GREET, 'README.md': '# r\n' });
  writeFileSync(path.join(root, 'TODO.md'), greetPlan(GREET_ITEMS.slice(0, 2)));
  const env = cliEnv({ OPENAI_API_KEY: 'sk-test', AIDER_BIN });
  writeUserConfig(env, {
    llm: {
      coder: { provider: 'openai', model: 'fake-coder' },
      architect: { provider: 'openai', model: 'fake-reviewer', maxOutputTokens: 1024 },
      openai: { baseUrl: reviewer.url },
      maxRetries: 0,
    },
  });
  return { root, env };
}

describe('implementPlan (core use case, no CLI)', () => {
  it('all: confirms once, implements each item to a commit, reports totals; then nothing is left', async () => {
    const { root, env } = repoWithPlan();
    const questions: string[] = [];
    const done: ItemOutcome[] = [];
    const rt = openRuntime({ cwd: root, reporter: silentReporter, env });
    try {
      const result = await implementPlan(rt, {
        target: 'all',
        signal: new AbortController().signal,
        confirm: async (q) => (questions.push(q), true),
        onItemDone: (o) => done.push(o),
        probes: { runAider: scriptedAider },
      });
      expect(questions).toHaveLength(1);
      expect(questions[0]).toContain('all open items, starting with P1');
      expect(questions[0]).toContain('openai/fake-coder');
      expect(result.outcomes.map((o) => [o.item.id, o.outcome, o.error?.message ?? null])).toEqual([
        ['P1', 'approved', null],
        ['P2', 'approved', null],
      ]);
      expect(done).toEqual(result.outcomes);
      expect(result.decisive).toBe(result.outcomes[1]);
      expect(result.creditsMilli).toBe(result.outcomes[0]!.creditsMilli + result.outcomes[1]!.creditsMilli);
      expect(result.creditsMilli).toBeGreaterThan(0n);
      // The balance reported is the ledger's after the run: the grant minus what the run cost.
      expect(result.balanceMilli).toBe((await rt.ledger()).balanceMilli());
      expect(readFileSync(path.join(root, 'src/greet.js'), 'utf8')).toBe(HELLO);
      expect(readFileSync(path.join(root, 'src/farewell.js'), 'utf8')).toBe(FAREWELL);
      expect(git(root, 'rev-list', '--count', 'HEAD').trim()).toBe('3');
      expect(reviewer.requests.length).toBeGreaterThanOrEqual(2);
    } finally {
      await rt.close();
    }

    const again = openRuntime({ cwd: root, reporter: silentReporter, env });
    try {
      const none = await implementPlan(again, {
        target: 'next',
        signal: new AbortController().signal,
        confirm: async () => {
          throw new Error('nothing to do: no question expected');
        },
      });
      expect(none.outcomes).toEqual([]);
      expect(none.decisive).toBeUndefined();
      expect(loadPlan(planLocation(again.ws, again.config)).plan.items.every((i) => i.status === 'done')).toBe(true);
    } finally {
      await again.close();
    }
  }, 120_000);

  it('a declined confirmation is exit 130 with nothing run, charged or even opened (no ledger file)', async () => {
    const { root, env } = repoWithPlan();
    const rt = openRuntime({ cwd: root, reporter: silentReporter, env });
    let aiderRuns = 0;
    try {
      const error = await implementPlan(rt, {
        target: 'next',
        signal: new AbortController().signal,
        confirm: async () => false,
        probes: { runAider: async (r) => (aiderRuns++, scriptedAider(r)) },
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).exitCode).toBe(130);
    } finally {
      await rt.close();
    }
    expect(aiderRuns).toBe(0);
    expect(existsSync(path.join(env.AI_DEV_BOT_HOME!, 'ledger.db'))).toBe(false);
    expect(readFileSync(path.join(root, 'src/greet.js'), 'utf8')).toBe(GREET);
    // Unknown item IDs are a usage error naming the plan file.
    const named = openRuntime({ cwd: root, reporter: silentReporter, env });
    try {
      await expect(
        implementPlan(named, { target: 'P9.9', signal: new AbortController().signal, confirm: async () => true }),
      ).rejects.toThrow(/No item P9.9 in TODO.md/);
    } finally {
      await named.close();
    }
  }, 120_000);
});
