import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/core/errors.js';
import { Embedder } from '../src/core/index/model/embedder.js';
import { fetchModel, type DownloadProgress } from '../src/core/index/model/fetchModel.js';
import { cacheModelDir, locateModel, readModelInfo, sha256File } from '../src/core/index/model/locateModel.js';
import { modelManifest, type HuggingFaceFile, type ModelManifest } from '../src/core/index/model/manifest.js';
import { startModelHub, type ModelHub, type ServedFile } from './helpers/modelHub.js';

/** The Hugging Face path against the loopback hub (test/helpers/modelHub.ts), serving the real model files. */

let hub: ModelHub;
let served: ServedFile[];
let endpoint: string;
let requests: string[];
const tempDirs: string[] = [];

beforeAll(async () => {
  hub = await startModelHub();
  ({ served, endpoint, requests } = hub);
});

afterAll(async () => {
  await hub?.close();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'aidb-fetch-'));
  tempDirs.push(dir);
  return dir;
}

function testManifest(overrides: (file: HuggingFaceFile) => HuggingFaceFile = (file) => file): ModelManifest {
  return {
    ...modelManifest,
    // A directory name no real installation uses, so <package>/models/ can never satisfy it.
    dirName: 'fetch-test-model',
    sources: {
      ...modelManifest.sources,
      huggingface: {
        ...modelManifest.sources.huggingface,
        files: served.map((file) =>
          overrides({
            path: file.hubPath,
            role: modelManifest.sources.huggingface.files.find((f) => f.path === file.hubPath)!.role,
            size: file.size,
            sha256: file.sha256,
          }),
        ),
      },
    },
  };
}

function envFor(cacheHome: string, hfEndpoint = endpoint): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'], HOME: cacheHome, XDG_CACHE_HOME: cacheHome, HF_ENDPOINT: hfEndpoint };
}

function recordingProgress(): {
  updates: number;
  factory: (label: string, total: number | undefined) => DownloadProgress;
} {
  const state = {
    updates: 0,
    factory: () => ({
      update: () => {
        state.updates++;
      },
      done: () => {},
    }),
  };
  return state;
}

