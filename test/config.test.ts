import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, REPO_CONFIG_FILE } from '../src/core/config.js';
import { AppError } from '../src/core/errors.js';

function setup(repoConfig?: unknown, userConfig?: unknown) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aidb-config-'));
  const repo = path.join(dir, 'repo');
  const xdg = path.join(dir, 'xdg');
  mkdirSync(repo);
  mkdirSync(path.join(xdg, 'ai-dev-bot'), { recursive: true });
  if (repoConfig !== undefined) writeFileSync(path.join(repo, REPO_CONFIG_FILE), JSON.stringify(repoConfig));
  if (userConfig !== undefined) writeFileSync(path.join(xdg, 'ai-dev-bot', 'config.json'), JSON.stringify(userConfig));
  return { repo, env: { XDG_CONFIG_HOME: xdg } as NodeJS.ProcessEnv };
}

describe('loadConfig', () => {
  it('fills defaults', () => {
    const { repo, env } = setup();
    const config = loadConfig({ repoRoot: repo, env });
    expect(config.plan.file).toBe('TODO.md');
    expect(config.embedding.precision).toBe('int8');
    expect(config.ledger.markup).toBe(1.5);
  });

  it('applies flags > env > repo file > user file', () => {
    const { repo, env } = setup(
      { search: { k: 5 }, aider: { bin: '/repo/aider' } },
      { search: { k: 3, mode: 'keyword' } },
    );
    const config = loadConfig({
      repoRoot: repo,
      env: { ...env, AIDER_BIN: '/env/aider' },
      overrides: { search: { k: 9 } },
    });
    expect(config.search.k).toBe(9);
    expect(config.search.mode).toBe('keyword');
    expect(config.aider.bin).toBe('/env/aider');
  });

  it('names the bad key and the file it came from', () => {
    const { repo, env } = setup({ embedding: { precision: 'fp16' } });
    try {
      loadConfig({ repoRoot: repo, env });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).exitCode).toBe(2);
      expect((err as AppError).message).toContain('embedding.precision');
      expect((err as AppError).message).toContain(path.join(repo, REPO_CONFIG_FILE));
    }
  });

  it('skips SkipLayerNormFusion by default and rejects an optimizer list that is not plain names', () => {
    const { repo, env } = setup();
    expect(loadConfig({ repoRoot: repo, env }).embedding.disabledOptimizers).toEqual(['SkipLayerNormFusion']);
    const bad = setup({ embedding: { disabledOptimizers: ['SkipLayerNormFusion;GeluFusion'] } });
    expect(() => loadConfig({ repoRoot: bad.repo, env: bad.env })).toThrow(
      /embedding\.disabledOptimizers\.0.*optimizer name/,
    );
  });

  it('rejects unknown keys, naming them', () => {
    const { repo, env } = setup(undefined, { serach: { k: 2 } });
    expect(() => loadConfig({ repoRoot: repo, env })).toThrow(/"serach".*config\.json/);
  });

  it('reports invalid JSON with the file name', () => {
    const { repo, env } = setup();
    writeFileSync(path.join(repo, REPO_CONFIG_FILE), '{ "search": ');
    expect(() => loadConfig({ repoRoot: repo, env })).toThrow(/not valid JSON/);
  });
});
