import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../src/core/errors.js';
import {
  cacheModelDir,
  expectedSourceDetail,
  locateModel,
  modelDirCandidates,
  packageRoot,
} from '../src/core/index/model/locateModel.js';
import { modelManifest, type ModelManifest } from '../src/core/index/model/manifest.js';

// A directory name no real installation uses, so <package>/models/ can never satisfy it.
const manifest: ModelManifest = { ...modelManifest, dirName: 'locate-test-model' };
const tempDirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'aidb-locate-'));
  tempDirs.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A model directory as the fetcher leaves it, with small stand-in files. */
async function writeModelDir(dir: string, precisions: ('int8' | 'fp32')[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const names = [...precisions.map((p) => manifest.files[p]), manifest.files.tokenizer, manifest.files.tokenizerConfig];
  const files: Record<string, { size: number; sha256: string }> = {};
  for (const name of names) {
    await writeFile(path.join(dir, name), `stand-in for ${name}`);
    files[name] = { size: `stand-in for ${name}`.length, sha256: '0'.repeat(64) };
  }
  const info = {
    modelId: manifest.id,
    source: 'pypi-export',
    sourceDetail: expectedSourceDetail('pypi-export', manifest),
    createdAt: new Date().toISOString(),
    precisions,
    files,
  };
  await writeFile(path.join(dir, manifest.files.info), JSON.stringify(info));
}

describe('locateModel', () => {
  it('throws model_missing with a hint on how to fetch when nothing is found', async () => {
    const home = await tempDir();
    const env = {
      HOME: home,
      XDG_CACHE_HOME: path.join(home, 'cache'),
      AI_DEV_BOT_MODEL_DIR: path.join(home, 'nowhere'),
    };
    let error: unknown;
    try {
      locateModel({ precision: 'int8', env, manifest });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AppError);
    const appError = error as AppError;
    expect(appError.code).toBe('model_missing');
    expect(appError.exitCode).toBe(2);
    expect(appError.message).toContain(path.join(home, 'nowhere'));
    expect(appError.message).toContain(cacheModelDir(env, manifest));
    expect(appError.hint).toMatch(/npm run fetch-model/);
    expect(appError.hint).toMatch(/HF_ENDPOINT/);
    expect(appError.hint).toMatch(/AI_DEV_BOT_MODEL_DIR/);
  });

  it('searches AI_DEV_BOT_MODEL_DIR, then the package, then the cache', async () => {
    const home = await tempDir();
    const env = {
      HOME: home,
      XDG_CACHE_HOME: path.join(home, 'cache'),
      AI_DEV_BOT_MODEL_DIR: path.join(home, 'explicit'),
    };
    expect(modelDirCandidates(env, manifest)).toEqual([
      { dir: path.join(home, 'explicit'), origin: 'AI_DEV_BOT_MODEL_DIR' },
      { dir: path.join(packageRoot(), 'models', 'locate-test-model'), origin: 'package' },
      { dir: path.join(home, 'cache', 'ai-dev-bot', 'models', 'locate-test-model'), origin: 'cache' },
    ]);
    // XDG_CACHE_HOME unset: ~/.cache
    expect(cacheModelDir({ HOME: home }, manifest)).toBe(
      path.join(home, '.cache', 'ai-dev-bot', 'models', 'locate-test-model'),
    );

    await writeModelDir(cacheModelDir(env, manifest), ['int8']);
    expect(locateModel({ precision: 'int8', env, manifest }).dir).toBe(cacheModelDir(env, manifest));
    await writeModelDir(path.join(home, 'explicit'), ['int8', 'fp32']);
    const files = locateModel({ precision: 'fp32', env, manifest });
    expect(files).toMatchObject({
      dir: path.join(home, 'explicit'),
      onnxPath: path.join(home, 'explicit', 'model.onnx'),
      tokenizerPath: path.join(home, 'explicit', 'tokenizer.json'),
      tokenizerConfigPath: path.join(home, 'explicit', 'tokenizer_config.json'),
      precision: 'fp32',
    });
  });

  it('rejects a directory whose file sizes differ from model-info.json, and one lacking the precision', async () => {
    const home = await tempDir();
    const env = { HOME: home, XDG_CACHE_HOME: path.join(home, 'cache') };
    const dir = cacheModelDir(env, manifest);
    await writeModelDir(dir, ['int8']);
    expect(() => locateModel({ precision: 'fp32', env, manifest })).toThrow(/does not list model\.onnx/);
    await truncate(path.join(dir, 'model_quantized.onnx'), 3);
    expect(() => locateModel({ precision: 'int8', env, manifest })).toThrow(/has 3 bytes/);
  });

  it('rejects a copy fetched from a revision or wheel the manifest no longer pins', async () => {
    const home = await tempDir();
    const env = { HOME: home, XDG_CACHE_HOME: path.join(home, 'cache') };
    const dir = cacheModelDir(env, manifest);
    await writeModelDir(dir, ['int8']);
    const infoPath = path.join(dir, manifest.files.info);
    const info = JSON.parse(await readFile(infoPath, 'utf8')) as { sourceDetail: string };
    await writeFile(infoPath, JSON.stringify({ ...info, sourceDetail: `${manifest.sources.pypi.package}==0.0.1` }));
    expect(() => locateModel({ precision: 'int8', env, manifest })).toThrow(/manifest now pins/);
  });

  it('finds the same package root from source (vitest) as from the bundle in dist/', () => {
    expect(packageRoot(new URL('../dist/fetch-model.js', import.meta.url).href)).toBe(packageRoot());
  });
});
