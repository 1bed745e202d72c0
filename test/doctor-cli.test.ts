import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locateModel } from '../src/core/index/model/locateModel.js';
import { FakeGeminiServer, FakeOpenAiServer } from './fakes/llmServers.js';
import { cliEnvWithConfig, runCliAsync, type CliResult } from './helpers/cli.js';
import { makeGitRepo } from './helpers/repo.js';

const GEMINI_KEY = 'AIzaDoctorTestKeyNeverPrinted0000000000';

/** `ai-dev-bot doctor` through bin/: real native modules, model, Aider lookup, ledger, git; fake providers. */
describe('ai-dev-bot doctor', () => {
  let gemini: FakeGeminiServer;
  let openai: FakeOpenAiServer;
  const config = () => ({
    llm: {
      architect: { provider: 'openai', model: 'smollm2' },
      coder: { provider: 'gemini', model: 'gemini-2.5-flash' },
      gemini: { baseUrl: gemini.url },
    },
  });
  const doctor = (args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<CliResult> =>
    runCliAsync(['doctor', ...args], { cwd, env }).done;
  type Check = { id: string; status: string; detail: string; fix?: string };
  const byId = (res: CliResult): Record<string, Check> =>
    Object.fromEntries((res.json.checks as Check[]).map((check) => [check.id, check]));

  beforeAll(async () => {
    gemini = await FakeGeminiServer.start({ apiKey: GEMINI_KEY, models: ['gemini-2.5-flash'] });
    openai = await FakeOpenAiServer.start({ models: ['smollm2'] });
  });
  afterAll(async () => {
    await gemini.close();
    await openai.close();
  });

  it('--online --json: every check ok or warning, one unbilled request per provider, no key value anywhere', async () => {
    const repo = makeGitRepo({ 'src/a.ts': 'export const a = 1;\n' });
    const env = cliEnvWithConfig(config(), { GEMINI_API_KEY: GEMINI_KEY, OPENAI_BASE_URL: openai.url });
    const res = await doctor(['--online', '--json'], repo, env);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout.trim().split('\n')).toHaveLength(1);
    expect(res.json.ok).toBe(true);
    const checks = byId(res);
    for (const id of ['node', 'native.better-sqlite3', 'native.hnswlib-node', 'native.onnxruntime-node', 'model'])
      expect(checks[id]?.status, id).toBe('ok');
    expect(checks.model!.detail).toMatch(/sha256 verified/);
    expect(checks['keys.gemini']!.detail).toMatch(/GEMINI_API_KEY is set/);
    expect(checks['keys.openai']!.detail).toMatch(/no key needed for http:\/\/127\.0\.0\.1/);
    expect(checks['online.openai']).toMatchObject({ status: 'ok' });
    expect(checks['online.gemini']).toMatchObject({ status: 'ok' });
    expect(checks.index).toMatchObject({ status: 'warning', fix: 'Run `ai-dev-bot index`.' });
    expect(checks.git!.detail).toMatch(/clean/);
    expect(checks.ledger!.detail).toMatch(/no ledger yet/);
    expect(openai.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/models']);
    expect(gemini.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1beta/models/gemini-2.5-flash']);
    expect(res.stdout + res.stderr).not.toContain(GEMINI_KEY);
  }, 60_000);

  it('a rejected key, a missing key and a model the server does not list: error / warning lines with fixes, exit 2', async () => {
    const repo = makeGitRepo({ 'src/a.ts': 'export const a = 1;\n' });
    const wrongKey = cliEnvWithConfig(
      { ...config(), llm: { ...config().llm, architect: { provider: 'openai', model: 'not-served' } } },
      { GEMINI_API_KEY: 'AIzaWrongKey', OPENAI_BASE_URL: openai.url },
    );
    const res = await doctor(['--online', '--json'], repo, wrongKey);
    expect(res.code).toBe(2);
    expect(res.json.ok).toBe(false);
    const checks = byId(res);
    expect(checks['online.gemini']).toMatchObject({ status: 'error', fix: 'Check GEMINI_API_KEY.' });
    expect(checks['online.openai']!.status).toBe('warning');
    expect(checks['online.openai']!.detail).toMatch(/does not list not-served/);
    expect(res.stdout).not.toContain('AIzaWrongKey');

    const noKey = cliEnvWithConfig(config(), { GEMINI_API_KEY: '', OPENAI_BASE_URL: openai.url });
    delete noKey.GEMINI_API_KEY;
    const human = await doctor([], repo, noKey);
    expect(human.code).toBe(2);
    expect(human.stdout).toMatch(/FAIL\s+keys\.gemini\s+gemini: GEMINI_API_KEY or GOOGLE_API_KEY is not set/);
    expect(human.stdout).toMatch(/fix: export GEMINI_API_KEY=<your key>/);
  }, 60_000);

  it('a corrupted model copy is an error naming the file; outside a repository git and index are warnings', async () => {
    const good = locateModel({ precision: 'int8' });
    const corrupt = mkdtempSync(path.join(os.tmpdir(), 'aidb-badmodel-'));
    for (const file of [good.tokenizerPath, good.tokenizerConfigPath, good.onnxPath])
      copyFileSync(file, path.join(corrupt, path.basename(file)));
    copyFileSync(path.join(good.dir, 'model-info.json'), path.join(corrupt, 'model-info.json'));
    const onnx = path.join(corrupt, path.basename(good.onnxPath));
    const bytes = readFileSync(onnx);
    bytes[1000]! ^= 0xff;
    writeFileSync(onnx, bytes);
    const emptyCache = mkdtempSync(path.join(os.tmpdir(), 'aidb-cache-'));
    const notARepo = mkdtempSync(path.join(os.tmpdir(), 'aidb-norepo-'));
    mkdirSync(path.join(notARepo, 'sub'));
    const env = cliEnvWithConfig(config(), {
      GEMINI_API_KEY: GEMINI_KEY,
      OPENAI_BASE_URL: openai.url,
      AI_DEV_BOT_MODEL_DIR: corrupt,
      XDG_CACHE_HOME: emptyCache,
    });
    const res = await doctor(['--json'], path.join(notARepo, 'sub'), env);
    expect(res.code).toBe(2);
    const checks = byId(res);
    expect(checks.model!.status).toBe('error');
    expect(checks.model!.detail).toContain(`${onnx} has sha256`);
    expect(checks.model!.fix).toMatch(/ai-dev-bot doctor --fetch-model/);
    expect(checks.git).toMatchObject({ status: 'warning' });
    expect(checks.git!.detail).toMatch(/is not inside a git repository/);
    expect(checks.index!.status).toBe('warning');
  }, 60_000);
});
