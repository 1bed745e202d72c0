import { describe, expect, it } from 'vitest';
import { configSchema } from '../src/core/config.js';
import { buildAiderInvocation } from '../src/core/implement/aiderInvocation.js';
import { isSupportedAiderVersion } from '../src/core/implement/aiderLocator.js';
import { parseAnalyticsLog, parseTokenReports, summarizeAiderOutput } from '../src/core/implement/aiderReport.js';
import { aiderCallsOf } from '../src/core/implement/aiderRunner.js';
import { FAKE_AIDER_PATHS as paths } from './helpers/aider.js';

const flagValue = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe('Aider invocation', () => {
  it('gemini: gemini/<model>, key only in our env file (quoted), unattended flags, no auto-commits', () => {
    const config = configSchema.parse({ aider: { mapTokens: 0 } });
    const inv = buildAiderInvocation({
      coder: { provider: 'gemini', model: 'gemini-2.5-flash', maxOutputTokens: 8192 },
      config,
      files: ['src/a.ts', '--weird.ts'],
      readFiles: ['docs/x.md', '-rf'],
      allowed: ['src/a.ts', '--weird.ts', 'docs/x.md', 'my [draft]*.md'],
      paths,
      env: {
        GOOGLE_API_KEY: "AIza'key",
        PATH: '/bin',
        HOME: '/home/u',
        AIDER_MODEL: 'gpt-4',
        OPENAI_BASE_URL: 'http://x',
      },
    });
    expect(inv.aiderModel).toBe('gemini/gemini-2.5-flash');
    expect(flagValue(inv.args, '--model')).toBe('gemini/gemini-2.5-flash');
    expect(flagValue(inv.args, '--weak-model')).toBe('gemini/gemini-2.5-flash');
    for (const flag of [
      '--yes-always',
      '--no-auto-commits',
      '--no-dirty-commits',
      '--no-stream',
      '--no-check-update',
      '--no-gitignore',
      '--no-analytics',
      '--no-show-model-warnings',
    ])
      expect(inv.args).toContain(flag);
    expect(flagValue(inv.args, '--edit-format')).toBe('diff');
    expect(flagValue(inv.args, '--map-tokens')).toBe('0');
    expect(flagValue(inv.args, '--env-file')).toBe('/s/aider.env');
    expect(flagValue(inv.args, '--analytics-log')).toBe('/s/analytics.jsonl');
    // `--read=<file>`: a context file named `-rf` stays the option's value (argparse would
    // otherwise take `--read -rf` as two options).
    expect(inv.args.filter((a) => a.startsWith('--read'))).toEqual(['--read=docs/x.md', '--read=-rf']);
    // The allow-list: everything ignored but the listed files, glob characters escaped.
    expect(flagValue(inv.args, '--aiderignore')).toBe('/s/allow.aiderignore');
    expect(inv.aiderIgnoreText.split('\n').slice(1)).toEqual([
      '*',
      '!/src/a.ts',
      '!/--weird.ts',
      '!/docs/x.md',
      '!/my \\[draft\\]\\*.md',
      '',
    ]);
    // `--file=<file>`, so a file named like a flag stays a file, and no `--` sends a repo
    // config's appended options into the file list.
    expect(inv.args.filter((a) => a.startsWith('--file'))).toEqual(['--file=src/a.ts', '--file=--weird.ts']);
    expect(inv.args).not.toContain('--');
    expect(inv.args.join(' ')).not.toContain('AIza');
    expect(inv.envFileText).toContain("GEMINI_API_KEY='AIza\\'key'");
    // Pinned to Google's own endpoint, so a repo .env (loaded before ours) cannot redirect the key.
    expect(inv.envFileText).toContain("GEMINI_API_BASE='https://generativelanguage.googleapis.com/v1beta'");
    const proxied = buildAiderInvocation({
      coder: { provider: 'gemini', model: 'gemini-2.5-flash', maxOutputTokens: 8192 },
      config: configSchema.parse({ llm: { gemini: { baseUrl: 'http://127.0.0.1:9/' } } }),
      files: [],
      readFiles: [],
      allowed: [],
      paths,
      env: { GEMINI_API_KEY: 'k' },
    });
    expect(proxied.envFileText).toContain("GEMINI_API_BASE='http://127.0.0.1:9/v1beta'");
    // The child environment is ours: HOME controlled, no inherited AIDER_*/OPENAI_* surprises.
    expect(inv.env).toMatchObject({
      HOME: '/s/home',
      LITELLM_LOCAL_MODEL_COST_MAP: 'True',
      NO_COLOR: '1',
      PATH: '/bin',
    });
    expect(inv.env.AIDER_MODEL).toBeUndefined();
    expect(inv.env.OPENAI_BASE_URL).toBeUndefined();
    expect(inv.env.GOOGLE_API_KEY).toBeUndefined();
  });

  it('openai-compatible: --openai-api-base, OPENAI_BASE_URL blanked in the env file, a placeholder key for keyless servers', () => {
    const config = configSchema.parse({ llm: { openai: { baseUrl: 'http://127.0.0.1:11434/v1' } } });
    const inv = buildAiderInvocation({
      coder: { provider: 'openai', model: 'qwen2.5-coder', maxOutputTokens: 8192 },
      config,
      files: [],
      readFiles: [],
      allowed: [],
      paths,
      env: {},
    });
    expect(flagValue(inv.args, '--model')).toBe('openai/qwen2.5-coder');
    expect(flagValue(inv.args, '--openai-api-base')).toBe('http://127.0.0.1:11434/v1');
    expect(inv.envFileText).toContain("OPENAI_BASE_URL=''");
    expect(inv.envFileText).toContain("OPENAI_API_BASE='http://127.0.0.1:11434/v1'");
    expect(inv.envFileText).toMatch(/OPENAI_API_KEY='.+'/);
  });

  it('openrouter: openrouter/<model>; a missing key is a usage error naming the variable', () => {
    const config = configSchema.parse({});
    const coder = { provider: 'openrouter' as const, model: 'anthropic/claude-sonnet-4', maxOutputTokens: 8192 };
    const inv = buildAiderInvocation({
      coder,
      config,
      files: [],
      readFiles: [],
      allowed: [],
      paths,
      env: { OPENROUTER_API_KEY: 'k' },
    });
    expect(inv.aiderModel).toBe('openrouter/anthropic/claude-sonnet-4');
    expect(inv.envFileText).toContain("OPENROUTER_API_BASE='https://openrouter.ai/api/v1'");
    expect(inv.envFileText).toContain("OR_APP_NAME='ai-dev-bot'");
    expect(() =>
      buildAiderInvocation({ coder, config, files: [], readFiles: [], allowed: [], paths, env: {} }),
    ).toThrow(/OPENROUTER_API_KEY/);
  });
});

