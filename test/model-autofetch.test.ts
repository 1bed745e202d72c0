import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureModel } from '../src/core/index/model/ensureModel.js';
import { cacheModelDir, locateModel, verifyModelDir } from '../src/core/index/model/locateModel.js';
import { cliEnv, cliEnvWithConfig, runCliAsync } from './helpers/cli.js';
import { readFixtureTree } from './helpers/fixtures.js';
import { startModelHub, type ModelHub } from './helpers/modelHub.js';
import { modelManifest, type ModelManifest } from '../src/core/index/model/manifest.js';
import { bundleWorker } from './workers/bundle.js';
import { makeGitRepo } from './helpers/repo.js';

/**
 * A user who installed the package has no model: the first command that needs it fetches it
 * (here from a loopback Hub with the real files) into the user cache, once, under a lock; with
 * fetching turned off, the CLI says what to copy where.
 */
let hub: ModelHub;

beforeAll(async () => {
  hub = await startModelHub();
  // The hub serves this machine's installed files, which may be an export rather than the Hub's
  // bytes: the workers get a manifest pinning exactly what the hub serves.
  manifest = {
    ...modelManifest,
    dirName: 'autofetch-test-model',
    sources: {
      ...modelManifest.sources,
      huggingface: {
        ...modelManifest.sources.huggingface,
        files: hub.served.map((file) => ({
          path: file.hubPath,
          role: modelManifest.sources.huggingface.files.find((f) => f.path === file.hubPath)!.role,
          size: file.size,
          sha256: file.sha256,
        })),
      },
    },
  };
  manifestFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'aidb-manifest-')), 'manifest.json');
  writeFileSync(manifestFile, JSON.stringify(manifest));
  worker = await bundleWorker('test/workers/modelFetchWorker.ts', 'modelFetchWorker');
});
afterAll(() => hub?.close());

/** A CLI env with an empty user cache and the loopback hub as HF_ENDPOINT. */
function freshCacheEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const cache = mkdtempSync(path.join(os.tmpdir(), 'aidb-cache-'));
  const env = cliEnv({ XDG_CACHE_HOME: cache, HF_ENDPOINT: hub.endpoint });
  delete env.AI_DEV_BOT_MODEL_DIR;
  delete env.AI_DEV_BOT_OFFLINE;
  return { ...env, ...extra };
}

let manifest: ModelManifest;
let manifestFile: string;
let worker: string;

/** Runs the worker (a separate OS process that calls ensureModel with the test manifest). */
function runWorker(env: NodeJS.ProcessEnv): {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
} {
  const child = spawn(process.execPath, [worker, manifestFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return { child, done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))) };
}

const stagingLeft = (env: NodeJS.ProcessEnv) =>
  readdirSync(path.dirname(cacheModelDir(env, manifest))).filter((name) => name.includes('.staging-'));

const int8Downloads = () => hub.requests.filter((p) => p === `/cdn/${hub.served[0]!.sha256}`).length;
const smallRepo = () => makeGitRepo(readFixtureTree('sample-repo'));

describe('the embedding model arrives by itself', () => {
  it('two processes needing it at once in a fresh cache: one download, both get the same valid copy', async () => {
    const env = freshCacheEnv();
    hub.requests.length = 0;
    hub.bytesPerSecond = 15_000_000; // ~1.5 s for the int8 file: the second process starts while it runs
    try {
      const [a, b] = await Promise.all([runWorker(env).done, runWorker(env).done]);
      for (const res of [a, b]) expect(res.code, res.stderr).toBe(0);
      expect(JSON.parse(a.stdout).dir).toBe(cacheModelDir(env, manifest));
      expect(JSON.parse(b.stdout).dir).toBe(cacheModelDir(env, manifest));
      expect(int8Downloads()).toBe(1);
      const fetched = [a, b].filter((res) => /not installed yet; fetching it once/.test(res.stderr));
      expect(fetched).toHaveLength(1);
      expect((await verifyModelDir(cacheModelDir(env, manifest), 'int8', manifest)).ok).toBe(true);
      expect(stagingLeft(env)).toEqual([]);
    } finally {
      hub.bytesPerSecond = undefined;
    }
  }, 120_000);

  it('two callers in one process take turns: one download (the pid lock alone would let both in)', async () => {
    const env = freshCacheEnv();
    hub.requests.length = 0;
    hub.bytesPerSecond = 15_000_000;
    const logs: string[] = [];
    const need = () =>
      ensureModel({
        precision: 'int8',
        env,
        manifest,
        fetch: { sources: ['huggingface'] },
        log: (line) => logs.push(line),
        progress: () => ({ update() {}, done() {} }),
      });
    try {
      const [a, b] = await Promise.all([need(), need()]);
      expect(a.dir).toBe(cacheModelDir(env, manifest));
      expect(b.dir).toBe(a.dir);
      expect(int8Downloads()).toBe(1);
      expect(logs.filter((line) => /not installed yet; fetching it once/.test(line))).toHaveLength(1);
      expect(stagingLeft(env)).toEqual([]);
    } finally {
      hub.bytesPerSecond = undefined;
    }
  }, 120_000);

  it('kill -9 during the download leaves no model that passes as valid; the next process takes the stale lock over', async () => {
    const env = freshCacheEnv();
    hub.requests.length = 0;
    hub.bytesPerSecond = 2_000_000;
    const run = runWorker(env);
    try {
      const deadline = Date.now() + 30_000;
      while (int8Downloads() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 1500));
      run.child.kill('SIGKILL');
      await run.done;
    } finally {
      hub.bytesPerSecond = undefined;
    }
    expect(() => locateModel({ precision: 'int8', env, manifest })).toThrow(/not found/);
    expect(stagingLeft(env)).toHaveLength(1); // the killed fetch's partial download, never in the model dir

    const again = await runWorker(env).done;
    expect(again.code, again.stderr).toBe(0);
    expect((await verifyModelDir(cacheModelDir(env, manifest), 'int8', manifest)).ok).toBe(true);
    expect(stagingLeft(env)).toEqual([]);
  }, 120_000);

  it('AI_DEV_BOT_OFFLINE=1 or embedding.autoFetch=false: no download, exit 2 saying what to copy where', async () => {
    hub.requests.length = 0;
    const offline = freshCacheEnv({ AI_DEV_BOT_OFFLINE: '1' });
    const res = await runCliAsync(['index', '--json'], { cwd: smallRepo(), env: offline }).done;
    expect(res.code).toBe(2);
    expect(res.json.error.code).toBe('model_missing');
    expect(res.json.error.message).toMatch(/Fetching it is turned off/);
    expect(res.json.error.hint).toContain('ai-dev-bot doctor --fetch-model');
    expect(res.json.error.hint).toContain(cacheModelDir(offline));
    expect(res.json.error.hint).toContain('AI_DEV_BOT_MODEL_DIR');
    expect(res.json.error.hint).toContain('model_quantized.onnx');

    const cache = mkdtempSync(path.join(os.tmpdir(), 'aidb-cache-'));
    const configured = cliEnvWithConfig(
      { embedding: { autoFetch: false } },
      { XDG_CACHE_HOME: cache, HF_ENDPOINT: hub.endpoint },
    );
    delete configured.AI_DEV_BOT_MODEL_DIR;
    const viaConfig = await runCliAsync(['index'], { cwd: smallRepo(), env: configured }).done;
    expect(viaConfig.code).toBe(2);
    expect(viaConfig.stderr).toMatch(/Fetching it is turned off/);
    expect(hub.requests).toEqual([]);
    expect(existsSync(cacheModelDir(configured))).toBe(false);
  }, 60_000);
});