describe('fetchModel from a Hugging Face compatible endpoint', () => {
  it('downloads through the redirect, verifies, writes model-info.json, and the model embeds', async () => {
    const cacheHome = await tempDir();
    const manifest = testManifest();
    const progress = recordingProgress();
    const lines: string[] = [];
    requests.length = 0;

    const result = await fetchModel({
      env: envFor(cacheHome),
      manifest,
      sources: ['existing', 'huggingface'],
      log: (line) => lines.push(line),
      progress: progress.factory,
    });

    const dest = cacheModelDir(envFor(cacheHome), manifest);
    expect(result).toEqual({ dir: dest, source: 'huggingface', precisions: ['int8'] });
    expect(requests.some((p) => p.startsWith('/cdn/'))).toBe(true);
    expect(progress.updates).toBeGreaterThan(0);
    expect(lines.join('\n')).toMatch(/sha256 verified/);
    expect(readdirSync(dest).sort()).toEqual([
      'model-info.json',
      'model_quantized.onnx',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    const info = readModelInfo(dest, manifest)!;
    expect(info.source).toBe('huggingface');
    expect(info.files['model_quantized.onnx']).toEqual({ size: served[0]!.size, sha256: served[0]!.sha256 });

    const files = locateModel({ precision: 'int8', env: envFor(cacheHome), manifest });
    expect(files.dir).toBe(dest);
    const embedder = await Embedder.create(files, { threads: 1 });
    try {
      const [vector] = await embedder.embedIds([[101, 7592, 102]]);
      expect(vector).toHaveLength(384);
    } finally {
      await embedder.close();
    }

    // A second run finds the valid copy and makes no request.
    requests.length = 0;
    const again = await fetchModel({
      env: envFor(cacheHome),
      manifest,
      sources: ['existing', 'huggingface'],
      log: () => {},
    });
    expect(again.source).toBe('existing');
    expect(requests).toEqual([]);
  });

  it('rejects a corrupted download by checksum and leaves nothing invalid in place', async () => {
    const cacheHome = await tempDir();
    const manifest = testManifest();
    hub.corruptPath = 'onnx/model_quantized.onnx';
    try {
      const attempt = fetchModel({ env: envFor(cacheHome), manifest, sources: ['huggingface'], log: () => {} });
      await expect(attempt).rejects.toBeInstanceOf(AppError);
      await expect(attempt).rejects.toMatchObject({ code: 'model_missing', message: expect.stringMatching(/sha256/) });
    } finally {
      hub.corruptPath = undefined;
    }
    const dest = cacheModelDir(envFor(cacheHome), manifest);
    const left = existsSync(dest) ? readdirSync(dest) : [];
    expect(left).not.toContain('model_quantized.onnx');
    expect(left).not.toContain('model-info.json');
    expect(left.filter((name) => name.endsWith('.download'))).toEqual([]);
    expect(() => locateModel({ precision: 'int8', env: envFor(cacheHome), manifest })).toThrow(/not found/);
  });

  it('a failed forced re-fetch leaves the previous valid copy intact', async () => {
    const cacheHome = await tempDir();
    const manifest = testManifest();
    const env = envFor(cacheHome);
    await fetchModel({ env, manifest, sources: ['huggingface'], log: () => {} });
    const dest = cacheModelDir(env, manifest);
    // Make the copy one the Hub never served (as an offline export would be): its
    // tokenizer_config.json differs from the pinned one, yet model-info.json vouches for it.
    const localConfig = '{"do_lower_case": true, "model_max_length": 512}';
    await writeFile(path.join(dest, 'tokenizer_config.json'), localConfig);
    const info = readModelInfo(dest, manifest)!;
    info.files['tokenizer_config.json'] = {
      size: localConfig.length,
      sha256: await sha256File(path.join(dest, 'tokenizer_config.json')),
    };
    await writeFile(path.join(dest, 'model-info.json'), JSON.stringify(info));

    hub.corruptPath = 'tokenizer_config.json';
    try {
      await expect(fetchModel({ env, manifest, force: true, sources: ['huggingface'], log: () => {} })).rejects.toThrow(
        /sha256/,
      );
    } finally {
      hub.corruptPath = undefined;
    }
    expect(readFileSync(path.join(dest, 'tokenizer_config.json'), 'utf8')).toBe(localConfig);
    expect(locateModel({ precision: 'int8', env, manifest }).dir).toBe(dest);
    const siblings = readdirSync(path.dirname(dest));
    expect(siblings.filter((name) => name.includes('.staging-'))).toEqual([]);
    expect(readdirSync(dest).filter((name) => name.endsWith('.download'))).toEqual([]);
  });

  it('verifies against X-Linked-Etag when the manifest pins no sha256', async () => {
    const cacheHome = await tempDir();
    const manifest = testManifest((file) => (file.role === 'int8' ? { ...file, sha256: null } : file));
    const result = await fetchModel({ env: envFor(cacheHome), manifest, sources: ['huggingface'], log: () => {} });
    expect(readModelInfo(result.dir, manifest)!.files['model_quantized.onnx']!.sha256).toBe(served[0]!.sha256);

    hub.corruptPath = 'onnx/model_quantized.onnx';
    const other = await tempDir();
    try {
      await expect(
        fetchModel({ env: envFor(other), manifest, sources: ['huggingface'], log: () => {} }),
      ).rejects.toThrow(/does not match/);
    } finally {
      hub.corruptPath = undefined;
    }
  });

  it('fails fast with the fetch hint when the endpoint is unreachable', async () => {
    const cacheHome = await tempDir();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadEndpoint = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const started = Date.now();
    const lines: string[] = [];
    const error = await fetchModel({
      env: envFor(cacheHome, deadEndpoint),
      manifest: testManifest(),
      sources: ['existing', 'huggingface'],
      log: (line) => lines.push(line),
    }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).exitCode).toBe(2);
    expect((error as AppError).hint).toMatch(/fetch-model/);
    expect(lines.join('\n')).toMatch(/Hugging Face download failed: .*ECONNREFUSED/);
  });
});