describe("Aider's reports", () => {
  it('reads message_send events of the analytics log, skipping other events and torn lines', () => {
    const log = [
      '{"event": "launched", "properties": {}, "time": 1}',
      '{"event": "message_send", "properties": {"main_model": "openai/REDACTED", "prompt_tokens": 1234, "completion_tokens": 56, "total_tokens": 1290, "cost": 0.003028, "total_cost": 0.003028}, "time": 2}',
      '{"event": "message_send", "properties": {"prompt_tokens": 10, "completion_tokens": 2, "cost": 0}, "time": 3}',
      '{"event": "message_send", "properties": {"prompt_tok',
    ].join('\n');
    expect(parseAnalyticsLog(log)).toEqual([
      { promptTokens: 1234, completionTokens: 56, costUsd: 0.003028 },
      { promptTokens: 10, completionTokens: 2, costUsd: 0 },
    ]);
  });

  it('falls back to the terminal token reports, expanding abbreviated counts', () => {
    const out = [
      'Tokens: 1.2k sent, 56 received.',
      'Applied edit to src/a.ts',
      'Tokens: 12k sent, 2.5k cache hit, 1,024 received. Cost: $0.0123 message, $0.0150 session.',
    ].join('\n');
    expect(parseTokenReports(out)).toEqual([
      { promptTokens: 1200, completionTokens: 56, costUsd: 0 },
      { promptTokens: 12000, completionTokens: 1024, costUsd: 0.0123 },
    ]);
  });

  it('counts a call Aider started and never reported (a reply cut at the token limit) as estimated', () => {
    const log = [
      '{"event": "message_send_starting", "properties": {}, "time": 1}',
      '{"event": "message_send", "properties": {"prompt_tokens": 900, "completion_tokens": 40, "cost": 0}, "time": 2}',
      '{"event": "message_send_starting", "properties": {}, "time": 3}',
      '{"event": "exit", "properties": {"reason": "Completed --message-file"}, "time": 4}',
    ].join('\n');
    const cut = [
      'Model openai/smollm2 has hit a token limit!',
      'Token counts below are approximate.',
      '',
      'Input tokens: ~1,696 of 0 -- possibly exhausted context window!',
      'Output tokens: ~240 of 0 -- possibly exceeded output limit!',
    ].join('\n');
    expect(aiderCallsOf(log, cut)).toEqual([
      { promptTokens: 900, completionTokens: 40, costUsd: 0 },
      { promptTokens: 1696, completionTokens: 240, costUsd: 0, estimated: true },
    ]);
    // Without Aider's approximation the counts are unknown: the attempt's estimate prices it.
    expect(aiderCallsOf(log, 'Traceback …').at(-1)).toEqual({
      promptTokens: 0,
      completionTokens: 0,
      costUsd: 0,
      estimated: true,
    });
    expect(aiderCallsOf(log.split('\n').slice(0, 2).join('\n'), '')).toHaveLength(1);
    // A log without message_send events (another Aider version): the terminal's Tokens: lines
    // report those calls; only the rest count as unreported.
    const startsOnly = log
      .split('\n')
      .filter((line) => !line.includes('"message_send"'))
      .join('\n');
    expect(aiderCallsOf(startsOnly, `Tokens: 1.2k sent, 56 received.\n${cut}`)).toEqual([
      { promptTokens: 1200, completionTokens: 56, costUsd: 0 },
      { promptTokens: 1696, completionTokens: 240, costUsd: 0, estimated: true },
    ]);
  });

  it('summarizes applied edits, failed matches and provider errors from the output', () => {
    const out = [
      'Here are the changes.',
      '',
      '`src/d.ts`:',
      '```typescript',
      '<<<<<<< SEARCH',
      '=======',
      'export const d = 1;',
      '>>>>>>> REPLACE',
      '```',
      'Applied edit to src/a.ts',
      'Applied edit to src/b.ts',
      '## SearchReplaceNoExactMatch: This SEARCH block failed to exactly match lines in src/c.ts',
      'litellm.AuthenticationError: AuthenticationError: OpenAIException - Invalid key',
    ].join('\n');
    expect(summarizeAiderOutput(out)).toEqual({
      appliedEdits: ['src/a.ts', 'src/b.ts'],
      editTargets: ['src/d.ts', 'src/a.ts', 'src/b.ts', 'src/c.ts'],
      malformedReplies: 0,
      failedMatches: 1,
      providerErrors: ['litellm.AuthenticationError: AuthenticationError: OpenAIException - Invalid key'],
      lastCallFailed: false,
    });
  });

  it('an outage-type error after the last usage report means the last call failed (exit 7, not a bad edit)', () => {
    // Aider 0.86.2's own lines against a server answering 500 / a refused connection.
    const failing = [
      'Tokens: 1.2k sent, 56 received.',
      'litellm.InternalServerError: InternalServerError: OpenAIException - Connection error.',
      "The API provider's servers are down or overloaded.",
      'Retrying in 0.2 seconds...',
    ].join('\n');
    expect(summarizeAiderOutput(failing).lastCallFailed).toBe(true);
    // Recovered by Aider's retry: the usage report after the error counts.
    expect(summarizeAiderOutput(`${failing}\nTokens: 1.3k sent, 60 received.`).lastCallFailed).toBe(false);
    // A bad key is not an outage (it stays exit 6 through isFatalProviderError).
    expect(
      summarizeAiderOutput('litellm.AuthenticationError: AuthenticationError: OpenAIException - Invalid key')
        .lastCallFailed,
    ).toBe(false);
  });

  it('accepts Aider 0.86 and newer only', () => {
    expect(isSupportedAiderVersion('0.86.2')).toBe(true);
    expect(isSupportedAiderVersion('0.90.0')).toBe(true);
    expect(isSupportedAiderVersion('1.0.0')).toBe(true);
    expect(isSupportedAiderVersion('0.85.9')).toBe(false);
  });
});
