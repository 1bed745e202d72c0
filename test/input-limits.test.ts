import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { locateModel } from '../src/core/index/model/locateModel.js';
import { INPUT_LIMITS } from '../src/core/inputLimits.js';
import { cliBin, cliEnv, cliEnvWithConfig, runCli } from './helpers/cli.js';
import { makeGitRepo } from './helpers/repo.js';

/** D5: every input that reaches native code or a model is bounded; exit 2 with the limit, never a crash. */
describe('input limits through bin/ (D5)', () => {
  // A private XDG cache, so the test can see whether onnxruntime wrote its telemetry store there;
  // the model comes from wherever it is installed.
  const cache = mkdtempSync(path.join(os.tmpdir(), 'aidb-cache-'));
  const env = cliEnv({
    XDG_CACHE_HOME: cache,
    AI_DEV_BOT_MODEL_DIR: path.dirname(locateModel({ precision: 'int8' }).onnxPath),
  });
  const repo = makeGitRepo({
    'src/retry.ts': 'export function retryDelay(attempt: number) { return 2 ** attempt; }\n',
  });
  const cli = (...args: string[]) => runCli(args, { cwd: repo, env });

  beforeAll(() => {
    const indexed = cli('index');
    expect(indexed.code, indexed.stderr).toBe(0);
  }, 120_000);

  it('runs a vector search with a command line past the old ~28,000-character crash, and sends no telemetry', () => {
    // onnxruntime's telemetry parsed /proc/self/cmdline and overflowed the stack (exit 139) past
    // ~28,000 characters of argv. A long node option puts that many characters there with a valid query.
    const res = spawnSync(
      process.execPath,
      [`--conditions=${'x'.repeat(40_000)}`, cliBin, 'search', 'retry delay', '--mode', 'vector', '--json'],
      { cwd: repo, env, encoding: 'utf8', timeout: 120_000 },
    );
    expect(res.signal).toBeNull();
    expect(res.status, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).results[0].path).toBe('src/retry.ts');
    expect(existsSync(path.join(cache, 'Microsoft'))).toBe(false);
  });

  it('refuses an over-long search query with exit 2 and the limit, in every mode; accepts one at the limit', () => {
    for (const mode of ['vector', 'hybrid', 'keyword']) {
      const res = cli('search', 'x'.repeat(30_000), '--mode', mode, '--json');
      expect(res.code, mode).toBe(2);
      expect(res.json.error.code).toBe('bad_argument');
      expect(res.json.error.message).toBe('The search query is 30,000 characters long; the limit is 2,000.');
    }
    const atLimit = cli('search', `retry ${'x'.repeat(INPUT_LIMITS.query.chars - 6)}`, '--mode', 'hybrid', '--json');
    expect(atLimit.code, atLimit.stderr).toBe(0);
    expect(atLimit.json.results[0].path).toBe('src/retry.ts');
  });

  it('refuses a 100 KB question or goal with exit 2 before any key, model or credit is needed', () => {
    const text = 'Explain the retry policy in detail. '.repeat(2900);
    expect(text.length).toBeGreaterThan(100_000);
    const ask = cli('ask', text, '--json');
    expect(ask.code).toBe(2);
    expect(ask.json.error.message).toMatch(/^The question is 104,399 characters long; the limit is 8,000\./);
    const plan = cli('plan', text, '--json');
    expect(plan.code).toBe(2);
    expect(plan.json.error.message).toMatch(/^The goal is 104,\d{3} characters long; the limit is 8,000\./);
    expect(cli('credits', '--json').json.recent).toHaveLength(1);
  });

  it('bounds config values that reach onnxruntime or timers, naming the key (exit 2, nothing started)', () => {
    // threads 100,000 made onnxruntime allocate GBs and never return; a timeout past 2^31-1 ms
    // becomes 1 ms in setTimeout, so every call would time out at once.
    for (const [config, key] of [
      [{ embedding: { threads: 100_000 } }, 'embedding.threads'],
      [{ llm: { timeoutMs: 3_000_000_000 } }, 'llm.timeoutMs'],
      [{ llm: { retryMaxDelayMs: 2 ** 31 } }, 'llm.retryMaxDelayMs'],
      [{ aider: { timeoutSec: 10_000_000 } }, 'aider.timeoutSec'],
      [{ index: { maxFileBytes: 2 ** 40 } }, 'index.maxFileBytes'],
    ] as const) {
      const res = runCli(['search', 'retry', '--mode', 'vector', '--json'], {
        cwd: repo,
        env: cliEnvWithConfig(config, { XDG_CACHE_HOME: cache, AI_DEV_BOT_MODEL_DIR: env.AI_DEV_BOT_MODEL_DIR }),
        timeoutMs: 60_000,
      });
      expect(res.code, key).toBe(2);
      expect(res.json.error).toMatchObject({ code: 'bad_config' });
      expect(res.json.error.message).toContain(`"${key}"`);
    }
  });

  it('bounds the texts the ledger stores: --reason and model names', () => {
    const reason = cli('credits', 'grant', '1', '--reason', 'r'.repeat(1001), '--json');
    expect(reason.code).toBe(2);
    expect(reason.json.error.message).toContain('the limit is 1,000');
    const model = cli('pricing', 'set', 'gemini', 'm'.repeat(201), '--input', '1', '--output', '1', '--json');
    expect(model.code).toBe(2);
    expect(model.json.error.message).toContain('The model name is 201 characters long; the limit is 200.');
    const flag = cli('ask', 'what is retry', '--model', 'm'.repeat(201), '--json');
    expect(flag.code).toBe(2);
    expect(flag.json.error.message).toContain('the limit is 200');
  });
});
