import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderPlan, type PlanItemData } from '../../src/core/plan/planFile.js';
import type { AiderRunResult } from '../../src/core/implement/aiderRunner.js';
import { AIDER_BIN, writeUserConfig } from './aider.js';
import { cliEnv } from './cli.js';
import { makeGitRepo } from './repo.js';

/** A one-function project and a two-item plan for runs of `implement` against the loopback fakes. */
export const GREET = "export function greet(name) {\n  return 'hi ' + name;\n}\n";
export const HELLO = "export function greet(name) {\n  return 'Hello, ' + name + '!';\n}\n";

export const GREET_ITEMS: PlanItemData[] = [
  {
    id: 'P1',
    title: 'Greet with Hello',
    status: 'open',
    files: ['src/greet.js'],
    action: 'Make greet(name) return "Hello, <name>!".',
    verification: "greet('Bob') returns 'Hello, Bob!'",
  },
  {
    id: 'P2',
    title: 'Add a farewell function',
    status: 'open',
    files: ['src/farewell.js'],
    action: 'Create src/farewell.js exporting farewell(name) that returns "Bye, <name>."',
    verification: "farewell('Bob') returns 'Bye, Bob.'",
  },
];

/** The plan `plan` would write for these items (GREET_ITEMS by default). */
export const greetPlan = (items: PlanItemData[] = GREET_ITEMS, date?: string): string =>
  renderPlan({ goal: 'friendlier greetings', items, ...(date ? { date } : {}) });

/** Aider prices the fake model from this file (the repo's own Aider metadata), so it reports a cost. */
export const AIDER_METADATA = JSON.stringify({
  'openai/fake-coder': {
    max_tokens: 8192,
    max_input_tokens: 128000,
    max_output_tokens: 8192,
    input_cost_per_token: 0.000002,
    output_cost_per_token: 0.00001,
    litellm_provider: 'openai',
    mode: 'chat',
  },
});

/** The architect's review verdict as the fake answers it. */
export const reviewReply = (
  status: 'APPROVED' | 'REJECTED',
  feedback: string,
  options: { problems?: string[]; outputTokens?: number } = {},
) => ({
  text: JSON.stringify({ status, feedback, problems: options.problems ?? [] }),
  inputTokens: 2000,
  outputTokens: options.outputTokens ?? 50,
});

/**
 * A git repo with the plan (uncommitted, as `plan` leaves it) and a private CLI env whose user
 * config points the coder (real Aider) at `coderUrl` and the architect at `architectUrl`.
 */
export function greetRepo(options: {
  coderUrl: string;
  architectUrl: string;
  items?: PlanItemData[];
  /** The plan header's date (as `plan` writes it, e.g. "2026-12-01 09:30 UTC"). */
  date?: string;
  /** User config: `llm` keys merge into the fakes' llm section, other sections replace the defaults. */
  config?: Record<string, unknown>;
  /** Extra (or replacing) committed files. */
  files?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}): { root: string; env: NodeJS.ProcessEnv } {
  const root = makeGitRepo({
    'src/greet.js': GREET,
    'README.md': '# demo\n',
    '.aider.model.metadata.json': AIDER_METADATA,
    ...options.files,
  });
  writeFileSync(path.join(root, 'TODO.md'), greetPlan(options.items, options.date));
  const { llm, ...rest } = (options.config ?? {}) as { llm?: Record<string, unknown> };
  const env = fakeLlmEnv({ ...options, config: { llm: { retryBaseDelayMs: 10, ...llm }, ...rest } });
  return { root, env };
}

/**
 * A private CLI env whose user config points the coder (real Aider, as `fake-coder` on OpenAI) at
 * `coderUrl` and the architect at `architectUrl`. `config.llm` keys merge into that llm section;
 * other sections replace the defaults (`aider`: no repo map, 120 s).
 */
export function fakeLlmEnv(options: {
  coderUrl: string;
  architectUrl: string;
  config?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}): NodeJS.ProcessEnv {
  const env = cliEnv({ GEMINI_API_KEY: 'test-key', OPENAI_API_KEY: 'sk-coder-test', AIDER_BIN, ...options.env });
  const { llm, ...rest } = (options.config ?? {}) as { llm?: Record<string, unknown> };
  writeUserConfig(env, {
    llm: {
      coder: { provider: 'openai', model: 'fake-coder' },
      openai: { baseUrl: options.coderUrl },
      gemini: { baseUrl: options.architectUrl },
      maxRetries: 0,
      ...llm,
    },
    aider: { mapTokens: 0, timeoutSec: 120 },
    ...rest,
  });
  return env;
}

/** What Aider reports after one priced call that applied an edit to `target` (for scripted runners). */
export function appliedEditRun(target: string): AiderRunResult {
  return {
    exitCode: 0,
    output: `Applied edit to ${target}`,
    timedOut: false,
    aborted: false,
    providerGaveUp: false,
    forbiddenEdit: null,
    durationMs: 1,
    calls: [{ promptTokens: 1000, completionTokens: 100, costUsd: 0.01 }],
    summary: {
      appliedEdits: [target],
      editTargets: [target],
      malformedReplies: 0,
      failedMatches: 0,
      providerErrors: [],
      lastCallFailed: false,
    },
  };
}
